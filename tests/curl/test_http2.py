"""HTTP/2 (ALPN over TLS, multiplexing, h2c with prior knowledge) and HTTP/3 against
hypercorn."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from client_core import HttpClient
from client_curl import Curl
from tests.curl.h2_server import PATTERN, H2Server
from tests.servers.tls import TLSFiles

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def client(tls_files: TLSFiles | None = None, **options: Any) -> HttpClient:
    if tls_files is not None:
        options.setdefault("ca_file", tls_files.ca_file)
    return HttpClient(Curl, lambda config: config.engine(**options))


def pattern(size: int) -> bytes:
    full, rest = divmod(size, len(PATTERN))
    return PATTERN * full + PATTERN[:rest]


async def test_http2_negotiated_over_tls(h2_server: H2Server, tls_files: TLSFiles) -> None:
    async with client(tls_files) as c:
        response = await c.get(h2_server.url("/echo"), headers={"X-Test": "yes"})
        assert response.version == "HTTP/2"
        echo = await response.json()
    assert echo["http_version"] == "2"
    assert ["x-test", "yes"] in echo["headers"]
    assert echo["method"] == "GET"


async def test_many_concurrent_streams_share_one_connection(
    h2_server: H2Server, tls_files: TLSFiles
) -> None:
    ports: list[int] = []
    versions: set[str] = set()
    async with client(tls_files) as c:

        async def one(i: int) -> None:
            response = await c.get(h2_server.url(f"/sleep/0.05?i={i}"))
            versions.add(response.version)
            ports.append((await response.json())["client_port"])

        async with anyio.create_task_group() as group:
            for i in range(60):
                group.start_soon(one, i)
    assert versions == {"HTTP/2"}
    assert len(ports) == 60
    assert len(set(ports)) == 1


async def test_http2_bodies_both_ways(h2_server: H2Server, tls_files: TLSFiles) -> None:
    async def stream() -> AsyncIterator[bytes]:
        for i in range(50):
            await anyio.lowlevel.checkpoint()
            yield bytes([i]) * 10_000

    async with client(tls_files) as c:
        echo = await (await c.post(h2_server.url("/echo"), body=stream())).json()
        assert echo["body_length"] == 500_000
        assert echo["http_version"] == "2"
        size = 3 * 1024 * 1024 + 11
        body = await (await c.get(h2_server.url(f"/bytes/{size}"))).body()
        assert hashlib.sha256(body).digest() == hashlib.sha256(pattern(size)).digest()
        received = 0
        async with c.stream("GET", h2_server.url(f"/bytes/{size}")) as response:
            async for chunk in response.body_as_channel():
                received += len(chunk)
        assert received == size


async def test_cancelled_stream_leaves_others_running(
    h2_server: H2Server, tls_files: TLSFiles
) -> None:
    async with client(tls_files) as c:
        results: list[int] = []

        async def one() -> None:
            results.append((await c.get(h2_server.url("/sleep/0.2"))).status)

        async with anyio.create_task_group() as group:
            for _ in range(5):
                group.start_soon(one)
            with anyio.move_on_after(0.05):
                await c.get(h2_server.url("/sleep/5"))
        assert results == [200] * 5
        assert (await c.get(h2_server.url("/echo"))).version == "HTTP/2"


async def test_http11_only(h2_server: H2Server, tls_files: TLSFiles) -> None:
    async with client(tls_files, http_version="1.1") as c:
        response = await c.get(h2_server.url("/echo"))
        assert response.version == "HTTP/1.1"
        assert (await response.json())["http_version"] == "1.1"


async def test_h2c_prior_knowledge(h2c_server: H2Server) -> None:
    async with client(http_version="2-prior-knowledge") as c:
        response = await c.get(h2c_server.url("/echo"))
        assert response.version == "HTTP/2"
    async with client() as c:  # cleartext defaults to HTTP/1.1
        assert (await c.get(h2c_server.url("/echo"))).version == "HTTP/1.1"


async def test_http3(h3_server: H2Server, tls_files: TLSFiles) -> None:
    async with client(tls_files, http_version="3-only") as c:
        ports = set()
        for _ in range(3):
            response = await c.get(h3_server.url("/echo"))
            assert response.version == "HTTP/3"
            echo = await response.json()
            assert echo["http_version"] == "3"
            ports.add(echo["client_port"])
        assert len(ports) == 1
        body = await (await c.get(h3_server.url("/bytes/300000"))).body()
        assert body == pattern(300_000)
    async with client(tls_files, http_version="3") as c:
        assert (await c.get(h3_server.url("/echo"))).version in ("HTTP/3", "HTTP/2")
