"""The driver's poller, and how it meets the event loop on asyncio and trio.

The driver thread waits on a :class:`Poller`: an epoll set (or the platform's
``selectors`` fallback) of the sockets libcurl wants watched, plus the read end of a wake-up
pipe. The event loop side is a :class:`Backend`: how a task waits on a transfer (a bare
asyncio future, or a trio task reschedule), how it is woken, and how the driver thread
has the loop run its delivery (a one-byte write to a pipe the asyncio loop reads, or
trio's ``run_sync_soon``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import select
import selectors
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

import pycurl

from client_core.errors import HttpClientError

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


def _libc_holding_gil() -> tuple[Callable[[int, bytes, int], int], Callable[..., int]] | None:
    """The C library's ``write`` and ``read``, called without releasing the GIL.

    ``os.write`` releases the GIL around the system call; waking the other thread that
    way hands the GIL to it right away (it has just been woken and wants it), and the
    writer then waits for it back in the middle of its own work (up to the interpreter's
    switch interval). A write of one byte to a non-blocking pipe, or a read of a
    non-blocking pipe, never blocks, so it can keep the GIL. ``None`` where the C
    library's symbols are not available.
    """
    try:
        libc = ctypes.PyDLL(None)
        write, read = libc.write, libc.read
    except (AttributeError, OSError, TypeError):  # pragma: no cover - no libc symbols
        return None
    write.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_size_t)
    write.restype = ctypes.c_ssize_t
    read.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
    read.restype = ctypes.c_ssize_t
    return write, read


_LIBC: Final = _libc_holding_gil()


def _pipe() -> tuple[int, int]:
    read_end, write_end = os.pipe()
    os.set_blocking(read_end, False)
    os.set_blocking(write_end, False)
    return read_end, write_end


class Waitable(Protocol):
    """What a task waits on: the task sets ``waiter``, the loop side clears it on waking."""

    waiter: Any


class Poller:
    """An epoll set (or a ``selectors`` fallback) of libcurl's sockets, and two pipes.

    ``wake`` (from the loop's thread) makes the driver thread's ``wait`` return early.
    ``notify`` (from the driver thread) makes ``notify_fd`` readable for the event loop,
    where ``take_notice`` empties it. Both write and read without releasing the GIL where
    the C library allows it (``holds_gil``).
    """

    __slots__ = (
        "_buffer",
        "_epoll",
        "_notify_r",
        "_notify_w",
        "_selector",
        "_wake_r",
        "_wake_w",
        "holds_gil",
        "notify",
        "notify_fd",
        "wake",
        "wake_fd",
    )

    IN: Final = 1
    OUT: Final = 4

    def __init__(self) -> None:
        self._epoll: Any = None
        self._selector: selectors.BaseSelector | None = None
        if hasattr(select, "epoll"):
            self._epoll = select.epoll()
        else:  # pragma: no cover - non-Linux
            self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = _pipe()
        self._notify_r, self._notify_w = _pipe()
        self.wake_fd = self._wake_r
        self.notify_fd = self._notify_r
        self.watch(self._wake_r, self.IN)
        self._buffer = ctypes.create_string_buffer(4096)
        self.holds_gil = _LIBC is not None
        if _LIBC is not None:
            write = _LIBC[0]
            self.wake: Callable[[], Any] = functools.partial(write, self._wake_w, b"\0", 1)
            self.notify: Callable[[], Any] = functools.partial(write, self._notify_w, b"\0", 1)
        else:  # pragma: no cover - no libc symbols
            self.wake = functools.partial(self._write_os, self._wake_w)
            self.notify = functools.partial(self._write_os, self._notify_w)

    def wait(self, timeout: float | None) -> list[tuple[int, int]]:
        """Wait up to ``timeout`` seconds (``None``: no limit) for events.

        Returns:
            ``(fd, mask)`` pairs, ``mask`` in epoll's bits (``IN``, ``OUT``, error, hang-up).
        """
        epoll = self._epoll
        if epoll is not None:
            return epoll.poll(-1 if timeout is None else timeout, _MAX_EVENTS)  # type: ignore[no-any-return]
        return self._wait_selector(timeout)  # pragma: no cover - non-Linux

    def _wait_selector(self, timeout: float | None) -> list[tuple[int, int]]:  # pragma: no cover
        assert self._selector is not None
        out = []
        for key, mask in self._selector.select(timeout):
            out.append(
                (
                    int(key.fd),
                    (1 if mask & selectors.EVENT_READ else 0)
                    | (4 if mask & selectors.EVENT_WRITE else 0),
                )
            )
        return out

    @staticmethod
    def _write_os(fd: int) -> None:  # pragma: no cover - no libc symbols
        # A full pipe (not drained yet) is as good as a written byte.
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(fd, b"\0")

    def _empty(self, fd: int) -> None:
        if _LIBC is not None:
            read, buffer = _LIBC[1], self._buffer
            while read(fd, buffer, 4096) == 4096:
                pass
            return
        with contextlib.suppress(BlockingIOError, OSError):  # pragma: no cover - no libc
            while len(os.read(fd, 4096)) == 4096:
                pass

    def drain(self) -> None:
        """Empty the wake-up pipe (on the driver thread, after a wake-up)."""
        self._empty(self._wake_r)

    def take_notice(self) -> None:
        """Empty the notice pipe (on the loop's thread, before delivering)."""
        self._empty(self._notify_r)

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
        """Close the epoll set and the pipe."""
        if self._epoll is not None:
            self._epoll.close()
        elif self._selector is not None:  # pragma: no cover - non-Linux
            self._selector.close()
        for fd in (self._wake_r, self._wake_w, self._notify_r, self._notify_w):
            with contextlib.suppress(OSError):
                os.close(fd)


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

    def current(self) -> bool:
        """Whether this backend's loop is the one running in this thread."""
        raise NotImplementedError

    def post(self) -> None:
        """Have the driver's ``deliver`` run on the loop soon; callable from any thread.

        Raises:
            RuntimeError: The loop is closed or its run has finished.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Unregister from the loop (on the loop's thread; the loop may be closed)."""

    def waiter(self, item: Waitable) -> Awaitable[Any]:
        """Something the current task awaits until :meth:`wake` of ``item``."""
        raise NotImplementedError

    def wake(self, item: Waitable) -> None:
        """Wake the task waiting on ``item`` (on the loop's thread)."""
        raise NotImplementedError


class AsyncioBackend(Backend):
    """asyncio: a bare future per wait; the poller's notice pipe read with ``add_reader``.

    The driver thread's notice is a one-byte write that keeps the GIL, not
    ``call_soon_threadsafe`` (whose socket ``send`` releases it).
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, poller: Poller, deliver: Callable[[], None]
    ) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.create_future = loop.create_future
        self.poller: Poller | None = None
        self.deliver = deliver
        if poller.holds_gil:
            self.poller = poller
            loop.add_reader(poller.notify_fd, self._noticed)
            self.post = poller.notify  # type: ignore[method-assign]
        else:  # pragma: no cover - no libc symbols
            self.post = functools.partial(loop.call_soon_threadsafe, deliver)  # type: ignore[method-assign,assignment]

    def _noticed(self) -> None:
        poller = self.poller
        if poller is not None:
            poller.take_notice()
            self.deliver()

    def close(self) -> None:
        poller, self.poller = self.poller, None
        if poller is not None and not self.loop.is_closed():
            with contextlib.suppress(Exception):
                self.loop.remove_reader(poller.notify_fd)

    def current(self) -> bool:
        # Not asyncio.get_running_loop(): that makes a getpid() system call each time.
        # BaseEventLoop keeps the running thread's id in _thread_id (None when stopped).
        thread = getattr(self.loop, "_thread_id", _UNKNOWN)
        if thread is _UNKNOWN:
            return self.loop.is_running() and threading.get_ident() == self.thread
        return bool(thread == threading.get_ident())

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


class TrioBackend(Backend):
    """trio: the task is rescheduled directly; ``run_sync_soon`` from the driver thread."""

    def __init__(self, deliver: Callable[[], None]) -> None:
        import trio

        self.lowlevel = trio.lowlevel
        self.token = trio.lowlevel.current_trio_token()
        self.post = functools.partial(self.token.run_sync_soon, deliver)  # type: ignore[method-assign]

    def current(self) -> bool:
        try:
            return self.lowlevel.current_trio_token() is self.token
        except RuntimeError:
            return False

    def waiter(self, item: Waitable) -> Awaitable[Any]:
        lowlevel = self.lowlevel
        item.waiter = lowlevel.current_task()

        def abort(_: Any) -> Any:
            item.waiter = None
            return lowlevel.Abort.SUCCEEDED

        return lowlevel.wait_task_rescheduled(abort)  # type: ignore[no-any-return]

    def wake(self, item: Waitable) -> None:
        task = item.waiter
        if task is not None:
            item.waiter = None
            self.lowlevel.reschedule(task)


def make_backend(poller: Poller, deliver: Callable[[], None]) -> Backend:
    """The backend of the event loop running in this thread.

    Args:
        poller: The driver's poller (its notice pipe).
        deliver: What the driver thread has run on the loop when transfers changed.

    Raises:
        HttpClientError: No asyncio or trio loop is running.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        return AsyncioBackend(loop, poller, deliver)
    try:
        return TrioBackend(deliver)
    except (ImportError, RuntimeError):
        raise HttpClientError(
            "the curl engine runs on asyncio or trio; no event loop is running"
        ) from None
