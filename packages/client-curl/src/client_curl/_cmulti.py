"""The driver with its loop in C (``client_curl._cdriver``), the default where built.

The driver written in Python (:class:`~client_curl._multi.Driver`) needs the GIL in
every round of its thread: to add the transfers started, to read the finished ones and
to hand them over. The event loop's thread holds the GIL while it runs a batch of tasks,
so the two threads take turns, and a request's cost is the sum of both sides'. Here the
thread runs in C and never takes the GIL:

- :meth:`NativeDriver.start` queues the transfer in C and wakes the thread, which adds it
  to the multi handle and sends it while the loop goes on with its batch;
- libcurl's callbacks are C functions: header lines and body bytes go into buffers of
  the handle's *slot*, a streamed request body comes from one, and the guard against
  sending a non-idempotent request twice is a flag there;
- what changed (a complete head, body bytes for a streamed reader, the end, an upload
  wanting its next piece) is queued in C, with one byte written to the notice pipe per
  batch; the loop's thread takes the whole queue in one call (:meth:`deliver`);
- a streamed body stays in C until the reader pulls it, and the transfer pauses once
  ``response_buffer_size`` bytes wait there; pulling resumes it;
- the idle (socket) timeout is watched by the thread in C too.

Everything the loop's thread does to a slot is guarded by ``transfer.done``: once the
end is delivered, the handle (and its slot) may serve the next transfer.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import threading
from typing import TYPE_CHECKING, Final

from client_core.errors import HttpClientError
from client_curl._multi import _JOIN_TIMEOUT, Driver
from client_curl._native import cdriver, native

if TYPE_CHECKING:
    from client_curl._transfer import Transfer

__all__ = ["NativeDriver", "available"]

_PAUSE_SEND: Final = 4  # CURLPAUSE_SEND


def available() -> bool:
    """Whether the C driver was built into this installation."""
    return cdriver is not None


def default_allocators() -> bool:
    """Whether CPython runs its default memory allocators (pymalloc over malloc).

    Only then may a body buffer the C driver filled become a bytes object where it lies
    (CPython frees what pymalloc did not allocate with ``free``). Debug hooks (``-X dev``,
    ``PYTHONMALLOC=debug``, a debug build), mimalloc and free-threaded builds get a copy.
    """
    import sysconfig

    return (
        sys.implementation.name == "cpython"
        and not hasattr(sys, "gettotalrefcount")
        and not sys.flags.dev_mode
        and os.environ.get("PYTHONMALLOC", "") in ("", "pymalloc", "malloc")
        and not sysconfig.get_config_var("Py_GIL_DISABLED")
    )


if cdriver is not None:
    cdriver.set_adopt(default_allocators())


def _out_of_memory(transfer: Transfer, doing: str) -> HttpClientError:
    request = transfer.request
    return HttpClientError(f"{request.method} {request.url.redacted()}: out of memory {doing}")


def _failure(code: int) -> str:
    return f"the curl engine's driver thread failed: curl_multi_poll returned CURLMcode {code}"


class NativeDriver(Driver):
    """Runs one ``CurlMulti`` on a thread of its own, in C, for one event loop at a time.

    Args: as :class:`~client_curl._multi.Driver`.
    """

    reads_notice = True
    _driver = 0  # the C driver, while the thread may run

    def _prepare(self) -> None:
        assert cdriver is not None
        assert self._notice is not None
        self._driver = cdriver.new(
            self._multi_pointer, native().driver_functions, self._notice.write_fd
        )

    def _run(self) -> None:
        assert cdriver is not None
        code = cdriver.run(self._driver)
        if code:  # every transfer in flight ended with END_FAILED, the loop notified
            self.failure = _failure(code)

    # -- the loop's side -----------------------------------------------------------------

    def start(self, transfer: Transfer) -> None:
        """Hand ``transfer`` (its options set) to the driver thread to run.

        Raises:
            HttpClientError: The driver thread has failed (the engine is unusable).
        """
        if self.failure is not None:
            raise HttpClientError(self.failure)
        assert cdriver is not None
        handle = transfer.handle
        upload = transfer.upload
        data, eof = b"", True
        if upload is not None:
            data, eof = upload.take(), upload.eof
        timeout = transfer.socket_timeout
        try:
            cdriver.start(
                self._driver,
                handle.slot,
                transfer,
                transfer.window,
                -1,
                0 if timeout is None else max(1, math.ceil(timeout * 1000)),
                handle.guarded,
                transfer.request.method != "HEAD",  # a HEAD response's Content-Length: no body
                data,
                eof,
            )
        except MemoryError:  # copying the first piece of the upload
            handle.dirty = True
            self._release(handle)
            raise _out_of_memory(transfer, "starting the transfer") from None
        self.transfers.add(transfer)

    def abort(self, transfer: Transfer) -> None:
        """End ``transfer`` now, dropping its connection (cancellation, early close)."""
        if not transfer.done and cdriver is not None:
            cdriver.abort(transfer.handle.slot)

    def pause(self, transfer: Transfer, bitmask: int) -> None:
        """Resume sending after the upload's next piece was pulled.

        Receiving is paused and resumed in C (see :meth:`pull`).
        """
        upload = transfer.upload
        if upload is not None and not bitmask & _PAUSE_SEND and not transfer.done:
            assert cdriver is not None
            try:
                cdriver.feed(transfer.handle.slot, upload.take(), upload.eof)
            except MemoryError:
                transfer.fail(_out_of_memory(transfer, "copying the request body"))

    def sink(self, transfer: Transfer) -> None:
        """Read the body whole (see :meth:`read_whole`)."""
        self.read_whole(transfer, None)

    def read_whole(self, transfer: Transfer, limit: int | None) -> None:
        """The task reads the rest of the body at once: never pause, fail past ``limit``."""
        if not transfer.done:
            assert cdriver is not None
            cdriver.read_whole(transfer.handle.slot, -1 if limit is None else limit)

    def pull(self, transfer: Transfer) -> None:
        """Move the body bytes waiting in C into ``transfer.chunks`` (resumes a pause)."""
        if not transfer.done:
            assert cdriver is not None
            try:
                data = cdriver.pull(transfer.handle.slot)
            except MemoryError:
                transfer.fail(_out_of_memory(transfer, "taking the response body"))
                return
            if data:
                transfer.chunks.append(data)
                transfer.arrived += len(data)

    def held(self, transfer: Transfer) -> tuple[bool, int]:
        """Whether receiving is paused, and the body bytes held in memory (for tests)."""
        assert cdriver is not None
        held = sum(map(len, transfer.chunks))
        if transfer.done:
            return False, held
        paused, _, buffered = cdriver.state(transfer.handle.slot)
        return bool(paused), held + buffered

    def in_flight(self) -> int:
        """How many transfers are in the multi handle now (for tests)."""
        return cdriver.count(self._driver) if self._driver and cdriver is not None else 0

    def deliver(self) -> None:
        """On the loop's thread: take what the C thread queued, wake the tasks."""
        driver = self._driver
        if not driver:
            return
        assert cdriver is not None
        events = cdriver.events(driver)
        backend = self.backend
        transfers = self.transfers
        done_bit = cdriver.EV_DONE
        send_paused_bit = cdriver.EV_SEND_PAUSED
        for transfer, bits, head, body, result, ended, error, sent_once in events:
            if head is not None:
                transfer.lines = head.splitlines(True)
            if bits & done_bit:
                if body:
                    transfer.arrived += len(body)
                    transfer.chunks.append(body)
                self._finish(transfer, result, ended, error, sent_once)
                transfers.discard(transfer)
            elif bits & send_paused_bit:
                transfer.send_paused = True
            if transfer.waiter is not None and backend is not None:
                with contextlib.suppress(Exception):  # outside the loop (closing)
                    backend.wake(transfer)
        if self.closing and not transfers:
            self._on_idle()

    def _finish(
        self, transfer: Transfer, result: int, ended: int, error: str | None, sent_once: int
    ) -> None:
        """The transfer left the multi handle: record how, take its handle back."""
        assert cdriver is not None
        handle = transfer.handle
        handle.sent_once = bool(sent_once)
        transfer.message = error or ""
        keep = True
        if ended == cdriver.END_LIBCURL:
            transfer.code = result
        elif ended == cdriver.END_ABORTED:
            pass  # the error, if any, was set by whoever aborted
        elif ended == cdriver.END_IDLE:
            if transfer.error is None:
                transfer.error = transfer.idle_error()
        elif ended == cdriver.END_LIMIT:
            if transfer.error is None:
                transfer.error = transfer.limit_error()
        elif ended == cdriver.END_STOPPED:
            if transfer.error is None:
                transfer.error = transfer.closed_error()
            keep = False
        elif ended == cdriver.END_FAILED:  # result: curl_multi_poll's code
            if self.failure is None:  # the thread may not have recorded it yet
                self.failure = _failure(result)
            transfer.error = HttpClientError(self.failure)
            keep = False
        elif ended == cdriver.END_REFUSED:
            request = transfer.request
            transfer.error = HttpClientError(
                f"{request.method} {request.url.redacted()}: libcurl could not start the "
                f"transfer (CURLMcode {result})"
            )
            handle.dirty = True
        else:  # END_NOMEM
            transfer.error = _out_of_memory(transfer, "receiving the response")
            handle.dirty = True
        transfer.done = True
        if keep:
            self._release(handle)  # the engine's: reset if dirty, kept or closed
        else:
            handle.close()

    def close(self) -> None:
        """Stop the thread (ending what is in flight), then free the C driver and the multi.

        Idempotent.
        """
        self.closed = True
        self.closing = False
        thread, self._thread = self._thread, None
        if thread is not None and cdriver is not None:
            cdriver.stop(self._driver)
            if thread is not threading.current_thread():
                thread.join(_JOIN_TIMEOUT)
            if not thread.is_alive():
                self.deliver()  # what the stop ended: wake those tasks, free the handles
                driver, self._driver = self._driver, 0
                cdriver.free(driver)
                self._free_multi()
        self._leave_loop()
