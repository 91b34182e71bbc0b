"""How the driver meets the event loop: a poller of libcurl's sockets, asyncio and trio.

The backends say how asyncio and trio wake the driver and the tasks waiting on transfers.

The sockets libcurl wants watched are registered in an epoll set of the driver's own
(``select.epoll``, or the platform's ``selectors`` fallback); only that one descriptor is
registered with the event loop: on asyncio with ``loop.add_reader`` (a plain callback, no
task), on trio by a driver task started lazily as a system task. A task waiting on a
transfer awaits a bare asyncio future, or is rescheduled by trio directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
import select
import selectors
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, Protocol

import pycurl

from client_core.errors import HttpClientError

if TYPE_CHECKING:
    from client_curl._multi import Driver

__all__ = [
    "CSELECT",
    "WANT",
    "AsyncioBackend",
    "Backend",
    "Poller",
    "TrioBackend",
    "Waitable",
]

_MAX_EVENTS: Final = 256
_UNKNOWN: Final = object()


class Waitable(Protocol):
    """What a task waits on: the driver sets ``waiter`` and clears it when waking."""

    waiter: Any


class Poller:
    """An epoll set (or a ``selectors`` fallback) of the sockets libcurl watches."""

    __slots__ = ("_epoll", "_selector", "fd", "poll")

    IN: Final = 1
    OUT: Final = 4

    def __init__(self) -> None:
        self._epoll: Any = None
        self._selector: selectors.BaseSelector | None = None
        if hasattr(select, "epoll"):
            epoll = select.epoll()
            self._epoll = epoll
            self.fd = epoll.fileno()
            self.poll: Callable[[], list[tuple[int, int]]] = functools.partial(
                epoll.poll, 0, _MAX_EVENTS
            )
        else:  # pragma: no cover - non-Linux
            selector = selectors.DefaultSelector()
            fileno = getattr(selector, "fileno", None)
            if fileno is None:
                selector.close()
                raise HttpClientError(
                    "the curl engine needs a pollable selector (epoll or kqueue) on this platform"
                )
            self._selector = selector
            self.fd = fileno()
            self.poll = self._poll_selector

    def _poll_selector(self) -> list[tuple[int, int]]:  # pragma: no cover - non-Linux
        assert self._selector is not None
        out = []
        for key, mask in self._selector.select(0):
            out.append(
                (
                    int(key.fd),
                    (1 if mask & selectors.EVENT_READ else 0)
                    | (4 if mask & selectors.EVENT_WRITE else 0),
                )
            )
        return out

    def watch(self, fd: int, mask: int) -> None:
        """Watch ``fd`` for ``mask`` (``IN``/``OUT`` bits), registered or not."""
        epoll = self._epoll
        if epoll is not None:
            try:
                epoll.modify(fd, mask)
            except FileNotFoundError:
                # New, or closed and its number reused since it was registered.
                epoll.register(fd, mask)
            return
        self._watch_selector(fd, mask)  # pragma: no cover - non-Linux

    def _watch_selector(self, fd: int, mask: int) -> None:  # pragma: no cover - non-Linux
        assert self._selector is not None
        events = (selectors.EVENT_READ if mask & 1 else 0) | (
            selectors.EVENT_WRITE if mask & 4 else 0
        )
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._selector.unregister(fd)
        if events:
            with contextlib.suppress(ValueError, OSError):
                self._selector.register(fd, events)

    def forget(self, fd: int) -> None:
        """Stop watching ``fd`` (it may already be closed)."""
        try:
            if self._epoll is not None:
                self._epoll.unregister(fd)
            elif self._selector is not None:  # pragma: no cover - non-Linux
                self._selector.unregister(fd)
        except (KeyError, ValueError, OSError):
            pass

    def close(self) -> None:
        if self._epoll is not None:
            self._epoll.close()
        elif self._selector is not None:  # pragma: no cover - non-Linux
            self._selector.close()


# libcurl's CURL_POLL_* value -> poller mask, and poller event mask -> CURL_CSELECT_* bits.
WANT: Final = (0, Poller.IN, Poller.OUT, Poller.IN | Poller.OUT)
_ERR_OR_HUP: Final = 0x008 | 0x010  # EPOLLERR | EPOLLHUP


def _cselect(mask: int) -> int:
    return (
        (pycurl.CSELECT_IN if mask & Poller.IN else 0)
        | (pycurl.CSELECT_OUT if mask & Poller.OUT else 0)
        | (pycurl.CSELECT_ERR if mask & _ERR_OR_HUP else 0)
    )


CSELECT: Final = {mask: _cselect(mask) for mask in range(32)}


class Backend:
    """How the driver meets one running event loop."""

    now: Callable[[], float]
    armed_at: float = math.inf  # the loop timer's deadline (inf: none armed)

    def current(self) -> bool:
        raise NotImplementedError

    def arm(self, when: float) -> None:
        raise NotImplementedError

    def soon(self, callback: Callable[[], None]) -> None:
        raise NotImplementedError

    def waiter(self, item: Waitable) -> Awaitable[Any]:
        raise NotImplementedError

    def wake(self, item: Waitable) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class AsyncioBackend(Backend):
    """asyncio: ``add_reader`` on the poller's descriptor, ``call_at`` for the timer."""

    def __init__(self, driver: Driver, loop: asyncio.AbstractEventLoop, fd: int) -> None:
        self.driver = driver
        self.loop = loop
        self.fd = fd
        # loop.time() is time.monotonic(); calling that directly saves a Python frame.
        self.now = time.monotonic if type(loop).time is asyncio.BaseEventLoop.time else loop.time
        self.thread = threading.get_ident()
        self.create_future = loop.create_future
        self.timer: asyncio.TimerHandle | None = None
        self.armed_at = math.inf
        loop.add_reader(fd, driver.on_readable)

    def current(self) -> bool:
        # Not asyncio.get_running_loop(): that makes a getpid() system call each time.
        # BaseEventLoop keeps the running thread's id in _thread_id (None when stopped).
        thread = getattr(self.loop, "_thread_id", _UNKNOWN)
        if thread is _UNKNOWN:
            return self.loop.is_running() and threading.get_ident() == self.thread
        return bool(thread == threading.get_ident())

    def arm(self, when: float) -> None:
        timer = self.timer
        if timer is not None:
            if self.armed_at <= when:
                return  # fires first; the driver re-arms then
            timer.cancel()
        self.armed_at = when
        self.timer = self.loop.call_at(when, self._fire)

    def soon(self, callback: Callable[[], None]) -> None:
        self.loop.call_soon(callback)

    def _fire(self) -> None:
        self.timer = None
        self.armed_at = math.inf
        self.driver.on_timer()

    def waiter(self, item: Waitable) -> Awaitable[Any]:
        # A bare future: awaiting it costs no coroutine frame. A cancelled one stays in
        # ``item.waiter`` until the next wait replaces it; ``wake`` skips it.
        future = self.create_future()
        item.waiter = future
        return future

    def wake(self, item: Waitable) -> None:
        future = item.waiter
        if future is not None:
            item.waiter = None
            if not future.done():
                future.set_result(None)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.loop.is_closed():
            self.loop.remove_reader(self.fd)


class TrioBackend(Backend):
    """trio: a system task waits for the poller's descriptor, with the timer as deadline."""

    def __init__(self, driver: Driver, fd: int) -> None:
        import trio

        self.trio = trio
        self.driver = driver
        self.fd = fd
        self.now = trio.current_time
        self.token = trio.lowlevel.current_trio_token()
        self.scope: trio.CancelScope | None = None
        self.armed_at = math.inf
        self.stopped = False
        self.later: Callable[[], None] | None = None
        trio.lowlevel.spawn_system_task(self._run, name="client_curl driver")

    def current(self) -> bool:
        try:
            return self.trio.lowlevel.current_trio_token() is self.token
        except RuntimeError:
            return False

    async def _run(self) -> None:
        trio = self.trio
        wait_readable = trio.lowlevel.wait_readable
        driver = self.driver
        try:
            while not self.stopped:
                with trio.CancelScope(deadline=self.armed_at) as scope:
                    self.scope = scope
                    await wait_readable(self.fd)
                self.scope = None
                # After close() the driver's handlers find no multi handle and return.
                if scope.cancelled_caught:
                    self.armed_at = math.inf
                    later, self.later = self.later, None
                    if later is not None:
                        later()
                    driver.on_timer()
                else:
                    driver.on_readable()
        except trio.ClosedResourceError:
            return
        finally:
            self.scope = None

    def arm(self, when: float) -> None:
        if when < self.armed_at:
            self.armed_at = when
            scope = self.scope
            if scope is not None:
                scope.deadline = when

    def soon(self, callback: Callable[[], None]) -> None:
        self.later = callback
        self.arm(-math.inf)

    def waiter(self, item: Waitable) -> Awaitable[Any]:
        lowlevel = self.trio.lowlevel
        item.waiter = lowlevel.current_task()

        def abort(_: Any) -> Any:
            item.waiter = None
            return lowlevel.Abort.SUCCEEDED

        return lowlevel.wait_task_rescheduled(abort)  # type: ignore[no-any-return]

    def wake(self, item: Waitable) -> None:
        task = item.waiter
        if task is not None:
            item.waiter = None
            self.trio.lowlevel.reschedule(task)

    def close(self) -> None:
        self.stopped = True
        if self.scope is not None:
            self.scope.cancel()
        # Outside the trio run (RuntimeError) the driver task is gone already.
        with contextlib.suppress(RuntimeError):
            self.trio.lowlevel.notify_closing(self.fd)
