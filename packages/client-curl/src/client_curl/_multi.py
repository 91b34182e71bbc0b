"""The driver: one ``CurlMulti`` per engine, run by a thread of its own.

Every libcurl call on the multi handle and on the easy handles in it is made by the
driver thread, so libcurl's own work (building and sending requests, receiving, the
kernel's loopback path under ``send`` and ``recv``) runs outside the event loop's thread,
with the GIL released. The event loop's side is small: it sets a handle's options, queues
a command (start, abort, pause, swap the body sink) and wakes the thread only when it
sleeps; the thread queues the transfers that changed (a piece of body, a complete head,
the end) and hands them to the loop in batches: one notice per batch, not per transfer
(a one-byte pipe write read by the asyncio loop, or trio's ``run_sync_soon``).

The thread runs libcurl's own loop, ``curl_multi_perform`` then ``curl_multi_poll``
(which waits on libcurl's sockets and timeouts, and is ended early by
``curl_multi_wakeup`` from the loop's thread), rather than the socket-action interface:
that interface calls back into Python whenever libcurl's interest in a socket changes,
about twice per request, and every call into Python from this thread takes the GIL from
the event loop's thread. With header lines written by C (see ``_native``), the only calls
into Python during a small request are its one write callback, and the socket callback
when a new connection is made. A finished transfer is read (``info_read``) only when
``perform`` reports fewer running transfers than were added.

A transfer whose head arrives with no body (a stream that waits before its first byte)
is found by a look at the header lines of the transfers with no body yet: after every
round while there are few of them, otherwise every few milliseconds while sockets show
activity, and then only at those that have been waiting since the previous look.

Shared state follows one rule: each field has one writer (the loop's thread or the
driver thread), and whoever changes something the other side waits for queues the
transfer afterwards, so a wake-up is never lost.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import pycurl

from client_core.errors import HttpClientError
from client_curl._loop import Backend, Notice, make_backend
from client_curl._native import BodyStream, NativeError, native

if TYPE_CHECKING:
    from client_curl._options import Handle
    from client_curl._transfer import Transfer

__all__ = ["Driver"]

_WATCH_MIN_INTERVAL: Final = 0.01
_HEAD_SCAN_INTERVAL: Final = 0.004  # how often heads with no body yet are looked for
_FEW_HEADING: Final = 8  # ... or after every round, when no more are waiting for a body
_LARGE_HEAD: Final = 64 * 1024  # a head store that grew past this starts over, small
_LONG_WAIT_MS: Final = 60_000  # a sleep with nothing due (wake-ups end it)
_BLANK: Final = b"\r\n"
_MAX_FREE: Final = 256  # idle easy handles kept for reuse
_JOIN_TIMEOUT: Final = 10.0

_DRIVERS: Final[weakref.WeakSet[Driver]] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # The driver threads did not survive the fork, and libcurl's handles and sockets are
    # the parent's: an engine made before the fork refuses work in the child.
    for driver in list(_DRIVERS):
        driver.forked = True
        driver.backend = None  # the next request rebinds, which refuses


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _no_wakeup(pointer: int) -> int:
    return 0


# Commands from the loop's thread to the driver thread.
_START: Final = 0
_ABORT: Final = 1
_PAUSE: Final = 2
_SINK: Final = 3
_STOP: Final = 4


class Driver:
    """Runs one ``CurlMulti`` on a thread of its own, for one event loop at a time.

    Args:
        setup_multi: Applies the engine's options to a new ``CurlMulti``.
        release: Takes an easy handle back once its transfer is over (called by the
            driver thread, and by the loop's thread for a handle never started).
        free: The engine's list of idle handles (``release`` of a clean handle appends).
        on_idle: Called on the loop's thread when the last transfer has ended while the
            driver is closing.
    """

    def __init__(
        self,
        setup_multi: Callable[[pycurl.CurlMulti], None],
        release: Callable[[Handle], None],
        free: list[Handle],
        on_idle: Callable[[], None],
    ) -> None:
        self._setup_multi = setup_multi
        self._release = release
        self._free = free
        self._on_idle = on_idle
        self.backend: Backend | None = None  # bound last: check current() before use
        self._thread: threading.Thread | None = None
        self._multi: pycurl.CurlMulti | None = None
        self._multi_pointer = 0  # its CURLM *, for curl_multi_poll and curl_multi_wakeup
        self._wakeup: Callable[[int], int] = _no_wakeup
        self._notice: Notice | None = None
        # loop's thread -> driver thread
        self._commands: deque[tuple[int, Any, Any]] = deque()
        self._sleeping = False
        # driver thread -> loop's thread
        self.outbox: list[Transfer] = []  # changed transfers, this round of the thread
        self._pending: deque[Transfer] = deque()
        self._posted = False
        # loop's thread only
        self.transfers: set[Transfer] = set()  # started, their end not yet delivered
        self.closing = False
        self.closed = False
        self.forked = False
        self.failure: str | None = None  # why the driver thread died, if it did
        # driver thread only
        self.active: dict[pycurl.Curl, Transfer] = {}
        self._heading: set[Transfer] = set()  # no body piece seen, since the last look
        self._heading_new: set[Transfer] = set()  # ... started since the last look
        self._scan_at = 0.0  # the earliest time for the next look at heads
        self._watched: set[Transfer] = set()
        self._watch_at: float | None = None
        self._acted = False  # sockets or commands moved since the last look at heads

    # -- the loop's side -----------------------------------------------------------------

    def bind(self) -> Backend:
        """Return the backend for the running event loop, binding to it when needed.

        Raises:
            HttpClientError: Transfers of another event loop are still in flight, the
                engine is closed, or no asyncio or trio loop is running.
        """
        backend = self.backend
        if backend is not None and backend.current():
            return backend
        return self._rebind()

    def _rebind(self) -> Backend:
        if self.failure is not None:
            raise HttpClientError(self.failure)
        if self.forked:
            raise HttpClientError(
                "this curl engine was created before os.fork(): its driver thread and "
                "connections belong to the parent process; create a new engine in the child"
            )
        if self.closed:
            raise HttpClientError("the curl engine is closed")
        if not self.is_idle:
            raise HttpClientError(
                "the curl engine has transfers in flight on another event loop; an engine "
                "serves one event loop at a time"
            )
        if self._notice is None:
            self._notice = Notice()
        backend = make_backend(self._notice, self.deliver, self.reads_notice)
        old, self.backend = self.backend, backend
        if old is not None:
            old.close()
        if self._thread is None:
            multi = pycurl.CurlMulti()
            self._setup_multi(multi)
            self._multi = multi
            lib = native()
            self._multi_pointer = lib.multi_pointer(multi)
            self._wakeup = lib.wakeup
            self._prepare()
            thread = threading.Thread(target=self._run, name="client_curl driver", daemon=True)
            self._thread = thread
            _DRIVERS.add(self)
            thread.start()
        return backend

    # Whether the loop reads the notice pipe on trio too (the C driver's thread has no
    # GIL to call trio's run_sync_soon with).
    reads_notice = False

    def _prepare(self) -> None:
        """Just before the thread starts (the multi handle is made)."""

    def _command(self, op: int, transfer: Any, arg: Any = None) -> None:
        self._commands.append((op, transfer, arg))
        if self._sleeping:
            self._sleeping = False
            pointer = self._multi_pointer
            if pointer:
                self._wakeup(pointer)

    def start(self, transfer: Transfer) -> None:
        """Hand ``transfer`` (its options set) to the driver thread to run.

        Raises:
            HttpClientError: The driver thread has died (a bug; the engine is unusable).
        """
        if self.failure is not None:
            raise HttpClientError(self.failure)
        self.transfers.add(transfer)
        self._command(_START, transfer)

    def abort(self, transfer: Transfer) -> None:
        """End ``transfer`` now, dropping its connection (cancellation, early close)."""
        self._command(_ABORT, transfer)

    def pause(self, transfer: Transfer, bitmask: int) -> None:
        """Set the pause state of ``transfer`` (``PAUSE_CONT`` resumes both directions)."""
        self._command(_PAUSE, transfer, bitmask)

    def sink(self, transfer: Transfer) -> None:
        """Have libcurl write the rest of the body of ``transfer`` in C, into a stream.

        The stream's content is added to ``transfer.chunks`` before the transfer is
        marked done.
        """
        self._command(_SINK, transfer)

    def read_whole(self, transfer: Transfer, limit: int | None) -> None:
        """The task reads the rest of the body at once (``limit``: fail past it)."""
        if limit is None:
            self.sink(transfer)

    def held(self, transfer: Transfer) -> tuple[bool, int]:
        """Whether receiving is paused, and the body bytes held in memory (for tests)."""
        return transfer.recv_paused, sum(map(len, transfer.chunks))

    def in_flight(self) -> int:
        """How many transfers are in the multi handle now (for tests)."""
        return len(self.active)

    def pull(self, transfer: Transfer) -> None:
        """Move body bytes that arrived into ``transfer.chunks`` (they are there already)."""

    def deliver(self) -> None:
        """On the loop's thread: wake the tasks of the transfers the thread handed over."""
        self._posted = False  # first: what the thread queues from now on is posted again
        pending = self._pending
        backend = self.backend
        transfers = self.transfers
        while pending:
            transfer = pending.popleft()
            transfer.notified = False
            if transfer.done:
                transfers.discard(transfer)
            if transfer.waiter is not None and backend is not None:
                backend.wake(transfer)
        if self.closing and not transfers:
            self._on_idle()

    def finished(self, transfer: Transfer) -> None:
        """On the loop's thread: the task has seen ``transfer`` end (before its delivery)."""
        transfers = self.transfers
        transfers.discard(transfer)
        if self.closing and not transfers:
            self._on_idle()

    @property
    def is_idle(self) -> bool:
        """True when no transfer is in flight (its end may not be delivered yet)."""
        transfers = self.transfers
        if transfers:
            for transfer in [t for t in transfers if t.done]:
                transfers.discard(transfer)
        return not transfers

    def close(self) -> None:
        """Stop the thread and free the multi handle and the notice pipe. Idempotent.

        Transfers still in flight are ended (their tasks, if any, see the engine closed).
        """
        self.closed = True
        self.closing = False
        thread, self._thread = self._thread, None
        if thread is not None:
            self._command(_STOP, None)
            if thread is not threading.current_thread():
                thread.join(_JOIN_TIMEOUT)
            if not thread.is_alive():
                # Freed here, not by the thread: the loop's thread wakes it through the
                # pointer, which must stay valid until nothing can call that any more.
                self._free_multi()
            # What the thread ended last may still be on its way to the loop: wake those
            # tasks now, before the notice pipe goes.
            with contextlib.suppress(Exception):  # outside the loop (trio: no reschedule)
                self.deliver()
        self._leave_loop()

    def _free_multi(self) -> None:
        """Free the multi handle (once the thread is gone)."""
        self._multi_pointer = 0
        multi, self._multi = self._multi, None
        if multi is not None:
            with contextlib.suppress(Exception):
                multi.close()

    def _leave_loop(self) -> None:
        """Unregister from the event loop and close the notice pipe."""
        backend, self.backend = self.backend, None
        if backend is not None:
            backend.close()
        notice, self._notice = self._notice, None
        if notice is not None:
            notice.close()

    # -- the driver thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # a bug: fail what is in flight, refuse the rest
            self._crash(exc)

    def _loop(self) -> None:
        multi = self._multi
        assert multi is not None
        pointer = self._multi_pointer
        poll = native().poll
        perform = multi.perform
        commands = self._commands
        active = self.active
        ready = ctypes.c_int()
        ready_ref = ctypes.byref(ready)
        while True:
            if commands:
                self._acted = True
            while commands:
                op, transfer, arg = commands.popleft()
                if op == _START:
                    self._add(transfer)
                elif op == _ABORT:
                    self._abort(transfer)
                elif op == _PAUSE:
                    self._pause(transfer, arg)
                elif op == _SINK:
                    self._sink(transfer)
                else:
                    self._stop()
                    return
            try:
                running = perform()[1]
            except pycurl.error:
                running = -1
            if running < len(active):
                self._collect()
            self._after()
            self._sleeping = True
            if commands:
                self._sleeping = False
                continue
            code = poll(pointer, None, 0, self._timeout(), ready_ref)  # releases the GIL
            if code:  # it returns at once from now on: fail rather than spin
                raise RuntimeError(f"curl_multi_poll failed with CURLMcode {code}")
            self._sleeping = False
            if ready.value:
                self._acted = True

    def _sink(self, transfer: Transfer) -> None:
        easy = transfer.handle.easy
        if transfer.stream is None and self.active.get(easy) is transfer:
            # What arrived before goes first, so the whole body ends up in one buffer
            # (its reader waits for the end meanwhile and takes nothing from chunks).
            # Out of memory: the body goes on through the write callback.
            chunks = transfer.chunks
            try:
                stream = BodyStream(native())
            except MemoryError:
                return
            try:
                for piece in chunks:
                    stream.write(piece if type(piece) is bytes else bytes(piece))
                stream.attach(easy)
            except (MemoryError, NativeError):
                easy.setopt(pycurl.WRITEFUNCTION, transfer.on_write)  # pycurl's data too
                stream.close()
                return
            chunks.clear()
            transfer.stream = stream

    def _timeout(self) -> int:
        """Milliseconds to sleep at most: the watchdog's and the head look's next turn.

        libcurl's own timeouts cut the sleep shorter inside ``curl_multi_poll``.
        """
        timeout = None
        watch_at = self._watch_at
        if watch_at is not None:
            timeout = watch_at
        if self._acted and (self._heading or self._heading_new):
            scan_at = self._scan_at
            if timeout is None or scan_at < timeout:
                timeout = scan_at
        if timeout is None:
            return _LONG_WAIT_MS
        return max(0, min(_LONG_WAIT_MS, int((timeout - time.monotonic()) * 1000) + 1))

    def _after(self) -> None:
        """After a round: the idle watchdog, heads with no body, then hand over."""
        watch_at = self._watch_at
        if watch_at is not None or self._acted:
            now = time.monotonic()
            if watch_at is not None and watch_at <= now + 0.0005:
                self._check_idle(now)
            if self._acted:
                few = len(self._heading) + len(self._heading_new) <= _FEW_HEADING
                if few or now >= self._scan_at:
                    self._acted = False
                    self._scan_at = now + _HEAD_SCAN_INTERVAL
                    self._scan_heads(few)
        outbox = self.outbox
        if outbox:
            self._pending.extend(outbox)
            outbox.clear()
            if not self._posted:
                self._posted = True
                backend = self.backend
                try:
                    if backend is None:
                        raise RuntimeError("unbound")
                    backend.post()
                except Exception:  # the loop is gone: nobody waits any more
                    self._pending.clear()
                    self._posted = False

    def _scan_heads(self, few: bool) -> None:
        """Hand over transfers whose head is complete with no body yet.

        With many in flight, only transfers started before the previous look are read:
        most small requests end before that, and then their head is read once, at the
        end. With ``few``, all of them are (at once, so a stream's head is not delayed).
        """
        heading = self._heading
        fresh = self._heading_new
        if few and fresh:
            heading |= fresh
            fresh.clear()
        outbox = self.outbox
        for transfer in list(heading):
            if transfer.arrived or transfer.done:
                heading.discard(transfer)
                continue
            if transfer.load_head():
                lines = transfer.lines
                if lines and lines[-1] == _BLANK and not transfer.notified:
                    transfer.notified = True
                    outbox.append(transfer)
        if fresh:
            heading |= fresh
            fresh.clear()
            self._acted = True  # their heads may be in already: look again next turn

    def _add(self, transfer: Transfer) -> bool:
        """Add ``transfer`` to the multi handle; ``False`` when refused (it has ended)."""
        multi = self._multi
        assert multi is not None
        easy = transfer.handle.easy
        try:
            multi.add_handle(easy)
        except pycurl.error as exc:  # the multi handle refused it (out of memory ...)
            request = transfer.request
            transfer.error = HttpClientError(
                f"{request.method} {request.url.redacted()}: libcurl could not start the "
                f"transfer: {exc.args[-1]}"
            )
            transfer.handle.dirty = True
            self._end(transfer, 0, "", release=True)
            return False
        self.active[easy] = transfer
        self._heading_new.add(transfer)
        if transfer.socket_timeout is not None:
            self._watch(transfer)
        return True

    def _collect(self) -> None:
        multi = self._multi
        assert multi is not None
        active = self.active
        free = self._free
        outbox = self.outbox
        heading = self._heading
        heading_new = self._heading_new
        while True:
            queued, ok, failed = multi.info_read()
            for easy in ok:
                transfer = active.pop(easy, None)
                multi.remove_handle(easy)
                if transfer is not None:
                    # _end(transfer, 0, ""), inlined for the common case. Everything the
                    # reader takes (body, head, trailers) is in place before "done".
                    stream = transfer.stream
                    if stream is not None:  # the body written in C
                        transfer.stream = None
                        transfer.chunks.append(stream.read())
                    handle = transfer.handle
                    store = handle.headers
                    assert store is not None
                    size = store.size()
                    if size != transfer.header_bytes:  # the rest of the head, or trailers
                        transfer.header_bytes = size
                        transfer.lines = store.take(size).splitlines(True)
                    transfer.done = True
                    if size > _LARGE_HEAD:
                        self._renew(handle)
                    else:
                        store.rewind()
                    if heading:
                        heading.discard(transfer)
                    if heading_new:
                        heading_new.discard(transfer)
                    if self._watched:
                        self._watched.discard(transfer)
                    if handle.dirty or len(free) >= _MAX_FREE:
                        self._release(handle)
                    else:
                        free.append(handle)
                    if not transfer.notified:
                        transfer.notified = True
                        outbox.append(transfer)
            for easy, code, message in failed:
                transfer = active.pop(easy, None)
                multi.remove_handle(easy)
                if transfer is not None:
                    self._end(transfer, code, message)
            if not queued:
                break

    def _end(self, transfer: Transfer, code: int, message: str, release: bool = True) -> None:
        """The transfer left the multi handle: record how, free its handle, hand it over."""
        transfer.code = code
        transfer.message = message
        stream = transfer.stream
        if stream is not None:  # ended early: its body is not wanted
            transfer.stream = None
            stream.close()
        handle = transfer.handle
        with contextlib.suppress(Exception):  # a closed handle has no head to read
            transfer.load_head()
            if transfer.header_bytes > _LARGE_HEAD:
                self._renew(handle)
            elif handle.headers is not None:
                handle.headers.rewind()
        transfer.done = True
        self._heading.discard(transfer)
        self._heading_new.discard(transfer)
        if self._watched:
            self._watched.discard(transfer)
        if release:
            self._release(handle)
        if not transfer.notified:
            transfer.notified = True
            self.outbox.append(transfer)

    @staticmethod
    def _renew(handle: Handle) -> None:
        """Give a handle's header store a small buffer again (the large one, if no memory)."""
        store = handle.headers
        assert store is not None
        try:
            store.renew(handle.easy)
        except (MemoryError, NativeError):  # the large one stays, still attached
            store.rewind()

    def _abort(self, transfer: Transfer) -> None:
        easy = transfer.handle.easy
        if self.active.get(easy) is transfer:
            del self.active[easy]
            multi = self._multi
            assert multi is not None
            multi.remove_handle(easy)
            self._end(transfer, 0, "")

    def fail(self, transfer: Transfer, error: BaseException) -> None:
        """On the driver thread: end ``transfer`` now with ``error``."""
        if not transfer.done:
            transfer.error = error
            self._abort(transfer)

    def _pause(self, transfer: Transfer, bitmask: int) -> None:
        easy = transfer.handle.easy
        if self.active.get(easy) is transfer:
            try:
                easy.pause(bitmask)  # may deliver held data through the write callback
            except pycurl.error as exc:  # ... which refused it (a body limit): it ended
                del self.active[easy]
                multi = self._multi
                assert multi is not None
                multi.remove_handle(easy)
                code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else 23
                self._end(transfer, code, str(exc.args[-1]) if exc.args else "")
            self._acted = True

    # -- socket timeouts (driver thread) -------------------------------------------------

    def _watch(self, transfer: Transfer) -> None:
        timeout = transfer.socket_timeout
        assert timeout is not None
        now = time.monotonic()
        transfer.idle_since = now
        transfer.progress = -1
        self._watched.add(transfer)
        at = now + max(timeout / 4, _WATCH_MIN_INTERVAL)
        if self._watch_at is None or at < self._watch_at:
            self._watch_at = at

    def _check_idle(self, now: float) -> None:
        next_at: float | None = None
        for transfer in list(self._watched):
            timeout = transfer.socket_timeout
            assert timeout is not None
            progress = transfer.progress_mark()
            if progress is None or progress != transfer.progress:
                transfer.progress = progress
                transfer.idle_since = now
            elif now - transfer.idle_since >= timeout - 0.0005:
                self._watched.discard(transfer)
                self.fail(transfer, transfer.idle_error())
                continue
            at = now + max(timeout / 4, _WATCH_MIN_INTERVAL)
            if next_at is None or at < next_at:
                next_at = at
        self._watch_at = next_at

    # -- stopping (driver thread) ----------------------------------------------------------

    def _stop(self) -> None:
        """End what is still in flight and hand it over (``close`` frees the multi)."""
        multi = self._multi
        self._acted = False
        self._watch_at = None
        for transfer in list(self.active.values()):
            if transfer.error is None:
                transfer.error = transfer.closed_error()
        if multi is not None:
            for easy, transfer in list(self.active.items()):
                multi.remove_handle(easy)
                self._end(transfer, 0, "", release=False)
                transfer.handle.close()
        self.active.clear()
        self._heading.clear()
        self._heading_new.clear()
        self._watched.clear()
        self._after()

    def _crash(self, exc: BaseException) -> None:
        """The driver thread failed: end what is in flight, refuse what comes next."""
        message = f"the curl engine's driver thread failed: {type(exc).__name__}: {exc}"
        self.failure = message
        multi = self._multi  # freed by close(), which the loop's thread may wake through
        for easy, transfer in list(self.active.items()):
            transfer.error = HttpClientError(message)
            self._end(transfer, 0, "", release=False)
            with contextlib.suppress(Exception):  # drop its connection: nothing drives it
                if multi is not None:
                    multi.remove_handle(easy)
                transfer.handle.close()
        self.active.clear()
        self._pending.extend(self.outbox)
        self.outbox.clear()
        backend = self.backend
        if backend is not None:
            with contextlib.suppress(Exception):
                backend.post()
