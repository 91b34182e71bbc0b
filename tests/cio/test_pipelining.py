"""HTTP/1.1 pipelining (``pipelining=True`` with ``endpoint.pipeline_max_size``)."""

from __future__ import annotations

import random

import anyio
import pytest

from client_cio import CIO
from client_core import HttpClient
from tests.servers.app import pattern_bytes
from tests.servers.hostile import HostileServer
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def pipelining_client(connections: int = 1, size: int = 20) -> HttpClient:
    return HttpClient(
        CIO,
        lambda c: c.engine(
            pipelining=True, max_connections=connections, endpoint={"pipeline_max_size": size}
        ),
    )


async def test_requests_are_pipelined_on_one_connection(hostile: HostileServer) -> None:
    results: list[bytes] = []
    async with pipelining_client() as client:

        async def one() -> None:
            results.append(await (await client.get(hostile.url("/ok?delay=0.005"))).body())

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
    assert results == [b"ok"] * 20
    assert hostile.stats.accepted == 1
    assert hostile.stats.pipelined > 0
    assert hostile.stats.max_in_flight <= 20


async def test_pipeline_max_size_is_respected(hostile: HostileServer) -> None:
    async with pipelining_client(size=3) as client, anyio.create_task_group() as group:
        for _ in range(15):
            group.start_soon(client.get, hostile.url("/ok?delay=0.005"))
    assert hostile.stats.accepted == 1
    assert 1 < hostile.stats.max_in_flight <= 3


async def test_non_idempotent_requests_are_not_pipelined(hostile: HostileServer) -> None:
    async with pipelining_client() as client, anyio.create_task_group() as group:
        for _ in range(10):
            group.start_soon(lambda: client.post(hostile.url("/ok?delay=0.005"), body=b"x"))
    assert hostile.stats.pipelined == 0
    assert hostile.stats.requests == 10


async def test_broken_pipeline_is_retried(hostile: HostileServer) -> None:
    # the server closes every connection after its first answer: pipelined requests
    # behind it fail and are sent again on a new connection
    async with pipelining_client(connections=4) as client:
        await client.get(hostile.url("/ok"))  # a keep-alive connection to pipeline on

        async def one() -> None:
            assert await (await client.get(hostile.url("/second-fails"))).body() == b"ok"

        async with anyio.create_task_group() as group:
            for _ in range(6):
                group.start_soon(one)


async def test_streamed_bodies_are_read_in_order(hostile: HostileServer) -> None:
    async with pipelining_client() as client:

        async def one() -> None:
            async with client.stream("GET", hostile.url("/trailers")) as response:
                body = b"".join([chunk async for chunk in response.body_as_channel()])
                assert body == b"hello world"

        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one)
    assert hostile.stats.accepted == 1


@pytest.mark.parametrize("path", ["/folded", "/trailers", "/informational"])
async def test_responses_parsed_by_h11_in_a_pipeline(hostile: HostileServer, path: str) -> None:
    async with pipelining_client() as client:
        await client.get(hostile.url("/ok"))

        async def one() -> None:
            response = await client.get(hostile.url(path))
            assert response.status == 200
            assert await response.body() in (b"ok", b"hello world")

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(one)
    assert hostile.stats.accepted == 1


async def test_cancellation_inside_a_pipeline(hostile: HostileServer) -> None:
    rng = random.Random(7)
    async with pipelining_client(connections=2, size=5) as client:
        engine = client.engine
        assert isinstance(engine, CIO)
        most = 0

        async def one() -> None:
            with anyio.move_on_after(rng.uniform(0, 0.2)):
                await client.get(hostile.url(f"/ok?delay={rng.uniform(0, 0.01):.3f}"))

        async def watch() -> None:
            nonlocal most
            while True:
                most = max(most, engine.pool.connection_count)
                await anyio.sleep(0.001)

        async with anyio.create_task_group() as group:
            group.start_soon(watch)
            async with anyio.create_task_group() as requests:
                for _ in range(100):
                    requests.start_soon(one)
            group.cancel_scope.cancel()
        for _ in range(5):
            assert await (await client.get(hostile.url("/ok"))).body() == b"ok"
        assert engine.pool.active_count == 0
    assert most <= 2
    assert hostile.stats.pipelined > 0


async def test_large_bodies_in_a_pipeline(http_server: ServerInfo) -> None:
    async with pipelining_client(size=4) as client:
        await client.get(http_server.url("/status/200"))

        async def one(size: int) -> None:
            response = await client.get(http_server.url(f"/bytes/{size}"))
            assert await response.body() == pattern_bytes(size)

        async with anyio.create_task_group() as group:
            for i in range(12):
                group.start_soon(one, 100_000 + i * 7919)
        engine = client.engine
        assert isinstance(engine, CIO)
        assert engine.pool.connection_count == 1
