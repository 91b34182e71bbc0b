"""The pool alone, with fake connections: limits, fairness, expiry, cancellation."""

from __future__ import annotations

import ssl
import time

import anyio
import pytest

from client_cio._connection import HTTP11Connection
from client_cio._network import Target
from client_cio._pool import ConnectionPool, PoolClosedError
from client_cio._streams import NetworkStream

pytestmark = pytest.mark.anyio


class FakeStream(NetworkStream):
    def __init__(self) -> None:
        self.alive = True
        self.was_closed = False

    async def read(self, timeout: float | None) -> bytes:
        return b""

    async def read_exactly(
        self, size: int, timeout: float | None, prefix: list[bytes | bytearray]
    ) -> bytes:
        raise EOFError

    async def write(self, data: bytes, timeout: float | None) -> None:
        pass

    @property
    def closed(self) -> bool:
        return self.was_closed

    def is_alive(self) -> bool:
        return self.alive and not self.was_closed

    def close(self) -> None:
        self.was_closed = True

    async def aclose(self) -> None:
        self.was_closed = True

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str | None, timeout: float | None
    ) -> NetworkStream:
        return self


def target(host: str = "a") -> Target:
    return Target("http", host, 80, None, None, None)


class Opener:
    def __init__(self, tgt: Target) -> None:
        self.target = tgt
        self.opened: list[HTTP11Connection] = []

    async def __call__(self) -> HTTP11Connection:
        conn = HTTP11Connection(FakeStream(), self.target, 65536)
        self.opened.append(conn)
        return conn


def finish(conn: HTTP11Connection) -> HTTP11Connection:
    conn.reused = True
    conn.idle_since = time.monotonic()
    return conn


async def test_reuse_most_recent_first() -> None:
    pool = ConnectionPool(10, 10, 60)
    a = target()
    opener = Opener(a)
    first = await pool.acquire(a, opener)
    second = await pool.acquire(a, opener)
    pool.release(finish(first))
    pool.release(finish(second))
    assert pool.idle_count == 2
    assert await pool.acquire(a, opener) is second
    assert len(opener.opened) == 2


async def test_dead_idle_connection_is_dropped() -> None:
    pool = ConnectionPool(10, 10, 60)
    a = target()
    opener = Opener(a)
    conn = await pool.acquire(a, opener)
    pool.release(finish(conn))
    assert isinstance(conn.stream, FakeStream)
    conn.stream.alive = False
    fresh = await pool.acquire(a, opener)
    assert fresh is not conn
    assert conn.stream.was_closed
    assert pool.connection_count == 1


async def test_route_limit_waits_in_order() -> None:
    pool = ConnectionPool(10, 1, 60)
    a = target()
    opener = Opener(a)
    held = await pool.acquire(a, opener)
    order: list[int] = []

    async def waiter(i: int) -> None:
        conn = await pool.acquire(a, opener)
        order.append(i)
        pool.release(finish(conn))

    async with anyio.create_task_group() as group:
        for i in range(3):
            group.start_soon(waiter, i)
            await anyio.sleep(0.01)
        pool.release(finish(held))
    assert order == [0, 1, 2]
    assert len(opener.opened) == 1


async def test_cancelled_waiter_gives_slot_back() -> None:
    pool = ConnectionPool(1, 1, 60)
    a = target()
    opener = Opener(a)
    held = await pool.acquire(a, opener)
    with anyio.move_on_after(0.02):
        await pool.acquire(a, opener)
    pool.discard(held)
    with anyio.fail_after(1):
        conn = await pool.acquire(a, opener)
    assert pool.connection_count == 1
    pool.release(finish(conn))


async def test_global_limit_evicts_idle_connection_of_another_route() -> None:
    pool = ConnectionPool(1, 10, 60)
    a, b = target("a"), target("b")
    conn = await pool.acquire(a, Opener(a))
    pool.release(finish(conn))
    other = await pool.acquire(b, Opener(b))
    assert conn.stream.closed
    assert pool.connection_count == 1
    pool.release(finish(other))


async def test_expiry() -> None:
    pool = ConnectionPool(10, 10, 0.01)
    a = target()
    opener = Opener(a)
    conn = await pool.acquire(a, opener)
    pool.release(finish(conn))
    await anyio.sleep(0.03)
    again = await pool.acquire(a, opener)
    assert again is not conn
    assert conn.stream.closed


async def test_fresh_acquire_skips_idle() -> None:
    pool = ConnectionPool(10, 1, 60)
    a = target()
    opener = Opener(a)
    conn = await pool.acquire(a, opener)
    pool.release(finish(conn))
    fresh = await pool.acquire(a, opener, fresh=True)
    assert fresh is not conn
    assert conn.stream.closed
    assert pool.connection_count == 1


async def test_close_idle_wakes_waiters_and_refuses() -> None:
    pool = ConnectionPool(1, 1, 60)
    a = target()
    opener = Opener(a)
    held = await pool.acquire(a, opener)
    failures: list[BaseException] = []

    async def waiter() -> None:
        try:
            await pool.acquire(a, opener)
        except PoolClosedError as exc:
            failures.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(waiter)
        await anyio.sleep(0.01)
        pool.close_idle()
    assert len(failures) == 1
    pool.release(finish(held))  # a connection returned after close is closed
    assert held.stream.closed
    with pytest.raises(PoolClosedError):
        await pool.acquire(a, opener)
    await pool.aclose()
    assert pool.connection_count == 0
