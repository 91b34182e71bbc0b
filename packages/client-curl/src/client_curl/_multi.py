"""The event-loop driver: one ``CurlMulti`` per engine, run from asyncio or trio.

libcurl's socket and timer callbacks (``M_SOCKETFUNCTION``, ``M_TIMERFUNCTION``) tell the
driver what to watch; ``socket_action`` runs libcurl when something happens.

The sockets libcurl wants watched are registered in an epoll set of the driver's own
(``select.epoll``, or the platform's ``selectors`` fallback), and only that one descriptor
is registered with the event loop: on asyncio with ``loop.add_reader`` (a plain callback,
no task), on trio by a driver task started lazily as a system task. A libcurl socket costs
one C-level ``epoll_ctl`` when libcurl announces it, instead of the event loop's
Python-level reader bookkeeping; a socket libcurl stops watching (a connection going back
to the cache between two requests) stays registered until it shows activity or libcurl
wants it again, so a reused connection costs no system call to watch. Sockets libcurl
makes are reported by ``CURLOPT_SOCKOPTFUNCTION``, so a descriptor number reused by a new
socket is always registered anew.

libcurl's timer is kept as a deadline: an "expire now" (0 ms) is run right after the call
that asked for it, and a loop timer is armed only when the deadline moves earlier than the
one already armed, so the common request on a reused connection arms no timer at all.
Completions are read (``info_read``) only when ``socket_action`` reports fewer running
transfers than are added. A transfer's task waits on a bare asyncio future or a trio task
reschedule, set from the callbacks.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

import pycurl

from client_core.errors import HttpClientError
from client_curl._loop import CSELECT, WANT, AsyncioBackend, Backend, Poller, TrioBackend

if TYPE_CHECKING:
    from client_curl._options import Handle
    from client_curl._transfer import Transfer

__all__ = ["Driver"]

_SOCKET_TIMEOUT: Final = pycurl.SOCKET_TIMEOUT
_POLL_REMOVE: Final = pycurl.POLL_REMOVE
_MAX_IMMEDIATE: Final = 16
_WATCH_MIN_INTERVAL: Final = 0.01
_BLANK: Final = b"\r\n"
_MAX_FREE: Final = 256  # idle easy handles kept for reuse


class Driver:
    """Runs one ``CurlMulti`` from the current event loop.

    Args:
        setup_multi: Applies the engine's options to a new ``CurlMulti``.
        release: Takes an easy handle back once its transfer is over.
        free: The engine's list of idle handles (``release`` of a clean handle appends).
        on_idle: Called when the last transfer has left while the driver is closing.
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
        self._multi: pycurl.CurlMulti | None = None
        self._poller: Poller | None = None
        self._backend: Backend | None = None
        self._now: Callable[[], float] = _never
        self._wake: Callable[[Transfer], None] = _ignore
        self._want: dict[int, int] = {}
        self._kept: dict[int, int] = {}
        self._fresh: set[int] = set()
        self.active: dict[pycurl.Curl, Transfer] = {}
        self._due = False
        self._deadline: float | None = None
        self._service_soon = False
        self._multiplexed = 0  # transfers in flight that may share a connection
        self.waiting: set[Transfer] = set()
        self._watched: set[Transfer] = set()
        self._watch_at: float | None = None
        self.closing = False
        self.closed = False

    # -- binding to the running loop ----------------------------------------------------

    def bind(self) -> Backend:
        """Return the backend for the running event loop, binding to it when needed.

        Raises:
            HttpClientError: Transfers of another event loop are still in flight, or no
                asyncio or trio loop is running.
        """
        backend = self._backend
        if backend is not None and backend.current():
            return backend
        return self._rebind()

    def _rebind(self) -> Backend:
        if self.closed:
            raise HttpClientError("the curl engine is closed")
        if self.active:
            raise HttpClientError(
                "the curl engine has transfers in flight on another event loop; an engine "
                "serves one event loop at a time"
            )
        if self._backend is not None:
            with contextlib.suppress(Exception):  # the old loop may be gone
                self._backend.close()
            self._backend = None
        if self._multi is None:
            multi = pycurl.CurlMulti()
            multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
            multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
            self._setup_multi(multi)
            self._multi = multi
            self._poller = Poller()
        assert self._poller is not None
        fd = self._poller.fd
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is not None:
            backend: Backend = AsyncioBackend(self, loop, fd)
        else:
            try:
                backend = TrioBackend(self, fd)
            except (ImportError, RuntimeError):
                raise HttpClientError(
                    "the curl engine runs on asyncio or trio; no event loop is running"
                ) from None
        self._backend = backend
        self._now = backend.now
        self._wake = backend.wake
        self._service_soon = False
        return backend

    # -- libcurl callbacks (never raise, never call back into libcurl) --------------------

    def _on_socket(self, what: int, fd: int, multi: object, socketp: object) -> None:
        if what == _POLL_REMOVE:
            # Stays registered until it shows activity or libcurl wants it again.
            self._want.pop(fd, None)
            return
        mask = WANT[what]
        if self._want.get(fd) != mask:
            self._want[fd] = mask
            if self._kept.get(fd) == mask and fd not in self._fresh:
                return  # still registered from its previous use: no system call
            self._fresh.discard(fd)
            poller = self._poller
            if poller is not None:
                with contextlib.suppress(OSError, ValueError):
                    poller.watch(fd, mask)
                    self._kept[fd] = mask

    def new_socket(self, fd: int) -> None:
        """Libcurl made a socket (its number may be one closed since): register anew."""
        self._fresh.add(fd)

    def _on_timer(self, ms: int) -> None:
        if ms < 0:
            self._deadline = None
        elif ms == 0:
            self._due = True
            self._deadline = None
        else:
            self._deadline = self._now() + ms / 1000

    # -- driving ----------------------------------------------------------------------------

    def _action(self, fd: int, events: int) -> None:
        multi = self._multi
        assert multi is not None
        try:
            running = multi.socket_action(fd, events)[1]
        except pycurl.error:  # CURLM_BAD_SOCKET for a socket libcurl just closed
            running = -1
        if running < len(self.active):
            self._collect()

    def _collect(self) -> None:
        multi = self._multi
        assert multi is not None
        active = self.active
        free = self._free
        while True:
            queued, ok, failed = multi.info_read()
            for easy in ok:
                transfer = active.pop(easy, None)
                multi.remove_handle(easy)
                if transfer is not None:
                    # _end(transfer, 0, ""), inlined for the common case
                    if transfer.multiplexed:
                        self._multiplexed -= 1
                    transfer.done = True
                    self.waiting.discard(transfer)
                    if self._watched:
                        self._watched.discard(transfer)
                    handle = transfer.handle
                    if handle.dirty or len(free) >= _MAX_FREE:
                        self._release(handle)
                    else:
                        free.append(handle)
                    if transfer.waiter is not None:
                        self._wake(transfer)
            for easy, code, message in failed:
                transfer = active.pop(easy, None)
                multi.remove_handle(easy)
                if transfer is not None:
                    self._end(transfer, code, message)
            if not queued:
                break

    def _end(self, transfer: Transfer, code: int, message: str) -> None:
        """The transfer left the multi handle: record how, free its handle, wake its task."""
        if transfer.multiplexed:
            self._multiplexed -= 1
        transfer.code = code
        transfer.message = message
        transfer.done = True
        self.waiting.discard(transfer)
        if self._watched:
            self._watched.discard(transfer)
        self._release(transfer.handle)
        if transfer.waiter is not None:
            backend = self._backend
            if backend is not None:
                backend.wake(transfer)

    def _service(self) -> None:
        """After libcurl ran: wake tasks whose head has completed with no body yet."""
        self._service_soon = False
        waiting = self.waiting
        backend = self._backend
        if waiting and backend is not None:
            ready = [
                t
                for t in waiting
                if t.lines and t.lines[-1] == _BLANK and len(t.lines) != t.scanned
            ]
            for transfer in ready:
                waiting.discard(transfer)
                backend.wake(transfer)

    def _after(self, service: bool = True) -> None:
        """Run what libcurl asked for while we were in it; wake tasks; re-arm the timer."""
        if self._due:
            count = 0
            while self._due:
                if count == _MAX_IMMEDIATE:
                    backend = self._backend
                    if backend is not None:
                        backend.arm(self._now())
                    break
                self._due = False
                self._action(_SOCKET_TIMEOUT, 0)
                count += 1
        if service:
            self._service()
        elif (
            self._multiplexed
            and self.waiting
            and not self._service_soon
            and self._backend is not None
        ):
            # Running one transfer can bring another's head on a shared (HTTP/2 or
            # HTTP/3) connection: look once per loop iteration, not once per request.
            self._service_soon = True
            self._backend.soon(self._service_later)
        when = self._deadline
        watch_at = self._watch_at
        if watch_at is not None and (when is None or watch_at < when):
            when = watch_at
        if when is not None:
            backend = self._backend
            if backend is not None and when < backend.armed_at:
                backend.arm(when)
        if self.closing and not self.active:
            self._on_idle()

    def _service_later(self) -> None:
        if self._service_soon and self._multi is not None:
            self._after()

    def on_readable(self) -> None:
        """The poller has events: hand them to libcurl."""
        poller = self._poller
        multi = self._multi
        if poller is None or multi is None:
            return
        want = self._want
        active = self.active
        for fd, mask in poller.poll():
            if fd in want:
                try:
                    running = multi.socket_action(fd, CSELECT[mask & 31])[1]
                except pycurl.error:
                    running = -1
                if running < len(active):
                    self._collect()
            else:
                poller.forget(fd)  # an idle connection closed by the server, or stale
                self._kept.pop(fd, None)
        self._after()

    def on_timer(self) -> None:
        """The loop timer fired: run libcurl's timeout and the idle-socket watchdog."""
        if self._backend is None or self._multi is None:
            return
        now = self._now()
        deadline = self._deadline
        if deadline is not None and deadline <= now + 0.0005:
            self._deadline = None
            self._action(_SOCKET_TIMEOUT, 0)
        watch_at = self._watch_at
        if watch_at is not None and watch_at <= now + 0.0005:
            self._check_idle(now)
        self._after()

    # -- transfers ---------------------------------------------------------------------

    def start(self, transfer: Transfer) -> None:
        """Add ``transfer`` to the multi handle and run it as far as it goes now."""
        multi = self._multi
        assert multi is not None
        assert not self.closed
        easy = transfer.handle.easy
        multi.add_handle(easy)
        self.active[easy] = transfer
        if transfer.multiplexed:
            self._multiplexed += 1
        if transfer.socket_timeout is not None:
            self._watch(transfer)
        self._due = False
        try:
            running = multi.socket_action(_SOCKET_TIMEOUT, 0)[1]
        except pycurl.error:
            running = -1
        if running < len(self.active):
            self._collect()
        self._after(service=False)

    def abort(self, transfer: Transfer) -> None:
        """Take ``transfer`` out of the multi handle now (its connection is dropped)."""
        easy = transfer.handle.easy
        if self.active.get(easy) is transfer:
            del self.active[easy]
            multi = self._multi
            assert multi is not None
            multi.remove_handle(easy)
            self._end(transfer, 0, "")
            self._after()

    def pause(self, transfer: Transfer, bitmask: int) -> None:
        """Set the pause state of ``transfer`` (``PAUSE_CONT`` resumes both directions)."""
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
            self._after()

    # -- socket timeouts ----------------------------------------------------------------

    def _watch(self, transfer: Transfer) -> None:
        timeout = transfer.socket_timeout
        assert timeout is not None
        now = self._now()
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
                transfer.fail_idle()
                continue
            at = now + max(timeout / 4, _WATCH_MIN_INTERVAL)
            if next_at is None or at < next_at:
                next_at = at
        self._watch_at = next_at

    # -- closing ----------------------------------------------------------------------------

    @property
    def is_idle(self) -> bool:
        """True when no transfer is in flight."""
        return not self.active

    def close(self) -> None:
        """Free the multi handle, the poller and the loop registration. Idempotent.

        Transfers still in flight must have been ended first.
        """
        self.closed = True
        self.closing = False
        backend, self._backend = self._backend, None
        if backend is not None:
            with contextlib.suppress(Exception):  # the loop may be gone
                backend.close()
        multi, self._multi = self._multi, None
        if multi is not None:
            for easy in list(self.active):
                multi.remove_handle(easy)
        self.active.clear()
        self._multiplexed = 0
        self.waiting.clear()
        self._watched.clear()
        if multi is not None:
            multi.close()
        poller, self._poller = self._poller, None
        if poller is not None:
            poller.close()
        self._want.clear()
        self._kept.clear()
        self._fresh.clear()


def _never() -> float:  # pragma: no cover - replaced when bound
    return math.inf


def _ignore(transfer: Transfer) -> None:  # pragma: no cover - replaced when bound
    pass
