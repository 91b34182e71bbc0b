"""The connection pool: keep-alive reuse, per-route and global limits, fair waiting.

Every operation on the uncontended path is O(1): a route is found by its
:class:`~client_cio._network.Target` (hashed by identity), an idle connection is popped
from the route's stack (most recently used first, so the warm ones are reused and the
cold ones expire), and expiry pops from the front of one global list ordered by release
time. Only when requests must wait for a slot does the pool look through the queue of
waiters, oldest first.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel

from client_cio._connection import HTTP11Connection
from client_cio._network import Target

__all__ = ["ConnectionPool", "PoolClosedError"]

Opener = Callable[[], Awaitable[HTTP11Connection]]


class PoolClosedError(Exception):
    """The pool was closed while a request waited for a connection."""


class _Route:
    __slots__ = ("idle", "pipelinable", "target", "total", "waiters", "waiting")

    def __init__(self, target: Target) -> None:
        self.target = target
        self.idle: deque[HTTP11Connection] = deque()
        # lent connections that take more pipelined requests (checked lazily on use)
        self.pipelinable: deque[HTTP11Connection] = deque()
        self.total = 0  # open or opening connections
        self.waiters: deque[_Waiter] = deque()  # may hold settled waiters, skipped lazily
        self.waiting = 0  # waiters not settled yet


class _Waiter:
    __slots__ = ("conn", "done", "event", "fresh", "pipelined", "route", "slot")

    def __init__(self, route: _Route, pipelined: bool, fresh: bool) -> None:
        self.route = route
        self.pipelined = pipelined
        self.fresh = fresh
        self.event = anyio.Event()
        self.conn: HTTP11Connection | None = None
        self.slot = False
        self.done = False


class ConnectionPool:
    """Connections by route, with limits.

    Args:
        max_connections: The most connections open at once.
        max_per_route: The most connections open at once to one route.
        keep_alive_time: Seconds an idle connection is kept.
        pipeline_max_size: The most requests in flight on one connection, for requests
            acquired with ``pipelined=True``.
    """

    def __init__(
        self,
        max_connections: int,
        max_per_route: int,
        keep_alive_time: float,
        pipeline_max_size: int = 1,
    ) -> None:
        self.max_connections = max_connections
        self.pipeline_max_size = pipeline_max_size
        self.max_per_route = max_per_route
        self.keep_alive_time = keep_alive_time
        self._routes: dict[Target, _Route] = {}
        self._idle: OrderedDict[HTTP11Connection, _Route] = OrderedDict()
        self._active: dict[HTTP11Connection, _Route] = {}
        self._total = 0
        self._waiters: deque[_Waiter] = deque()
        self._waiting = 0
        self._closed = False
        self._closing: list[HTTP11Connection] = []

    # -- introspection (tests, docs) --------------------------------------------------------

    @property
    def connection_count(self) -> int:
        """Connections open or being opened."""
        return self._total

    @property
    def idle_count(self) -> int:
        """Idle connections kept for reuse."""
        return len(self._idle)

    @property
    def active_count(self) -> int:
        """Connections lent to requests."""
        return len(self._active)

    # -- acquiring --------------------------------------------------------------------------

    async def acquire(
        self, target: Target, opener: Opener, pipelined: bool = False, fresh: bool = False
    ) -> HTTP11Connection:
        """Lend a connection for ``target``: an idle one, a new one, or the next free one.

        A ``pipelined`` request may also share a connection already lent to pipelined
        requests (up to ``pipeline_max_size`` of them) when no connection can be opened.

        Args:
            target: The route.
            opener: Opens a new connection (the caller bounds its time).
            pipelined: The request may be pipelined.
            fresh: Prefer a new connection (a retry): idle ones of the route are closed
                to make room when the limits are reached.

        Returns:
            The connection, to be given back with :meth:`release` or :meth:`discard`.

        Raises:
            PoolClosedError: The pool was closed meanwhile.
            Exception: Whatever ``opener`` raises.
        """
        if self._closed:
            raise PoolClosedError("the connection pool is closed")
        route = self._routes.get(target)
        if route is None:
            route = self._routes[target] = _Route(target)
        if self._idle:
            self._expire(time.monotonic())
        idle = route.idle
        if fresh:
            while idle and (
                route.total >= self.max_per_route or self._total >= self.max_connections
            ):
                conn = idle.popleft()
                del self._idle[conn]
                conn.in_pool = False
                self._close(conn, route)
        while idle and not fresh:
            conn = idle.pop()
            del self._idle[conn]
            conn.in_pool = False
            if conn.stream.is_alive():
                self._lend(conn, route, pipelined)
                return conn
            self._close(conn, route)
        if not route.waiting and route.total < self.max_per_route:
            if self._total >= self.max_connections and self._idle:
                self._evict_oldest()
            if self._total < self.max_connections:
                route.total += 1
                self._total += 1
                return await self._open(route, opener)
        if pipelined and route.pipelinable:
            shared = self._share(route)
            if shared is not None:
                return shared
        return await self._wait(route, opener, pipelined, fresh)

    def _lend(self, conn: HTTP11Connection, route: _Route, pipelined: bool) -> None:
        self._active[conn] = route
        conn.depth = 1
        if pipelined and self.pipeline_max_size > 1:
            if not conn.shared:
                conn.shared = True
                route.pipelinable.append(conn)
            if route.waiting:
                self._feed(conn, route)

    def _feed(self, conn: HTTP11Connection, route: _Route) -> None:
        """Share a pipelinable connection with pipelined requests waiting for the route."""
        limit = self.pipeline_max_size
        for waiter in route.waiters:
            if conn.depth >= limit:
                break
            if waiter.done or not waiter.pipelined:
                continue
            self._settle(waiter)
            conn.depth += 1
            waiter.conn = conn
            waiter.event.set()

    def _share(self, route: _Route) -> HTTP11Connection | None:
        candidates = route.pipelinable
        limit = self.pipeline_max_size
        while candidates:
            conn = candidates[0]
            if not 0 < conn.depth < limit or conn.stream.closed or conn not in self._active:
                candidates.popleft()
                conn.shared = False
                continue
            conn.depth += 1
            if conn.depth >= limit:
                candidates.popleft()
                conn.shared = False
            else:
                candidates.rotate(-1)  # spread requests over the shared connections
            return conn
        return None

    async def _open(self, route: _Route, opener: Opener) -> HTTP11Connection:
        try:
            conn = await opener()
        except BaseException:
            route.total -= 1
            self._total -= 1
            self._wake_waiters()
            raise
        if self._closed:
            conn.stream.close()
            route.total -= 1
            self._total -= 1
            raise PoolClosedError("the connection pool was closed while connecting")
        self._active[conn] = route
        conn.depth = 1
        return conn

    async def _wait(
        self, route: _Route, opener: Opener, pipelined: bool, fresh: bool
    ) -> HTTP11Connection:
        waiter = _Waiter(route, pipelined, fresh)
        if len(route.waiters) > 2 * route.waiting + 16:
            route.waiters = deque(w for w in route.waiters if not w.done)
        if len(self._waiters) > 2 * self._waiting + 16:
            self._waiters = deque(w for w in self._waiters if not w.done)
        route.waiters.append(waiter)
        self._waiters.append(waiter)
        route.waiting += 1
        self._waiting += 1
        try:
            await waiter.event.wait()
        except BaseException:
            if not waiter.done:
                self._settle(waiter)
            elif waiter.conn is not None:
                self.release(waiter.conn)
            elif waiter.slot:
                route.total -= 1
                self._total -= 1
                self._wake_waiters()
            raise
        if waiter.conn is not None:
            return waiter.conn
        if not waiter.slot:
            raise PoolClosedError("the connection pool was closed while waiting")
        return await self._open(route, opener)

    # -- giving back ------------------------------------------------------------------------

    def release(self, conn: HTTP11Connection) -> None:
        """Give back a connection whose exchange ended cleanly, for reuse.

        Args:
            conn: The connection (its :meth:`HTTP11Connection.finish` returned True).
        """
        if conn.depth > 1:  # pipelined requests still use it
            conn.depth -= 1
            conn.next_turn()
            route = self._active.get(conn)
            if route is not None:
                if not conn.shared:
                    conn.shared = True
                    route.pipelinable.append(conn)
                if route.waiting:
                    self._feed(conn, route)
            return
        conn.depth = 0
        conn.next_turn()
        route = self._active.pop(conn, None)
        if route is None:
            return
        if self._closed:
            self._close(conn, route)
            return
        waiters = route.waiters
        while waiters and waiters[0].done:
            waiters.popleft()
        for waiter in waiters:
            if not waiter.done and not waiter.fresh:
                self._settle(waiter)
                waiter.conn = conn
                self._lend(conn, route, waiter.pipelined)
                waiter.event.set()
                return
        conn.in_pool = True
        route.idle.append(conn)
        self._idle[conn] = route
        if self._waiting:
            self._wake_waiters()

    def detach(self, conn: HTTP11Connection) -> None:
        """Give back a connection a request took but never wrote on (it was cancelled).

        Args:
            conn: The connection.
        """
        route = self._active.get(conn)
        if route is None:
            return
        if conn.depth > 1 or conn.turns:  # others still use it: just leave
            conn.depth = max(conn.depth - 1, 1 if conn.turns else 0)
            if not conn.shared:
                conn.shared = True
                route.pipelinable.append(conn)
            if route.waiting:
                self._feed(conn, route)
            return
        self.release(conn)

    def discard(self, conn: HTTP11Connection) -> None:
        """Close a connection that cannot be reused and free its slot.

        Pipelined requests still waiting on it fail (and are retried by the engine).

        Args:
            conn: The connection.
        """
        conn.depth = 0
        conn.fail_turns()
        route = self._active.pop(conn, None)
        if route is None:
            conn.stream.close()
            return
        self._close(conn, route)

    def _close(self, conn: HTTP11Connection, route: _Route) -> None:
        conn.stream.close()
        route.total -= 1
        self._total -= 1
        if self._waiting:
            self._wake_waiters()
        elif not route.total and not route.idle and not route.waiting:
            del self._routes[route.target]

    def _evict_oldest(self) -> None:
        conn, route = self._idle.popitem(last=False)
        route.idle.remove(conn)
        conn.in_pool = False
        conn.stream.close()
        route.total -= 1
        self._total -= 1

    def _expire(self, now: float) -> None:
        limit = now - self.keep_alive_time
        idle = self._idle
        while idle:
            conn = next(iter(idle))
            if conn.idle_since > limit:
                return
            route = idle.pop(conn)
            route.idle.remove(conn)
            conn.in_pool = False
            self._close(conn, route)

    def _settle(self, waiter: _Waiter) -> None:
        waiter.done = True
        waiter.route.waiting -= 1
        self._waiting -= 1

    def _wake_waiters(self) -> None:
        """Grant slots to the oldest waiters that fit the limits."""
        if not self._waiting:
            return
        for waiter in self._waiters:
            if waiter.done:
                continue
            route = waiter.route
            if route.idle and waiter.fresh:  # a retry wants a new connection: make room
                conn = route.idle.popleft()
                del self._idle[conn]
                conn.in_pool = False
                conn.stream.close()
                route.total -= 1
                self._total -= 1
            if route.idle and not waiter.fresh:
                conn = route.idle.pop()
                del self._idle[conn]
                conn.in_pool = False
                self._settle(waiter)
                waiter.conn = conn
                self._lend(conn, route, waiter.pipelined)
                waiter.event.set()
            else:
                if route.total >= self.max_per_route:
                    continue
                if self._total >= self.max_connections:
                    if not self._idle:
                        break
                    self._evict_oldest()
                route.total += 1
                self._total += 1
                waiter.slot = True
                self._settle(waiter)
                waiter.event.set()
            if not self._waiting:
                break
        while self._waiters and self._waiters[0].done:
            self._waiters.popleft()

    # -- closing ----------------------------------------------------------------------------

    def close_idle(self) -> None:
        """Refuse new requests and close idle connections now; lent ones close on return."""
        self._closed = True
        while self._idle:
            conn, route = self._idle.popitem(last=False)
            route.idle.remove(conn)
            conn.in_pool = False
            conn.stream.close()
            self._closing.append(conn)
            route.total -= 1
            self._total -= 1
        for waiter in self._waiters:
            if not waiter.done:
                self._settle(waiter)
                waiter.event.set()
        self._waiters.clear()

    async def aclose(self) -> None:
        """Close every connection, lent ones included, and wait until sockets are freed."""
        self.close_idle()
        streams = [conn.stream for conn in self._closing]
        streams += [conn.stream for conn in self._active]
        self._closing.clear()
        self._active.clear()
        for route in self._routes.values():
            route.total = 0
        self._routes.clear()
        self._total = 0
        for stream in streams:
            await stream.aclose()
        with anyio.CancelScope(shield=True):
            # let transports closed a moment ago release their sockets
            await anyio.lowlevel.checkpoint()
