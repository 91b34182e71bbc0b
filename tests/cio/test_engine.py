"""Engine behaviour specific to CIO: both I/O paths, pool state, close/aclose, fds."""

from __future__ import annotations

import time

import anyio
import pytest

from client_cio import CIO
from client_core import ClientClosedException, HttpClient, ProxyBuilder
from tests.servers.fixtures import fd_count
from tests.servers.hostile import HostileServer
from tests.servers.tls import TLSFiles
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


@pytest.fixture(params=[True, False], ids=["fast", "anyio"])
def fast_path(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


async def settle_fds(limit: int) -> int:
    deadline = time.monotonic() + 3
    while (count := fd_count()) > limit and time.monotonic() < deadline:  # noqa: ASYNC110
        await anyio.sleep(0.02)
    return count


async def test_both_io_paths(http_server: ServerInfo, fast_path: bool) -> None:
    async with HttpClient(CIO, lambda c: c.engine(fast_path=fast_path)) as client:
        echo = await (await client.post(http_server.url("/echo"), body=b"x" * 100_000)).json()
        assert echo["body_length"] == 100_000
        body = await (await client.get(http_server.url("/stream-bytes/500000"))).body()
        assert len(body) == 500_000
        engine = client.engine
        assert isinstance(engine, CIO)
        assert engine.pool.idle_count == 1
        assert engine.pool.connection_count == 1


async def test_pool_counts_while_streaming(hostile: HostileServer) -> None:
    async with HttpClient(CIO) as client:
        engine = client.engine
        assert isinstance(engine, CIO)
        async with client.stream("GET", hostile.url("/ok")) as response:
            assert engine.pool.active_count == 1
            assert engine.pool.idle_count == 0
            await response.body()
            assert engine.pool.idle_count == 1
        assert engine.pool.active_count == 0


async def test_close_refuses_new_requests_and_closes_idle(hostile: HostileServer) -> None:
    engine = CIO.create()
    client = HttpClient(engine)
    try:
        await client.get(hostile.url("/ok"))
        assert engine.pool.idle_count == 1
        engine.close()
        assert engine.pool.idle_count == 0
        assert engine.pool.connection_count == 0
        with pytest.raises(ClientClosedException, match="cio engine is closed"):
            await client.get(hostile.url("/ok"))
    finally:
        await client.aclose()
        await engine.aclose()


async def test_in_flight_request_finishes_after_close(hostile: HostileServer) -> None:
    engine = CIO.create()
    async with HttpClient(engine) as client, anyio.create_task_group() as group:

        async def slow() -> None:
            response = await client.get(hostile.url("/ok?delay=0.1"))
            assert await response.body() == b"ok"

        group.start_soon(slow)
        await anyio.sleep(0.03)
        engine.close()
    await engine.aclose()
    assert engine.pool.connection_count == 0


async def test_aclose_releases_every_fd(
    http_server: ServerInfo, hostile: HostileServer, fast_path: bool
) -> None:
    async with HttpClient(CIO, lambda c: c.engine(fast_path=fast_path)) as warm:
        await warm.get(hostile.url("/ok"))
        await warm.get(http_server.url("/status/200"))
    baseline = await settle_fds(fd_count())
    client = HttpClient(CIO, lambda c: c.engine(fast_path=fast_path))
    async with anyio.create_task_group() as group:
        for i in range(20):
            group.start_soon(client.get, hostile.url(f"/ok?delay=0.0{i % 3}"))
            group.start_soon(client.get, http_server.url("/bytes/1000"))
    # one body left half-read, one stalled request left hanging
    async with client.stream("GET", http_server.url("/stream-bytes/1000000")) as response:
        async for _ in response.body_as_channel():
            break
    assert fd_count() > baseline
    await client.aclose()
    assert await settle_fds(baseline) <= baseline


async def test_engine_shared_between_clients(hostile: HostileServer) -> None:
    engine = CIO.create()
    async with HttpClient(engine) as first, HttpClient(engine) as second:
        await first.get(hostile.url("/ok"))
        await second.get(hostile.url("/ok"))
    assert not engine.is_closed
    assert hostile.stats.accepted == 1
    await engine.aclose()


async def test_target_cache_and_proxy_routes(hostile: HostileServer) -> None:
    proxy = ProxyBuilder.http("http://127.0.0.1:9")
    engine = CIO.create(proxy=proxy)
    try:
        from client_core.engine import HttpRequestData
        from client_core.http import Headers, HttpMethod, Url

        request = HttpRequestData(
            method=HttpMethod.GET, url=Url(hostile.url("/")), headers=Headers()
        )
        first = engine._target(request, True)
        assert engine._target(request, True) is first
        assert first.proxy == proxy
        assert first.forward_proxy
        assert engine._target(request, False) is not first
    finally:
        await engine.aclose()


async def test_keep_alive_time_expires_idle_connections(hostile: HostileServer) -> None:
    async with HttpClient(CIO, lambda c: c.engine(endpoint={"keep_alive_time": 0.05})) as client:
        await client.get(hostile.url("/ok"))
        await anyio.sleep(0.1)
        await client.get(hostile.url("/ok"))
    assert hostile.stats.accepted == 2


async def test_connect_attempts(hostile: HostileServer) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with HttpClient(CIO, lambda c: c.engine(endpoint={"connect_attempts": 3})) as client:
        from client_core import ConnectException

        with pytest.raises(ConnectException, match="connection refused"):
            await client.get(f"http://127.0.0.1:{port}/")


async def test_closing_a_small_unread_body_keeps_the_connection(hostile: HostileServer) -> None:
    async with HttpClient(CIO) as client:
        for _ in range(3):
            async with client.stream("GET", hostile.url("/ok")) as response:
                assert response.status == 200  # body not read
        assert await (await client.get(hostile.url("/ok"))).body() == b"ok"
    assert hostile.stats.accepted == 1


async def test_tls_on_both_io_paths(
    https_server: ServerInfo, tls_files: TLSFiles, fast_path: bool
) -> None:
    async with HttpClient(
        CIO, lambda c: c.engine(fast_path=fast_path, ca_file=tls_files.ca_file)
    ) as client:
        for _ in range(2):
            body = await (await client.get(https_server.url("/bytes/300000"))).body()
            assert len(body) == 300_000
        assert await (await client.post(https_server.url("/echo"), body=b"x")).json()
        engine = client.engine
        assert isinstance(engine, CIO)
        assert engine.pool.connection_count == 1
