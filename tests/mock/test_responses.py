"""respond() and its shortcuts, streamed bodies, chunk delays and socket timeouts."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from client_core import HttpClient, SocketTimeoutException
from client_core.engine import BytesResponseBody, HttpResponseData
from client_core.http import Headers, HttpStatusCode
from client_mock import (
    MockEngine,
    MockRequest,
    respond,
    respond_bad_request,
    respond_error,
    respond_json,
    respond_ok,
    respond_redirect,
)

pytestmark = pytest.mark.anyio

URL = "https://example.test/stream"


async def test_respond_defaults() -> None:
    response = respond()
    assert response.status == HttpStatusCode.OK
    assert response.status.description == "OK"
    assert response.version == "HTTP/1.1"
    assert response.headers == Headers({"Content-Length": "0"})
    assert isinstance(response.body, BytesResponseBody)
    assert await response.body.read_all() == b""


async def test_respond_text_is_utf8_and_status_codes() -> None:
    response = respond("é", status=418, headers=[("X-A", "1"), ("X-A", "2")], version="HTTP/2")
    assert await response.body.read_all() == "é".encode()
    assert response.headers.get("Content-Length") == "2"
    assert response.headers.get_all("x-a") == ["1", "2"]
    assert response.status == HttpStatusCode.IM_A_TEAPOT
    assert response.version == "HTTP/2"
    unknown = respond(status=599)
    assert unknown.status == 599 and unknown.status.description == "Unknown"


async def test_explicit_framing_headers_are_kept() -> None:
    explicit = respond(b"abc", headers={"Content-Length": "3"})
    assert explicit.headers.get_all("content-length") == ["3"]
    chunked = respond(b"abc", headers={"Transfer-Encoding": "chunked"})
    assert "Content-Length" not in chunked.headers


async def test_respond_validates_arguments() -> None:
    with pytest.raises(ValueError, match="100 to 999"):
        respond(status=42)
    with pytest.raises(TypeError, match="status"):
        respond(status="200")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="version"):
        respond(version="HTTP/9")
    with pytest.raises(ValueError, match="chunk_delay"):
        respond([b"a"], chunk_delay=-1)
    with pytest.raises(TypeError, match=r"content\[1\] must be bytes"):
        respond([b"a", "b"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="content must be"):
        respond(42)  # type: ignore[arg-type]


async def test_shortcuts() -> None:
    ok = respond_ok("fine")
    assert ok.status == 200 and await ok.body.read_all() == b"fine"
    error = respond_error()
    assert error.status == HttpStatusCode.INTERNAL_SERVER_ERROR
    assert respond_error(503, "down").status == 503
    bad = respond_bad_request("nope")
    assert bad.status == 400 and await bad.body.read_all() == b"nope"
    data = respond_json({"a": [1, "é"]}, status=201)
    assert data.status == 201
    assert data.headers.get("Content-Type") == "application/json"
    assert json.loads(await data.body.read_all()) == {"a": [1, "é"]}
    custom = respond_json([], headers={"Content-Type": "application/problem+json"})
    assert custom.headers.get_all("content-type") == ["application/problem+json"]
    redirect = respond_redirect("/elsewhere")
    assert redirect.status == HttpStatusCode.FOUND
    assert redirect.headers.get("Location") == "/elsewhere"
    assert respond_redirect("/x", status=308).status == 308


async def test_list_of_chunks_streams_them_with_delays() -> None:
    parts: list[Any] = [b"a", b"", b"bc", bytearray(b"d")]
    engine = MockEngine(lambda r: respond(parts, chunk_delay=0.05))
    async with HttpClient(engine) as client, client.stream("GET", URL) as response:
        assert response.headers.get("Content-Length") == "4"
        chunks: list[bytes] = []
        times: list[float] = []
        async for chunk in response.body_as_channel():
            chunks.append(chunk)
            times.append(anyio.current_time())
    assert chunks == [b"a", b"bc", b"d"]  # empty chunks are skipped
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap >= 0.04 for gap in gaps), gaps


async def test_async_iterable_content_is_streamed() -> None:
    async def produce() -> AsyncIterator[bytes]:
        for part in (b"x", b"y", b"z"):
            yield part

    engine = MockEngine(lambda r: respond(produce()))
    async with HttpClient(engine) as client:
        response = await client.get(URL)
        assert await response.body() == b"xyz"
        assert "Content-Length" not in response.headers


async def test_closing_a_streamed_body_early_closes_the_source() -> None:
    closed = anyio.Event()

    async def produce() -> AsyncIterator[bytes]:
        try:
            while True:
                yield b"chunk"
        finally:
            closed.set()

    engine = MockEngine(lambda r: respond(produce()))
    async with HttpClient(engine) as client, client.stream("GET", URL) as response:
        async for chunk in response.body_as_channel():
            assert chunk == b"chunk"
            break
    assert closed.is_set()


async def test_chunk_delay_longer_than_socket_timeout_fails_reading() -> None:
    engine = MockEngine(lambda r: respond([b"head", b"tail"], chunk_delay=1.0))
    async with HttpClient(engine) as client:
        with pytest.raises(SocketTimeoutException) as info:
            await client.get(URL, lambda req: req.timeout(socket=0.05))
        assert "GET https://example.test/stream" in str(info.value)
        assert "response body" in str(info.value)
        async with client.stream("GET", URL, lambda req: req.timeout(socket=0.05)) as response:
            channel = response.body_as_channel()
            assert await anext(channel) == b"head"  # the first chunk comes at once
            with pytest.raises(SocketTimeoutException):
                await anext(channel)


async def test_chunk_delay_within_socket_timeout_is_fine() -> None:
    engine = MockEngine(lambda r: respond([b"a", b"b"], chunk_delay=0.01), socket_timeout=1.0)
    async with HttpClient(engine) as client:
        assert await (await client.get(URL)).body() == b"ab"


async def test_bad_chunk_from_async_source_is_a_type_error() -> None:
    async def produce() -> AsyncIterator[bytes]:
        yield "text"  # type: ignore[misc]

    engine = MockEngine(lambda r: respond(produce()))
    async with HttpClient(engine) as client:
        with pytest.raises(TypeError, match="chunk must be bytes, got str"):
            await client.get(URL)


async def test_route_respond_builds_a_fresh_stream_each_time() -> None:
    engine = MockEngine()
    engine.route(url=URL).respond([b"1", b"2"], headers={"X-N": "1"})

    async def read(request: MockRequest) -> HttpResponseData:
        raise AssertionError("routes come first")

    engine.add_handler(read)
    async with HttpClient(engine) as client:
        for _ in range(3):
            assert await (await client.get(URL)).body() == b"12"


async def test_no_delay_after_the_last_chunk_of_a_list() -> None:
    engine = MockEngine(lambda r: respond([b"only"], chunk_delay=5))
    async with HttpClient(engine) as client:
        with anyio.fail_after(1):
            assert await (await client.get(URL)).body() == b"only"
