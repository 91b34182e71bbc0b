"""ContentEncoding and BodyProgress on real engines: streamed decoding, limits, wire bytes.

Progress counts bytes as they move on the wire: for a compressed response that is the
encoded size (``Content-Length``), not the decoded size.
"""

from __future__ import annotations

import gzip
import hashlib
import itertools
from collections.abc import AsyncIterator

import pytest

from client_core import ContentDecodingException, HttpClientConfig
from client_core.plugins import (
    BodyProgress,
    ContentEncoding,
    compress,
    on_download,
    on_upload,
)
from tests.conformance.conftest import EngineUnderTest
from tests.plugins.server_app import (  # noqa: F401  (a fixture)
    encoded,
    plugins_server_fixture,
    text_bytes,
)
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]

Calls = list[tuple[int, int | None]]


def both(config: HttpClientConfig) -> None:
    config.install(ContentEncoding)
    config.install(BodyProgress)


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "zstd", "gzip,br"])
@pytest.mark.parametrize("length", [True, False])
async def test_decoding_with_download_progress_in_wire_bytes(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo, coding: str, length: bool
) -> None:
    n = 300_000
    wire = encoded(n, coding)
    calls: Calls = []
    url = plugins_server.url(f"/encoded/{coding}?n={n}&chunk=4096&length={int(length)}")
    async with engine_factory.client(both) as client:
        response = await client.get(
            url, lambda req: on_download(req, lambda s, t: calls.append((s, t)))
        )
        assert await response.body() == text_bytes(n)
        assert response.request.headers["Accept-Encoding"] == "gzip, deflate, br, zstd"
    assert calls[-1] == (len(wire), len(wire) if length else None)
    assert all(a[0] < b[0] for a, b in itertools.pairwise(calls))


async def test_streamed_decoding_keeps_pace_with_the_wire(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo
) -> None:
    n = 200_000
    calls: Calls = []
    decoded: list[int] = []
    url = plugins_server.url(f"/encoded/gzip?n={n}&chunk=2000&delay=0.002")
    async with (
        engine_factory.client(both) as client,
        client.stream(
            "GET", url, lambda req: on_download(req, lambda s, t: calls.append((s, t)))
        ) as response,
    ):
        async for piece in response.body_as_channel():
            decoded.append(len(piece))
            assert len(piece) <= 64 * 1024
    assert sum(decoded) == n and len(decoded) > 1
    assert calls[-1][0] == len(encoded(n, "gzip"))


async def test_server_gzip_route(engine_factory: EngineUnderTest, http_server: ServerInfo) -> None:
    async with engine_factory.client(both) as client:
        assert (await (await client.get(http_server.url("/gzip"))).json())["gzipped"] is True


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
async def test_decompression_bomb_fails_early(
    engine_factory: EngineUnderTest, plugins_server: ServerInfo, coding: str
) -> None:
    calls: Calls = []
    async with engine_factory.client(both) as client:
        with pytest.raises(ContentDecodingException, match="decompression bomb") as info:
            await client.get(
                plugins_server.url(f"/bomb/{coding}?mb=64"),
                lambda req: on_download(req, lambda s, t: calls.append((s, t))),
            )
        assert f"GET {plugins_server.url('/bomb/')}" in str(info.value)
        async with client.stream("GET", plugins_server.url(f"/bomb/{coding}?mb=64")) as response:
            seen = 0
            with pytest.raises(ContentDecodingException):
                async for piece in response.body_as_channel():
                    seen += len(piece)
        assert seen < 4 * 1024 * 1024
        # the client (and its pool) is fine afterwards
        assert (await client.get(plugins_server.url("/encoded/gzip?n=10"))).status == 200


async def test_compressed_upload_with_progress_counts_compressed_bytes(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    payload = text_bytes(500_000)
    calls: Calls = []

    def block(req: object) -> None:
        compress(req, "gzip")  # type: ignore[arg-type]
        on_upload(req, lambda s, t: calls.append((s, t)))  # type: ignore[arg-type]

    async with engine_factory.client(both) as client:
        echo = await (await client.post(http_server.url("/echo"), block, body=payload)).json()
    received = echo["body"].encode("latin-1")
    assert gzip.decompress(received) == payload
    assert calls[-1] == (len(received), len(received)) and len(received) < len(payload) // 5
    assert ["content-length", str(len(received))] in echo["headers"] and not echo["chunked"]
    assert ["content-encoding", "gzip"] in echo["headers"]


async def test_streamed_upload_compressed_on_the_fly(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    calls: Calls = []

    async def body() -> AsyncIterator[bytes]:
        for i in range(20):
            yield text_bytes(10_000 + i)

    def block(req: object) -> None:
        compress(req, "gzip")  # type: ignore[arg-type]
        on_upload(req, lambda s, t: calls.append((s, t)))  # type: ignore[arg-type]

    async with engine_factory.client(both) as client:
        echo = await (await client.put(http_server.url("/echo"), block, body=body())).json()
    received = echo["body"].encode("latin-1")
    assert gzip.decompress(received) == b"".join(text_bytes(10_000 + i) for i in range(20))
    assert echo["chunked"] and calls[-1] == (len(received), None)
    assert ["content-encoding", "gzip"] in echo["headers"]


async def test_upload_progress_of_a_large_body(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    calls: Calls = []

    async with engine_factory.client(both) as client:
        echo = await (
            await client.post(
                http_server.url("/upload"),
                lambda req: on_upload(req, lambda s, t: calls.append((s, t))),
                body=payload,
            )
        ).json()
    assert echo["sha256"] == hashlib.sha256(payload).hexdigest()
    assert len(calls) == 16 and calls[-1] == (len(payload), len(payload))
