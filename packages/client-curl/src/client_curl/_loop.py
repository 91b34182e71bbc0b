"""How the driver thread meets the event loop on asyncio and trio.

The event loop side is a :class:`Backend`: how a task waits on a transfer (a bare
asyncio future, or a trio task reschedule), how it is woken, and how the driver thread
has the loop run its delivery (a one-byte write to a :class:`Notice` pipe the asyncio
loop reads, or trio's ``run_sync_soon``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Final, Protocol

from client_core.errors import HttpClientError

__all__ = ["AsyncioBackend", "Backend", "Notice", "TrioBackend", "TrioNoticeBackend", "Waitable"]

_UNKNOWN: Final = object()


def _libc_holding_gil() -> tuple[Callable[[int, bytes, int], int], Callable[..., int]] | None:
    """The C library's ``write`` and ``read``, called without releasing the GIL.

    ``os.write`` releases the GIL around the system call; waking the event loop's thread
    that way may hand the GIL to it right away (it has just been woken and wants it), and
    the writer then waits for it back in the middle of its own work (up to the
    interpreter's switch interval). A write of one byte to a non-blocking pipe, or a read
    of a non-blocking pipe, never blocks, so it can keep the GIL. ``None`` where the C
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


class Notice:
    """A pipe the driver thread writes one byte to when it has handed transfers over.

    The asyncio loop reads its ``notify_fd``; ``take_notice`` empties it. Writes and reads
    keep the GIL where the C library allows it (``holds_gil``).
    """

    __slots__ = (
        "_buffer",
        "_notify_r",
        "_notify_w",
        "holds_gil",
        "notify",
        "notify_fd",
        "write_fd",
    )

    def __init__(self) -> None:
        self._notify_r, self._notify_w = _pipe()
        self.notify_fd = self._notify_r
        self.write_fd = self._notify_w
        self._buffer = ctypes.create_string_buffer(4096)
        self.holds_gil = _LIBC is not None
        if _LIBC is not None:
            write = _LIBC[0]
            self.notify: Callable[[], Any] = functools.partial(write, self._notify_w, b"\0", 1)
        else:  # pragma: no cover - no libc symbols
            self.notify = functools.partial(self._write_os, self._notify_w)

    @staticmethod
    def _write_os(fd: int) -> None:  # pragma: no cover - no libc symbols
        # A full pipe (not drained yet) is as good as a written byte.
        with contextlib.suppress(BlockingIOError, OSError):
            os.write(fd, b"\0")

    def take_notice(self) -> None:
        """Empty the pipe (on the loop's thread, before delivering)."""
        fd = self._notify_r
        if _LIBC is not None:
            read, buffer = _LIBC[1], self._buffer
            while read(fd, buffer, 4096) == 4096:
                pass
            return
        with contextlib.suppress(BlockingIOError, OSError):  # pragma: no cover - no libc
            while len(os.read(fd, 4096)) == 4096:
                pass

    def close(self) -> None:
        """Close the pipe."""
        for fd in (self._notify_r, self._notify_w):
            with contextlib.suppress(OSError):
                os.close(fd)


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
    """asyncio: a bare future per wait; the notice pipe read with ``add_reader``.

    The driver thread's notice is a one-byte write that keeps the GIL, not
    ``call_soon_threadsafe`` (whose socket ``send`` releases it).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        notice: Notice,
        deliver: Callable[[], None],
        reads_notice: bool = False,
    ) -> None:
        self.loop = loop
        self.thread = threading.get_ident()
        self.create_future = loop.create_future
        self.notice: Notice | None = None
        self.deliver = deliver
        if notice.holds_gil or reads_notice:
            self.notice = notice
            loop.add_reader(notice.notify_fd, self._noticed)
            self.post = notice.notify  # type: ignore[method-assign]
        else:  # pragma: no cover - no libc symbols
            self.post = functools.partial(loop.call_soon_threadsafe, deliver)  # type: ignore[method-assign,assignment]

    def _noticed(self) -> None:
        notice = self.notice
        if notice is not None:
            notice.take_notice()
            self.deliver()

    def close(self) -> None:
        notice, self.notice = self.notice, None
        if notice is not None and not self.loop.is_closed():
            with contextlib.suppress(Exception):
                self.loop.remove_reader(notice.notify_fd)

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
        self.deliver = deliver
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


class TrioNoticeBackend(TrioBackend):
    """trio, for a driver thread that writes to the notice pipe (the C driver).

    A system task waits for the pipe to be readable, then runs the delivery.
    """

    def __init__(self, notice: Notice, deliver: Callable[[], None]) -> None:
        super().__init__(deliver)
        import trio

        self.notice: Notice | None = notice
        self.scope = trio.CancelScope()
        self.lowlevel.spawn_system_task(self._read, name="client_curl notices")

    async def _read(self) -> None:
        import trio

        notice = self.notice
        if notice is None:
            return
        wait_readable = self.lowlevel.wait_readable
        fd = notice.notify_fd
        deliver = self.deliver
        with self.scope:
            while self.notice is not None:
                try:
                    await wait_readable(fd)
                except (trio.ClosedResourceError, OSError):
                    return
                notice.take_notice()
                deliver()

    def close(self) -> None:
        notice, self.notice = self.notice, None
        if self.current():
            self.scope.cancel()
            if notice is not None:
                # The pipe is closed next: take it out of trio's hands first.
                with contextlib.suppress(Exception):
                    self.lowlevel.notify_closing(notice.notify_fd)
        else:  # from another thread, or once the run is over (then nothing waits)
            with contextlib.suppress(Exception):
                self.token.run_sync_soon(self.scope.cancel)


def make_backend(
    notice: Notice, deliver: Callable[[], None], reads_notice: bool = False
) -> Backend:
    """The backend of the event loop running in this thread.

    Args:
        notice: The driver's notice pipe.
        deliver: What the driver thread has run on the loop when transfers changed.
        reads_notice: The driver thread only writes to the notice pipe (on trio too).

    Raises:
        HttpClientError: No asyncio or trio loop is running.
    """
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        return AsyncioBackend(loop, notice, deliver, reads_notice)
    try:
        if reads_notice:
            return TrioNoticeBackend(notice, deliver)
        return TrioBackend(deliver)
    except (ImportError, RuntimeError):
        raise HttpClientError(
            "the curl engine runs on asyncio or trio; no event loop is running"
        ) from None
