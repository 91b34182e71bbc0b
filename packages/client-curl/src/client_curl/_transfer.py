"""One request in flight: what libcurl delivers, the waiting task, and the response body.

The libcurl callbacks run on the driver thread; everything else on the event loop's
thread. libcurl writes the header lines with the C library's ``fwrite`` into the
handle's :class:`~client_curl._native.HeaderStore`, so nothing runs in Python per header
line; the driver thread copies them into ``lines`` (a new list each time) when the first
piece of body arrives, when the transfer ends, and, for a transfer with no body yet,
when its periodic look finds more. The write callback is a few lines of Python: take the
head on the first piece, append the piece, count it, queue the transfer for the loop
(once until the loop has seen it). The task parses the head once it sees the first piece
of body, or the blank line that ends the head. Backpressure: once
``response_buffer_size`` bytes of a streamed body wait unread, the write callback answers
``CURL_WRITEFUNC_PAUSE`` (libcurl keeps that piece and delivers it again when resumed);
reading below half of it resumes the transfer. A streamed request body is pulled from its
async iterator by whichever task waits on the transfer, when the read callback has paused
for want of data. A body read whole (``read_all``) is written by ``fwrite`` into a
:class:`~client_curl._native.BodyStream` from the moment the driver swaps it in; the
driver adds what it holds to ``chunks`` when the transfer ends.

Each counter has one writer: ``arrived`` (body bytes taken in) the driver thread,
``consumed`` (bytes handed to the reader) the loop's thread.

The transfer is itself the :class:`~client_core.engine.ResponseBody` of its response.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable
from typing import TYPE_CHECKING, Any, Final

import anyio
import pycurl

from client_core.engine import HttpRequestData, ResponseBody
from client_core.errors import ClientClosedException, InvalidRequestException, ProtocolException
from client_core.http import Headers
from client_curl._errors import socket_timeout_error, translate
from client_curl._head import Head, HeadError, HeadParser, parse_fields

if TYPE_CHECKING:
    from client_curl._loop import Backend
    from client_curl._multi import Driver
    from client_curl._native import BodyStream
    from client_curl._options import Handle

__all__ = ["Transfer", "Upload"]

_WRITEFUNC_PAUSE: Final[int] = pycurl.WRITEFUNC_PAUSE
_READFUNC_PAUSE: Final[int] = pycurl.READFUNC_PAUSE
_PAUSE_RECV: Final[int] = pycurl.PAUSE_RECV
_PAUSE_SEND: Final[int] = pycurl.PAUSE_SEND
_PAUSE_CONT: Final[int] = pycurl.PAUSE_CONT
_ABORTED_BY_CALLBACK: Final = 42  # CURLE_ABORTED_BY_CALLBACK: a refused socket
_REQUEST_SIZE: Final = pycurl.REQUEST_SIZE
_HEADER_SIZE: Final = pycurl.HEADER_SIZE
_SIZE_UPLOAD: Final = pycurl.SIZE_UPLOAD_T
_SIZE_DOWNLOAD: Final = pycurl.SIZE_DOWNLOAD_T
_BLANK: Final = b"\r\n"
_UNLIMITED: Final = 1 << 62
_PIECE: Final = 64 * 1024  # the most a streamed reader gets at once


class Upload:
    """A request body streamed from an async iterator, a piece at a time.

    Args:
        body: The body stream.
        length: Its declared length, ``None`` when unknown (sent chunked).
    """

    __slots__ = ("chunk", "eof", "iterator", "length", "offset", "produced")

    def __init__(self, body: Any, length: int | None) -> None:
        self.iterator: AsyncIterator[bytes | bytearray | memoryview] = aiter(body)
        self.length = length
        self.chunk = b""
        self.offset = 0
        self.eof = False
        self.produced = 0

    def read(self, size: int) -> bytes | None:
        """Up to ``size`` bytes of the current piece; ``None`` when it is used up."""
        chunk = self.chunk
        if not chunk:
            return b"" if self.eof else None
        offset = self.offset
        end = offset + size
        if end >= len(chunk):
            self.chunk = b""
            self.offset = 0
            return chunk if offset == 0 else chunk[offset:]
        self.offset = end
        return chunk[offset:end]

    def take(self) -> bytes:
        """What is left of the current piece (for the C driver, which copies it)."""
        chunk, offset = self.chunk, self.offset
        self.chunk = b""
        self.offset = 0
        return chunk[offset:] if offset else chunk

    async def aclose(self) -> None:
        """Close the iterator when it was not read to the end.

        An async generator's ``aclose`` finalizes it now rather than by the garbage
        collector (which trio reports as a ``ResourceWarning``).
        """
        if not self.eof:
            self.eof = True
            close = getattr(self.iterator, "aclose", None)
            if close is not None:
                with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                    await close()

    async def pull(self, what: str) -> None:
        """Pull the next non-empty piece (or the end) from the iterator.

        Args:
            what: ``"METHOD url"`` for error messages.

        Raises:
            InvalidRequestException: The stream does not match its declared length.
        """
        while not self.eof and not self.chunk:
            try:
                chunk = await self.iterator.__anext__()
            except StopAsyncIteration:
                self.eof = True
                if self.length is not None and self.produced != self.length:
                    raise InvalidRequestException(
                        f"{what}: the request body stream ended after {self.produced} "
                        f"bytes, but its declared length is {self.length}"
                    ) from None
                return
            if not isinstance(chunk, bytes):
                chunk = bytes(chunk)
            self.produced += len(chunk)
            if self.length is not None and self.produced >= self.length:
                if self.produced == self.length:
                    # libcurl asks for nothing past the declared length: see the end now,
                    # so that the stream is finished rather than abandoned.
                    try:
                        extra = await self.iterator.__anext__()
                    except StopAsyncIteration:
                        self.eof = True
                        extra = b""
                    self.produced += len(extra)
                if self.produced > self.length:
                    raise InvalidRequestException(
                        f"{what}: the request body stream is longer than its declared "
                        f"length {self.length}"
                    )
            self.chunk = chunk
            self.offset = 0


class Transfer(ResponseBody):
    """One request: the state libcurl fills in, and the body of its response.

    Args:
        driver: The engine's driver.
        backend: The event-loop backend (waiting and waking).
        parser: The engine's head parser.
        handle: The easy handle the options are set on.
        request: The request.
        high_water: Unread body bytes at which a streamed transfer pauses.
        connect_timeout: The connect timeout (for messages).
        socket_timeout: The idle timeout, ``None`` for none.
    """

    __slots__ = (
        "arrived",
        "backend",
        "chunks",
        "code",
        "connect_timeout",
        "consumed",
        "done",
        "driver",
        "error",
        "extensions",
        "handle",
        "head",
        "header_bytes",
        "idle_since",
        "limit",
        "lines",
        "message",
        "notified",
        "outbox",
        "parser",
        "progress",
        "recv_paused",
        "request",
        "scanned",
        "send_paused",
        "socket_timeout",
        "stream",
        "upload",
        "waiter",
        "window",
    )

    def __init__(
        self,
        driver: Driver,
        backend: Backend,
        parser: HeadParser,
        handle: Handle,
        request: HttpRequestData,
        high_water: int,
        connect_timeout: float | None,
        socket_timeout: float | None,
    ) -> None:
        self.driver = driver
        self.backend = backend
        self.parser = parser
        self.handle = handle
        self.request = request
        self.lines: list[bytes] = []
        self.chunks: deque[bytes | memoryview] = deque()
        self.scanned = self.code = self.arrived = self.consumed = 0
        self.header_bytes = 0
        self.window = high_water
        self.head: Head | None = None
        self.stream: BodyStream | None = None  # the body written in C (read whole)
        self.done = self.recv_paused = self.send_paused = self.notified = False
        self.outbox = driver.outbox
        self.error: BaseException | None = None
        self.message = ""
        self.waiter: Any = None
        self.limit: int | None = None
        self.extensions: dict[str, Any] = {}
        self.connect_timeout = connect_timeout
        self.socket_timeout = socket_timeout
        self.idle_since = 0.0
        self.progress: int | None = -1
        body = request.body
        self.upload = None if type(body) is bytes else Upload(body, request.content_length)

    def _what(self) -> str:
        return f"{self.request.method} {self.request.url.redacted()}"

    # -- libcurl callbacks (driver thread: record, queue, never raise) ----------------------

    def on_write(self, data: bytes) -> int | None:
        """``CURLOPT_WRITEFUNCTION``: a piece of the body arrived."""
        arrived = self.arrived
        if not arrived:
            self.load_head()  # the head is complete: the body began
        elif arrived - self.consumed >= self.window:
            return self._full()
        arrived += len(data)
        limit = self.limit
        if limit is not None and arrived > limit:  # reading it all, with a limit
            self.error = self.limit_error()
            return 0  # abort
        self.arrived = arrived
        self.chunks.append(data)
        if not self.notified:
            self.notified = True
            self.outbox.append(self)
        return None

    def _full(self) -> int:
        self.recv_paused = True
        if not self.notified:
            self.notified = True
            self.outbox.append(self)
        return _WRITEFUNC_PAUSE  # libcurl delivers this piece again once resumed

    def load_head(self) -> bool:
        """On the driver thread: copy the header lines written so far into ``lines``.

        Returns:
            Whether more arrived since the last copy.
        """
        store = self.handle.headers
        assert store is not None  # the driver written in Python (its handles have one)
        size = store.size()
        if size == self.header_bytes:
            return False
        self.header_bytes = size
        self.lines = store.take(size).splitlines(True)
        return True

    def on_read(self, size: int) -> bytes | int:
        """``CURLOPT_READFUNCTION``: libcurl wants up to ``size`` bytes of the body."""
        upload = self.upload
        piece = upload.read(size) if upload is not None else b""
        if piece is not None:
            return piece
        self.send_paused = True
        if not self.notified:
            self.notified = True
            self.outbox.append(self)
        return _READFUNC_PAUSE

    # -- the head (task side) ------------------------------------------------------------

    def head_ready(self) -> bool:
        """Whether the head may be complete now (or the transfer is over)."""
        if self.done or self.chunks:
            return True
        lines = self.lines
        return bool(lines) and lines[-1] == _BLANK and len(lines) != self.scanned

    def take_head(self) -> Head | None:
        """Parse the final head once it is complete.

        Returns:
            The head, or ``None`` while it is incomplete (an interim head came).

        Raises:
            ProtocolException: The head is malformed.
        """
        lines = self.lines
        self.scanned = len(lines)
        try:
            head = self.parser.find(lines)
        except HeadError as exc:
            if self.done:
                return None  # libcurl's own error says more
            raise ProtocolException(f"{self._what()}: malformed response: {exc}") from None
        if head is None and self.chunks and not self.done:
            raise ProtocolException(
                f"{self._what()}: malformed response: the body began before the end of the head"
            )
        self.head = head
        return head

    # -- ending ---------------------------------------------------------------------------

    def failure(self) -> BaseException | None:
        """The error the transfer ended with, if any (computed once)."""
        error = self.error
        if error is None and self.code:
            what = self.request
            if self.handle.sent_once and self.code == _ABORTED_BY_CALLBACK:
                error = ProtocolException(
                    f"{self._what()}: the connection was lost before a response arrived; "
                    f"a {what.method} request is not sent again (not idempotent)"
                )
            else:
                error = translate(
                    self.code,
                    self.message,
                    what.method,
                    what.url.redacted(),
                    self.connect_timeout,
                )
            self.error = error
        return error

    def fail(self, error: BaseException) -> None:
        """End the transfer now with ``error`` (unless it ended already)."""
        if not self.done:
            self.error = error
            self.driver.abort(self)

    def abort(self) -> None:
        """End the transfer now, dropping its connection (cancellation, early close)."""
        if not self.done:
            self.driver.abort(self)

    def idle_error(self) -> BaseException:
        """The error for an expired socket timeout."""
        request = self.request
        return socket_timeout_error(request.method, request.url.redacted(), self.socket_timeout)

    def limit_error(self) -> BaseException:
        """The error for a body past the limit of ``read_all``."""
        return ProtocolException(
            f"{self._what()}: the response body exceeds the limit of {self.limit} bytes"
        )

    def closed_error(self) -> BaseException:
        """The error for a transfer ended by the engine's shutdown."""
        return ClientClosedException(f"{self._what()}: the curl engine was closed")

    def close_engine(self) -> None:
        """The engine is shutting down while this transfer is in flight."""
        self.fail(self.closed_error())

    def progress_mark(self) -> int | None:
        """How much moved so far, or ``None`` while idling does not count (for the watchdog).

        Called on the driver thread, which alone may ask libcurl.
        """
        if self.recv_paused or self.send_paused:
            return None
        easy = self.handle.easy
        if easy.getinfo(_REQUEST_SIZE) <= 0:
            return None  # still connecting: the connect timeout applies
        return (
            int(easy.getinfo(_HEADER_SIZE))
            + int(easy.getinfo(_SIZE_DOWNLOAD))
            + int(easy.getinfo(_SIZE_UPLOAD))
        )

    def _finish_body(self) -> None:
        head = self.head
        if head is not None and len(self.lines) > head.end and "trailers" not in self.extensions:
            lines = [line for line in self.lines[head.end :] if line != _BLANK]
            if lines:
                with contextlib.suppress(HeadError):
                    self.extensions["trailers"] = Headers.from_wire(parse_fields(lines))

    # -- waiting ----------------------------------------------------------------------------

    def wait(self) -> Awaitable[Any]:
        """Something to await until the transfer progresses; feeds a paused upload."""
        if self.recv_paused and not self.chunks:
            self.resume()
        if self.send_paused and self.upload is not None and not self.done:
            return self.pump()
        return self.backend.waiter(self)

    async def pump(self) -> None:
        """Feed the paused upload: pull a piece, then resume sending."""
        upload = self.upload
        assert upload is not None
        try:
            await upload.pull(self._what())
        except Exception as exc:
            self.fail(exc)  # a user's error from the body stream is raised as it is
            return
        if not self.done:
            self.send_paused = False
            self.driver.pause(self, _PAUSE_RECV if self.recv_paused else _PAUSE_CONT)

    def resume(self) -> None:
        """Resume receiving after a pause for backpressure."""
        if self.recv_paused:
            self.recv_paused = False
            if not self.done:
                self.driver.pause(self, _PAUSE_SEND if self.send_paused else _PAUSE_CONT)

    # -- the response body ------------------------------------------------------------------

    async def __anext__(self) -> bytes:
        chunks = self.chunks
        while not chunks:
            if self.done:
                self.driver.finished(self)
                error = self.failure()
                if self.upload is not None:
                    await self.upload.aclose()
                if error is not None:
                    self.error = None
                    self.code = 0
                    raise error
                self._finish_body()
                raise StopAsyncIteration
            self.driver.pull(self)  # the C driver holds them until asked
            if not chunks:
                await self.wait()
        chunk = chunks.popleft()
        if len(chunk) > _PIECE:  # the C driver hands over what is left at the end at once
            view = chunk if type(chunk) is memoryview else memoryview(chunk)
            chunks.appendleft(view[_PIECE:])
            chunk = view[:_PIECE]
        if type(chunk) is memoryview:
            chunk = bytes(chunk)
        consumed = self.consumed = self.consumed + len(chunk)
        if self.recv_paused and self.arrived - consumed <= self.window // 2:
            self.resume()
        return chunk

    async def read_all(self, limit: int | None = None) -> bytes:
        """Read the rest of the body, never pausing the transfer; then release it.

        Args:
            limit: Fail when more than this many bytes arrive (``None``: no limit).

        Returns:
            The remaining bytes.

        Raises:
            ProtocolException: The body exceeds ``limit`` or is truncated.
        """
        if not self.done:
            self.window = _UNLIMITED
            self.limit = limit
            # With no limit, the driver written in Python has the C library write the
            # rest into a stream, with no call into Python per 16 KiB piece (each would
            # take the GIL from this thread); it adds that to ``chunks`` at the end.
            # Pieces that arrive before the driver thread swaps the callback are in
            # ``chunks`` already. The C driver keeps the body in C until the end.
            self.driver.read_whole(self, limit)
            if self.recv_paused:
                self.resume()
            try:
                while not self.done:
                    await self.wait()  # the completion wakes it
            except BaseException:
                self.abort()
                if self.upload is not None:
                    await self.upload.aclose()
                raise
        self.driver.finished(self)
        if self.upload is not None:
            await self.upload.aclose()
        chunks = self.chunks
        if self.code or self.error is not None:
            error = self.failure()
            assert error is not None
            chunks.clear()
            self.error = None
            self.code = 0
            raise error
        if len(chunks) == 1:
            data = chunks.popleft()
            if type(data) is memoryview:  # the rest of a piece a streamed reader began
                data = bytes(data)
        else:
            data = b"".join(chunks)
            chunks.clear()
        if limit is not None and len(data) > limit:
            raise ProtocolException(
                f"{self._what()}: the response body exceeds the limit of {limit} bytes"
            )
        head = self.head
        if head is not None and len(self.lines) > head.end:
            self._finish_body()
        return data

    async def aclose(self) -> None:
        """Drop the rest of the body; a transfer still running is aborted."""
        if self.done:
            self.driver.finished(self)
        else:
            self.driver.abort(self)
        self.chunks.clear()
        if self.upload is not None:
            await self.upload.aclose()
