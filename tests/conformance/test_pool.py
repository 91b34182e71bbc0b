"""Connection reuse, pool limits, stale connections, cancellation and leaks."""

from __future__ import annotations

import random
import time
from typing import Any

import anyio
import pytest

from client_core import ProtocolException
from tests.conformance.conftest import EngineUnderTest
from tests.servers.fixtures import fd_count
from tests.servers.hostile import HostileServer
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


async def wait_for_fds(limit: int, seconds: float = 3.0) -> int:
    """Wait until the process holds at most ``limit`` fds (servers close their side)."""
    deadline = time.monotonic() + seconds
    while (count := fd_count()) > limit and time.monotonic() < deadline:  # noqa: ASYNC110
        await anyio.sleep(0.02)
    return count


async def test_keep_alive_reuse(engine_factory: EngineUnderTest, hostile: HostileServer) -> None:
    async with engine_factory.client() as client:
        for _ in range(10):
            assert await (await client.get(hostile.url("/ok"))).body() == b"ok"
    assert hostile.stats.accepted == 1
    assert hostile.stats.requests == 10


async def test_reuse_after_streamed_body_read_to_end(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        for _ in range(3):
            async with client.stream("GET", hostile.url("/ok")) as response:
                assert b"".join([c async for c in response.body_as_channel()]) == b"ok"
    assert hostile.stats.accepted == 1


async def test_global_limit_never_exceeded(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    if not engine_factory.has_option("max_connections"):
        pytest.skip("the engine has no max_connections option")
    async with engine_factory.client(max_connections=4) as client:

        async def one() -> None:
            assert await (await client.get(hostile.url("/ok?delay=0.02"))).body() == b"ok"

        async with anyio.create_task_group() as group:
            for _ in range(40):
                group.start_soon(one)
    assert hostile.stats.max_active <= 4
    assert hostile.stats.accepted <= 4
    assert hostile.stats.requests == 40


async def test_route_limit_never_exceeded(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    # Ktor's CIO spells it endpoint.max_connections_per_route, libcurl max_connections_per_host.
    if engine_factory.has_option("endpoint"):
        options: dict[str, Any] = {"endpoint": {"max_connections_per_route": 3}}
    else:
        assert engine_factory.has_option("max_connections_per_host"), "no per-route limit"
        options = {"max_connections_per_host": 3}
    async with engine_factory.client(**options) as client:

        async def one() -> None:
            assert await (await client.get(hostile.url("/ok?delay=0.02"))).body() == b"ok"

        async with anyio.create_task_group() as group:
            for _ in range(30):
                group.start_soon(one)
    assert hostile.stats.max_active <= 3


async def test_stale_connection_detected(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        assert await (await client.get(hostile.url("/close-after?after=0.01"))).body() == b"ok"
        await anyio.sleep(0.1)  # the server has closed the idle connection by now
        assert await (await client.get(hostile.url("/ok"))).body() == b"ok"
    assert hostile.stats.accepted == 2


async def test_idempotent_request_retried_once(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        for _ in range(3):
            assert await (await client.get(hostile.url("/second-fails"))).body() == b"ok"
    assert hostile.stats.accepted == 3


async def test_non_idempotent_request_not_retried(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    async with engine_factory.client() as client:
        assert await (await client.post(hostile.url("/second-fails"), body=b"1")).body() == b"ok"
        with pytest.raises(ProtocolException, match="POST"):
            await client.post(hostile.url("/second-fails"), body=b"2")
    assert hostile.stats.accepted == 1


async def test_cancelled_waiter_gives_its_slot_back(
    engine_factory: EngineUnderTest, hostile: HostileServer
) -> None:
    if not engine_factory.has_option("max_connections"):
        pytest.skip("the engine has no max_connections option")
    async with engine_factory.client(max_connections=1) as client:

        async def slow() -> None:
            await client.get(hostile.url("/ok?delay=0.2"))

        async with anyio.create_task_group() as group:
            group.start_soon(slow)
            await anyio.sleep(0.05)
            for _ in range(5):
                with anyio.move_on_after(0.02):
                    await client.get(hostile.url("/ok"))
        with anyio.fail_after(1):
            assert await (await client.get(hostile.url("/ok"))).body() == b"ok"
    assert hostile.stats.max_active == 1


async def test_abandoned_stream_closes_connection(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    async with engine_factory.client() as client:
        for _ in range(3):
            async with client.stream("GET", http_server.url("/stream-bytes/1000000")) as response:
                async for _chunk in response.body_as_channel():
                    break
        assert (await client.get(http_server.url("/status/200"))).status == 200


async def test_random_cancellation_leaves_pool_usable_and_no_fds(
    engine_factory: EngineUnderTest, hostile: HostileServer, http_server: ServerInfo
) -> None:
    # warm both servers so that their own lazily created resources are not counted
    async with engine_factory.client() as warm:
        await warm.get(hostile.url("/ok"))
        await warm.get(http_server.url("/status/200"))
    baseline = await wait_for_fds(fd_count())
    rng = random.Random(1234)
    options = {"max_connections": 16} if engine_factory.has_option("max_connections") else {}
    client = engine_factory.client(**options)
    completed = 0

    async def one(i: int) -> None:
        nonlocal completed
        with anyio.move_on_after(rng.uniform(0, 0.3)):
            if i % 3 == 0:
                url = http_server.url("/drip?chunks=5&size=10&delay=0.005")
                async with client.stream("GET", url) as r:
                    async for _ in r.body_as_channel():
                        pass
            else:
                await client.get(hostile.url(f"/ok?delay={rng.uniform(0, 0.03):.3f}"))
            completed += 1

    async with client:
        async with anyio.create_task_group() as group:
            for i in range(300):
                group.start_soon(one, i)
        # still usable
        for _ in range(5):
            assert await (await client.get(hostile.url("/ok"))).body() == b"ok"
    assert 0 < completed < 300
    assert await wait_for_fds(baseline) <= baseline
