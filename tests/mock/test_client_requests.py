"""The core's request and response pipeline, exercised through the mock engine."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest

from client_core import (
    ClientRequestException,
    HttpClient,
    HttpClientConfig,
    HttpRequestBuilder,
    HttpResponse,
    Parameters,
    ProtocolException,
    RedirectResponseException,
    ResponseBodyConsumedException,
    ServerResponseException,
)
from client_core.engine import HttpResponseData
from client_core.http import HttpMethod
from client_mock import MockEngine, MockRequest, respond, respond_error, respond_json

pytestmark = pytest.mark.anyio

URL = "https://api.example.test/resource"


def recording() -> tuple[MockEngine, list[MockRequest]]:
    seen: list[MockRequest] = []

    def handler(request: MockRequest) -> HttpResponseData:
        seen.append(request)
        return respond(f"{request.method} {request.url.path}")

    return MockEngine(handler), seen


async def test_every_verb_reaches_the_engine() -> None:
    engine, seen = recording()
    async with HttpClient(engine) as client:
        assert await (await client.get(URL)).text() == "GET /resource"
        await client.post(URL)
        await client.put(URL)
        await client.patch(URL)
        await client.delete(URL)
        head = await client.head(URL)
        await client.options(URL)
        await client.request("PROPFIND", URL)
        await client.request(HttpMethod.TRACE, URL)
    assert [str(r.method) for r in seen] == [
        "GET",
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
        "HEAD",
        "OPTIONS",
        "PROPFIND",
        "TRACE",
    ]
    assert await head.body() == b""  # no body for HEAD


async def test_params_headers_and_builder_block_as_the_handler_sees_them() -> None:
    engine, seen = recording()

    def block(builder: HttpRequestBuilder) -> None:
        builder.header("X-Block", "2")
        builder.parameter("from_block", "yes")
        builder.accept("application/json")

    async with HttpClient(engine) as client:
        await client.get(
            URL,
            block,
            params={"q": "a b", "n": 1, "flag": True, "many": ["x", "y"], "skip": None},
            headers={"X-A": "1", "X-Multi": ["m1", "m2"]},
        )
    (request,) = seen
    params = request.params
    assert params.get("q") == "a b" and params.get("n") == "1" and params.get("flag") == "true"
    assert params.get_all("many") == ["x", "y"] and "skip" not in params
    assert params.get("from_block") == "yes"
    assert request.headers.get("x-a") == "1" and request.headers.get("X-Block") == "2"
    assert request.headers.get_all("X-Multi") == ["m1", "m2"]
    assert request.headers.get("Accept") == "application/json"
    assert "Content-Length" not in request.headers  # framing is the engine's business
    assert request.body == b"" and request.content_length == 0


async def test_json_body() -> None:
    engine, seen = recording()
    async with HttpClient(engine) as client:
        await client.post(URL, json={"a": 1, "é": [True, None]})
    (request,) = seen
    assert request.json() == {"a": 1, "é": [True, None]}
    assert request.headers.get("Content-Type") == "application/json"
    assert request.content_length == len(request.body)


async def test_form_body() -> None:
    engine, seen = recording()
    async with HttpClient(engine) as client:
        await client.post(URL, form={"a": "1", "b": ["x", "y z"], "c": True})
    (request,) = seen
    assert request.body == b"a=1&b=x&b=y+z&c=true"
    assert request.form() == Parameters([("a", "1"), ("b", "x"), ("b", "y z"), ("c", "true")])
    assert request.headers.get("Content-Type") == "application/x-www-form-urlencoded"


async def test_text_and_bytes_bodies() -> None:
    engine, seen = recording()
    async with HttpClient(engine) as client:
        await client.put(URL, body="héllo")
        await client.put(URL, body=b"\x00\x01", content_type="application/octet-stream")
        await client.put(URL, body="café", content_type="text/plain; charset=latin-1")
    text, binary, latin = seen
    assert text.text() == "héllo" and text.body == "héllo".encode()
    assert text.content_type is not None and text.content_type.charset is not None
    assert text.content_type.charset.lower() == "utf-8"
    assert binary.body == b"\x00\x01"
    assert binary.headers.get("Content-Type") == "application/octet-stream"
    assert latin.body == "café".encode("latin-1") and latin.text() == "café"


async def test_streaming_request_body_from_async_iterator() -> None:
    engine, seen = recording()

    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"one,", b"", b"two,", b"three"):
            await anyio.lowlevel.checkpoint()
            yield part

    async def sized() -> AsyncIterator[bytes]:
        yield b"abcd"

    async with HttpClient(engine) as client:
        await client.request("PATCH", URL, body=chunks())
        await client.post(URL, body=sized(), headers={"Content-Length": "4"})
    streamed, declared = seen
    assert streamed.body == b"one,two,three"
    assert streamed.content_length is None  # unknown length: chunked on a real wire
    assert declared.body == b"abcd" and declared.content_length == 4
    assert "Content-Length" not in declared.headers


async def test_stream_and_body_as_channel() -> None:
    engine = MockEngine(lambda r: respond([b"alpha", b"beta", b"gamma"], chunk_delay=0.01))
    async with HttpClient(engine) as client:
        async with client.stream("GET", URL) as response:
            assert response.status == 200
            assert not response.is_body_read
            chunks = [chunk async for chunk in response.body_as_channel()]
        assert chunks == [b"alpha", b"beta", b"gamma"]


async def test_streamed_body_read_twice_is_an_error() -> None:
    engine = MockEngine(lambda r: respond([b"a", b"b"]))
    async with HttpClient(engine) as client:
        async with client.stream("GET", URL) as response:
            assert b"".join([c async for c in response.body_as_channel()]) == b"ab"
            with pytest.raises(ResponseBodyConsumedException, match=f"GET {URL}"):
                response.body_as_channel()
            with pytest.raises(ResponseBodyConsumedException):
                await response.body()
        # read whole inside stream(): cached, so reading again works
        async with client.stream("GET", URL) as response:
            assert await response.body() == b"ab"
            assert await response.text() == "ab"
            assert [c async for c in response.body_as_channel()] == [b"ab"]


async def test_non_streaming_calls_cache_the_body() -> None:
    engine = MockEngine(lambda r: respond_json({"k": [1, 2]}))
    async with HttpClient(engine) as client:
        response = await client.get(URL)
    assert response.is_body_read
    assert await response.json() == {"k": [1, 2]}
    assert await response.body() == b'{"k":[1,2]}'
    assert await response.body(str) == '{"k":[1,2]}'
    assert response.request.url.path == "/resource"


async def test_expect_success_raises_by_status_class_with_excerpt() -> None:
    bodies = {"/missing": (404, "no such thing"), "/boom": (500, "x" * 3000)}

    def handler(request: MockRequest) -> HttpResponseData:
        code, text = bodies[request.url.path]
        return respond_error(code, text)

    def configure(config: HttpClientConfig) -> None:
        config.expect_success = True

    async with HttpClient(MockEngine(handler), configure) as client:
        with pytest.raises(ClientRequestException) as client_error:
            await client.get("https://api.example.test/missing")
        message = str(client_error.value)
        assert "GET https://api.example.test/missing" in message
        assert "404" in message and "no such thing" in message
        assert client_error.value.body_excerpt == "no such thing"
        assert client_error.value.response.status == 404
        with pytest.raises(ServerResponseException) as server_error:
            await client.get("https://api.example.test/boom")
        assert server_error.value.body_excerpt == "x" * 1024
        # a request can opt out
        response = await client.get("https://api.example.test/missing", expect_success=False)
        assert response.status == 404


async def test_expect_success_on_a_redirect_not_followed() -> None:
    def configure(config: HttpClientConfig) -> None:
        config.expect_success = True
        config.follow_redirects = False

    engine = MockEngine(lambda r: respond(status=302, headers={"Location": "/elsewhere"}))
    async with HttpClient(engine, configure) as client:
        with pytest.raises(RedirectResponseException, match="302"):
            await client.get(URL)


async def test_prepared_statement_executes_with_handler() -> None:
    engine = MockEngine(lambda r: respond([b"part1-", b"part2"]))
    async with HttpClient(engine) as client:
        statement = client.prepare_get(URL, params={"page": 3})

        async def handler(response: HttpResponse) -> bytes:
            return b"".join([chunk async for chunk in response.body_as_channel()])

        assert await statement.execute(handler) == b"part1-part2"
        assert await statement.execute(handler) == b"part1-part2"
        whole = await statement.execute()
        assert await whole.body() == b"part1-part2"
        assert await statement.body() == b"part1-part2"
    assert len(engine.request_history) == 4
    assert all(r.params.get("page") == "3" for r in engine.request_history)


async def test_response_metadata() -> None:
    engine = MockEngine(lambda r: respond("x", status=201, headers={"X-R": "1"}, version="HTTP/2"))
    async with HttpClient(engine) as client:
        response = await client.post(URL)
    assert response.status == 201 and response.status.description == "Created"
    assert response.version == "HTTP/2"
    assert response.headers.get("x-r") == "1"
    assert response.request.method == "POST"
    assert response.request_time <= response.response_time
    assert engine.response_history[0].status == 201


async def test_concurrent_requests_share_one_client() -> None:
    async def handler(request: MockRequest) -> HttpResponseData:
        await anyio.sleep(0.01)
        return respond(request.params.get("i") or "")

    engine = MockEngine(handler)
    results: dict[int, str] = {}
    async with HttpClient(engine) as client:

        async def call(i: int) -> None:
            results[i] = await (await client.get(URL, params={"i": i})).text()

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(call, i)
    assert results == {i: str(i) for i in range(20)}
    assert len(engine.request_history) == len(engine.response_history) == 20


async def test_body_limit_error_names_the_request() -> None:
    def configure(config: HttpClientConfig) -> None:
        config.body_limit = 3

    for content in (b"abcdef", [b"ab", b"cdef"]):
        engine = MockEngine(lambda r, content=content: respond(content))  # type: ignore[misc]
        async with HttpClient(engine, configure) as client:
            with pytest.raises(ProtocolException) as info:
                await client.get(URL)
        assert "limit of 3 bytes" in str(info.value)
        assert str(info.value).startswith(f"GET {URL}: "), str(info.value)
