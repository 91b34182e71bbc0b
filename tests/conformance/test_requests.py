"""Requests and responses: methods, headers, bodies both ways, framing, versions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator

import anyio
import pytest

from client_core import HttpClient, HttpStatusCode
from tests.conformance.conftest import EngineUnderTest
from tests.servers.app import pattern_bytes
from tests.servers.hostile import HostileServer
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def header(echo: dict[str, object], name: str) -> list[str]:
    pairs = echo["headers"]
    assert isinstance(pairs, list)
    return [v for k, v in pairs if k == name]


async def test_get_echo(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    async with engine_factory.client() as client:
        response = await client.get(
            http_server.url("/echo/path"), params={"q": "a b", "n": 1}, headers={"X-Test": "yes"}
        )
        assert response.status == HttpStatusCode.OK
        assert response.version == "HTTP/1.1"
        echo = await response.json()
    assert echo["method"] == "GET"
    assert echo["path"] == "/echo/path"
    assert echo["args"] == {"q": "a b", "n": "1"}
    assert header(echo, "x-test") == ["yes"]
    assert header(echo, "host") == [f"127.0.0.1:{http_server.port}"]
    assert echo["body_length"] == 0


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
async def test_bytes_body(
    engine_factory: EngineUnderTest, http_server: ServerInfo, method: str
) -> None:
    async with engine_factory.client() as client:
        response = await client.request(
            method, http_server.url("/echo"), body=b"payload\x00\xff", content_type="x/y"
        )
        echo = await response.json()
    assert echo["method"] == method
    assert echo["body"] == "payload\x00\xff"
    assert header(echo, "content-length") == ["9"]
    assert header(echo, "content-type") == ["x/y"]
    assert not echo["chunked"]


async def test_json_and_form(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    async with engine_factory.client() as client:
        echo = await (await client.post(http_server.url("/echo"), json={"a": [1, 2]})).json()
        assert json.loads(echo["body"]) == {"a": [1, 2]}
        assert header(echo, "content-type")[0].startswith("application/json")
        echo = await (await client.post(http_server.url("/echo"), form={"x": "1 2"})).json()
        assert echo["body"] == "x=1+2"


async def test_empty_post_sends_content_length_zero(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    async with engine_factory.client() as client:
        echo = await (await client.post(http_server.url("/echo"))).json()
    assert header(echo, "content-length") == ["0"]


async def chunks(n: int, size: int) -> AsyncIterator[bytes]:
    for i in range(n):
        yield bytes([i % 256]) * size


async def test_streamed_upload_is_chunked(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    expected = b"".join(bytes([i % 256]) * 1000 for i in range(300))
    async with engine_factory.client() as client:
        response = await client.post(http_server.url("/upload"), body=chunks(300, 1000))
        result = await response.json()
    assert result == {
        "length": len(expected),
        "sha256": hashlib.sha256(expected).hexdigest(),
        "chunked": True,
    }


async def test_streamed_upload_with_length(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    async with engine_factory.client() as client:
        response = await client.post(
            http_server.url("/upload"),
            lambda b: b.headers.append("Content-Length", "5000"),
            body=chunks(5, 1000),
        )
        result = await response.json()
    assert result["length"] == 5000
    assert result["chunked"] is False


async def test_large_upload(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    data = pattern_bytes(3 * 1024 * 1024 + 7)
    async with engine_factory.client() as client:
        result = await (await client.put(http_server.url("/upload"), body=data)).json()
    assert result["length"] == len(data)
    assert result["sha256"] == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("route", ["bytes", "stream-bytes"])
async def test_large_download(
    engine_factory: EngineUnderTest, http_server: ServerInfo, route: str
) -> None:
    size = 2 * 1024 * 1024 + 3
    async with engine_factory.client() as client:
        response = await client.get(http_server.url(f"/{route}/{size}"))
        assert await response.body() == pattern_bytes(size)


async def test_streamed_download(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    size = 1024 * 1024
    received = bytearray()
    async with (
        engine_factory.client() as client,
        client.stream("GET", http_server.url(f"/stream-bytes/{size}")) as response,
    ):
        assert response.status == 200
        async for chunk in response.body_as_channel():
            assert isinstance(chunk, bytes)
            assert chunk
            received += chunk
    assert received == pattern_bytes(size)


async def test_drip(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    pieces = []
    async with (
        engine_factory.client() as client,
        client.stream("GET", http_server.url("/drip?chunks=5&size=3&delay=0.01")) as response,
    ):
        async for chunk in response.body_as_channel():
            pieces.append(chunk)
    assert b"".join(pieces) == b"*" * 15
    assert len(pieces) >= 2


async def test_concurrent_streams_get_their_heads_before_any_body(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    # Each server sends a head and then nothing: every stream must see its head while the
    # others are open on their own connections (none waits for another to end).
    count = 3
    heads: list[str] = []
    all_in, done = anyio.Event(), anyio.Event()

    async def one(client: HttpClient) -> None:
        async with client.stream("GET", hostile.url("/head-then-stall")) as response:
            heads.append(response.headers["X-Head"])
            if len(heads) == count:
                all_in.set()
            await done.wait()

    async with engine_factory.client() as client, anyio.create_task_group() as group:
        for _ in range(count):
            group.start_soon(one, client)
        with anyio.fail_after(2):
            await all_in.wait()
        assert await hostile.wait_active(lambda n: n == count) == count
        done.set()
    assert heads == ["only"] * count


@pytest.mark.parametrize("code", [200, 201, 204, 304, 404, 418, 500, 599])
async def test_status_codes(
    engine_factory: EngineUnderTest, http_server: ServerInfo, code: int
) -> None:
    async with engine_factory.client() as client:
        response = await client.get(http_server.url(f"/status/{code}"))
        assert response.status == code
        body = await response.body()
    assert body == (b"" if code in (204, 304) else f"status {code}".encode())


async def test_head(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    async with engine_factory.client() as client:
        response = await client.head(http_server.url("/bytes/1000"))
        assert response.status == 200
        assert response.headers.get("Content-Length") == "1000"
        assert await response.body() == b""
        # the connection is still usable after a HEAD
        response = await client.get(http_server.url("/bytes/10"))
        assert await response.body() == pattern_bytes(10)


async def test_redirects_followed(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    async with engine_factory.client() as client:
        response = await client.get(http_server.url("/redirect/3"))
        assert response.status == 200
        echo = await response.json()
    assert echo["path"] == "/echo"


async def test_gzip_body_is_passed_through(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    import gzip

    async with engine_factory.client() as client:
        response = await client.get(http_server.url("/gzip"), headers={"Accept-Encoding": "gzip"})
        assert response.headers.get("Content-Encoding") == "gzip"
        body = await response.body()
    assert json.loads(gzip.decompress(body)) == {"gzipped": True, "method": "GET"}


async def test_set_cookie_headers(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    async with engine_factory.client() as client:
        response = await client.get(http_server.url("/cookies/set?a=1&b=2"))
    assert response.headers.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]


async def test_connection_close(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    async with engine_factory.client() as client:
        for _ in range(3):
            response = await client.get(http_server.url("/close"))
            assert await response.body() == b"closing"


async def test_http10_read_until_close(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        response = await client.get(hostile.url("/http10"))
        assert response.version == "HTTP/1.0"
        assert await response.body() == b"until close"
        response = await client.get(hostile.url("/ok"))
        assert await response.body() == b"ok"


async def test_chunked_trailers(engine_factory: EngineUnderTest, hostile: HostileServer) -> None:
    async with engine_factory.client() as client:
        response = await client.get(hostile.url("/trailers"))
        assert await response.body() == b"hello world"
        trailers = response.extensions.get("trailers")
        if trailers is not None:
            assert trailers.get("X-Checksum") == "abc123"
        # the connection is reused after the trailers
        assert await (await client.get(hostile.url("/ok"))).body() == b"ok"
    assert hostile.stats.accepted == 1


async def test_informational_responses_skipped(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        response = await client.get(hostile.url("/informational"))
        assert response.status == 200
        assert await response.body() == b"ok"


async def test_early_response_to_upload(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        response = await client.post(hostile.url("/early-close"), body=b"x" * (8 * 1024 * 1024))
        assert response.status == 413
