"""BodyProgress: upload and download listeners, wire bytes, and interactions."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import pytest

from client_core import HttpClient, HttpClientConfig
from client_core.engine import HttpResponseData
from client_core.plugins import (
    BodyProgress,
    ContentEncoding,
    HttpRedirect,
    compress,
    on_download,
    on_upload,
)
from client_mock import MockEngine, MockRequest, respond
from tests.plugins.conftest import agen

pytestmark = pytest.mark.anyio

Calls = list[tuple[int, int | None]]


def recorder(calls: Calls) -> Callable[[int, int | None], None]:
    def listener(sent: int, total: int | None) -> None:
        calls.append((sent, total))

    return listener


def chunks_of(size: int, count: int) -> list[bytes]:
    return [bytes([65 + i]) * size for i in range(count)]


def installed(config: HttpClientConfig) -> None:
    config.install(BodyProgress)


async def test_upload_of_bytes_in_pieces() -> None:
    calls: Calls = []
    engine = MockEngine(lambda request: respond("ok"))
    data = b"x" * (150 * 1024)
    async with HttpClient(engine, installed) as client:
        await client.post("http://p.test/", lambda req: on_upload(req, recorder(calls)), body=data)
    assert engine.request_history[0].body == data
    assert engine.request_history[0].content_length == len(data)
    assert calls == [(65536, len(data)), (131072, len(data)), (len(data), len(data))]


async def test_upload_of_a_stream_has_no_total() -> None:
    calls: Calls = []
    engine = MockEngine(lambda request: respond("ok"))
    async with HttpClient(engine, installed) as client:
        await client.put(
            "http://p.test/", lambda req: on_upload(req, recorder(calls)), body=agen(b"ab", b"cde")
        )
    assert calls == [(2, None), (5, None)]


async def test_download_while_the_call_reads_the_body() -> None:
    calls: Calls = []
    engine = MockEngine(lambda request: respond(chunks_of(10, 3)))
    async with HttpClient(engine, installed) as client:
        response = await client.get("http://p.test/", lambda req: on_download(req, recorder(calls)))
        assert len(await response.body()) == 30
    assert calls == [(10, 30), (20, 30), (30, 30)]


async def test_download_while_streaming_with_an_async_listener() -> None:
    calls: Calls = []
    seen: list[int] = []

    async def listener(received: int, total: int | None) -> None:
        calls.append((received, total))

    engine = MockEngine(lambda request: respond(agen(b"12345", b"678")))
    async with (
        HttpClient(engine, installed) as client,
        client.stream("GET", "http://p.test/", lambda req: on_download(req, listener)) as response,
    ):
        async for _ in response.body_as_channel():
            seen.append(len(calls))
    assert calls == [(5, None), (8, None)] and seen == [1, 2]


async def test_client_wide_listeners_and_per_request_override() -> None:
    everyone: Calls = []
    mine: Calls = []
    engine = MockEngine(lambda request: respond(b"abc"))

    def configure(config: HttpClientConfig) -> None:
        config.install(BodyProgress, on_upload=recorder(everyone), on_download=recorder(everyone))

    async with HttpClient(engine, configure) as client:
        await client.post("http://p.test/", body=b"12")
        await client.post("http://p.test/", lambda req: on_download(req, recorder(mine)), body=b"1")
        await client.get("http://p.test/", lambda req: on_download(req, None))
        await client.get("http://p.test/")
    assert everyone == [(2, 2), (3, 3), (1, 1), (3, 3)]
    assert mine == [(3, 3)]


async def test_head_and_empty_bodies_report_nothing() -> None:
    calls: Calls = []
    engine = MockEngine(lambda request: respond(b"", headers={"Content-Length": "100"}))

    def configure(config: HttpClientConfig) -> None:
        config.install(BodyProgress, on_upload=recorder(calls), on_download=recorder(calls))

    async with HttpClient(engine, configure) as client:
        await client.head("http://p.test/")
        await client.get("http://p.test/")
    assert calls == []


async def test_download_counts_wire_bytes_before_decoding() -> None:
    calls: Calls = []
    data = b"compressible " * 10_000
    wire = gzip.compress(data)

    def handler(request: MockRequest) -> HttpResponseData:
        return respond([wire[:100], wire[100:]], headers={"Content-Encoding": "gzip"})

    def configure(config: HttpClientConfig) -> None:
        config.install(BodyProgress, on_download=recorder(calls))
        config.install(ContentEncoding)

    async with HttpClient(MockEngine(handler), configure) as client:
        assert await (await client.get("http://p.test/")).body() == data
    assert calls == [(100, len(wire)), (len(wire), len(wire))]


async def test_upload_counts_compressed_bytes() -> None:
    calls: Calls = []
    engine = MockEngine(lambda request: respond("ok"))
    data = b"compressible " * 10_000

    def configure(config: HttpClientConfig) -> None:
        config.install(BodyProgress, on_upload=recorder(calls))
        config.install(ContentEncoding)

    async with HttpClient(engine, configure) as client:
        await client.post("http://p.test/", lambda req: compress(req, "gzip"), body=data)
    sent = engine.request_history[0].body
    assert gzip.decompress(sent) == data
    assert calls == [(len(sent), len(sent))]


async def test_resent_body_is_counted_once_per_send() -> None:
    calls: Calls = []

    def handler(request: MockRequest) -> HttpResponseData:
        if request.url.path == "/a":
            return respond(b"", status=307, headers={"Location": "/b"})
        return respond("ok")

    def configure(config: HttpClientConfig) -> None:
        config.install(BodyProgress, on_upload=recorder(calls))
        config.install(HttpRedirect, check_http_method=False)

    engine = MockEngine(handler)
    async with HttpClient(engine, configure) as client:
        await client.post("http://p.test/a", body=b"12345")
    assert [r.body for r in engine.request_history] == [b"12345", b"12345"]
    assert calls == [(5, 5), (5, 5)]
