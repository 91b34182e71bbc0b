"""One HTTP/1.1 connection: a network stream and the h11 parser for its responses.

The connection writes serialized requests and reads responses in order. It raises raw
errors (``OSError``, ``TimeoutError``, ``h11.RemoteProtocolError``); the engine turns
them into ``client_core.errors`` with the request in hand.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator
from typing import Final

import anyio
import h11

from client_cio._network import Target
from client_cio._protocol import (
    END_CHUNKS,
    ResponseHead,
    ResponseParser,
    encode_chunk,
    parse_simple_head,
)
from client_cio._streams import NetworkStream

__all__ = ["BodyLengthError", "BodySourceError", "HTTP11Connection", "PipelineBroken", "Turn"]

_END: Final = h11.EndOfMessage()
_NO_BODY_STATUS: Final = frozenset({204, 304})

_COALESCE_LIMIT: Final = 16384
"""Bodies up to this size are sent in the same write as the head."""


class BodyLengthError(Exception):
    """A streamed request body did not match its declared length."""


class BodySourceError(Exception):
    """The request body stream itself raised; the original is the ``__cause__``."""


async def _next_chunk(iterator: AsyncIterator[bytes]) -> bytes | None:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return None
    except Exception as exc:
        raise BodySourceError(f"{type(exc).__name__}: {exc}") from exc


class PipelineBroken(Exception):
    """The connection failed before this pipelined request's response was read."""


class Turn:
    """A pipelined request's place in the queue of responses to read."""

    __slots__ = ("event", "failed", "queued")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.failed = False
        self.queued = False  # written (or being written): its response will come

    async def wait(self) -> None:
        """Wait until this request's response is next.

        Raises:
            PipelineBroken: The connection failed before that.
        """
        await self.event.wait()
        if self.failed:
            raise PipelineBroken("the connection closed before the response of a pipelined request")


class HTTP11Connection:
    """An HTTP/1.1 connection owned by the pool and lent to one request at a time.

    Args:
        stream: The connected stream.
        target: What the connection is for (its pool key).
        max_head_size: The largest response head accepted.
    """

    __slots__ = (
        "_h11_ended",
        "_keep_alive",
        "_left",
        "_max_head_size",
        "_parser",
        "_pending",
        "depth",
        "idle_since",
        "in_pool",
        "received",
        "reused",
        "shared",
        "stream",
        "target",
        "turns",
        "write_lock",
    )

    def __init__(self, stream: NetworkStream, target: Target, max_head_size: int) -> None:
        self.stream = stream
        self.target = target
        self._max_head_size = max_head_size
        self._parser: ResponseParser | None = None  # h11, for responses that need it
        self._h11_ended = False  # h11 saw the end of a known-length body
        self._pending = b""  # received bytes not handed out yet
        self.idle_since = 0.0
        self.reused = False
        self.received = False
        self.in_pool = False
        self._left: int | None = None  # bytes of a known-length body still to come
        self._keep_alive = False
        # Pipelining: requests lent this connection, and those written whose responses
        # are still to be read, in order (the first one is reading).
        self.depth = 0
        self.shared = False  # listed as taking more pipelined requests
        self.turns: deque[Turn] = deque()
        self.write_lock: anyio.Lock | None = None

    # -- sending ----------------------------------------------------------------------------

    async def send_request(
        self,
        head: bytes,
        body: bytes | AsyncIterable[bytes],
        content_length: int | None,
        timeout: float | None,
    ) -> None:
        """Write a request: its head, then its body framed by ``content_length``.

        Args:
            head: The serialized head (framing headers included).
            body: The body bytes or stream.
            content_length: The declared length; ``None`` sends the stream chunked.
            timeout: The socket timeout.

        Raises:
            BodyLengthError: A streamed body was longer or shorter than declared.
            OSError: The connection broke.
            TimeoutError: The peer stopped reading.
        """
        self.received = False
        write = self.stream.write
        if isinstance(body, bytes):
            if len(body) <= _COALESCE_LIMIT:
                await write(head + body if body else head, timeout)
            else:
                await write(head, timeout)
                await write(body, timeout)
            return
        await write(head, timeout)
        iterator = body.__aiter__()
        if content_length is None:
            while (chunk := await _next_chunk(iterator)) is not None:
                if chunk:
                    await write(encode_chunk(chunk), timeout)
            await write(END_CHUNKS, timeout)
            return
        sent = 0
        while (chunk := await _next_chunk(iterator)) is not None:
            sent += len(chunk)
            if sent > content_length:
                raise BodyLengthError(
                    f"the request body stream is longer than its declared length {content_length}"
                )
            if chunk:
                await write(chunk, timeout)
        if sent != content_length:
            raise BodyLengthError(
                f"the request body stream ended after {sent} bytes, but its declared "
                f"length is {content_length}"
            )

    # -- pipelining -------------------------------------------------------------------------

    async def send_pipelined(
        self, turn: Turn, head: bytes, body: bytes, timeout: float | None
    ) -> None:
        """Write a request behind those already written, taking its place in line.

        Until ``turn.queued`` is set, nothing of the request was written: a request
        cancelled before that can leave the connection without harming the others.

        Args:
            turn: The request's place in line, to wait for before reading the response.
            head: The serialized head.
            body: The body.
            timeout: The socket timeout.

        Raises:
            PipelineBroken: The connection failed meanwhile.
            OSError: The connection broke.
            TimeoutError: The peer stopped reading.
        """
        if self.write_lock is None:
            self.write_lock = anyio.Lock()
        async with self.write_lock:
            if self.stream.closed:
                raise PipelineBroken("the connection closed before a pipelined request was sent")
            turn.queued = True
            self.turns.append(turn)
            if len(self.turns) == 1:
                turn.event.set()
            await self.stream.write(head + body if len(body) <= _COALESCE_LIMIT else head, timeout)
            if len(body) > _COALESCE_LIMIT:
                await self.stream.write(body, timeout)

    def next_turn(self) -> None:
        """The current response was read: let the next pipelined request read its own."""
        turns = self.turns
        if turns:
            turns.popleft()
        if turns:
            turns[0].event.set()

    def fail_turns(self) -> None:
        """The connection failed: every pipelined request still waiting fails."""
        turns = self.turns
        while turns:
            turn = turns.popleft()
            turn.failed = True
            turn.event.set()

    # -- receiving --------------------------------------------------------------------------
    #
    # A response head is parsed by parse_simple_head when it is a plain one (the common
    # case), else by h11 (a ResponseParser made for that response). A body of known
    # length is counted here and read straight from the stream; any other body (chunked,
    # read-until-close) is read through h11.

    async def receive_head(self, method: str, close: bool, timeout: float | None) -> ResponseHead:
        """Read the response head of the request just sent, skipping 1xx responses.

        Args:
            method: The request method.
            close: Whether the request asked to close the connection.
            timeout: The socket timeout.

        Returns:
            The response head.

        Raises:
            h11.RemoteProtocolError: A malformed or oversized head, or the peer closed.
            OSError: The connection broke.
            TimeoutError: Nothing arrived within ``timeout``.
        """
        self._parser = None
        self._h11_ended = False
        self._left = None
        data = self._pending
        self._pending = b""
        self.received = bool(data)
        read = self.stream.read
        reads = 0
        while True:
            if data:
                head = parse_simple_head(data, method, close)
                if head is not None:
                    self._keep_alive = head.keep_alive
                    self._left = head.length
                    rest = data[head.size :]
                    if rest:
                        self._pending = rest
                    return head
                # complete but unusual, or arriving in many pieces: h11's buffer copes
                if reads > 2 or b"\r\n\r\n" in data or len(data) > self._max_head_size:
                    return await self._receive_head_h11(data, method, close, timeout)
            reads += 1
            more = await read(timeout)
            if not more:
                return await self._receive_head_h11(data, method, close, timeout)
            self.received = True
            data = data + more if data else more

    async def _receive_head_h11(
        self, data: bytes, method: str, close: bool, timeout: float | None
    ) -> ResponseHead:
        parser = self._parser = ResponseParser(self._max_head_size)
        parser.start(method, close)
        parser.feed(data)
        if not data:
            parser.feed(b"")
        while True:
            event = await self._next_h11(timeout)
            if type(event) is h11.Response:
                self._frame(event, method, close)
                return ResponseHead(
                    event.status_code,
                    event.reason,
                    event.http_version,
                    event.headers.raw_items(),
                    self._left,
                    self._keep_alive,
                    0,
                )
            if type(event) is h11.InformationalResponse:
                continue
            raise h11.RemoteProtocolError(
                "the server closed the connection without sending a response"
            )

    async def _next_h11(self, timeout: float | None) -> h11.Event:
        parser = self._parser
        assert parser is not None
        while True:
            event = parser.next_event()
            if event is h11.NEED_DATA:
                data = await self.stream.read(timeout)
                if data:
                    self.received = True
                parser.feed(data)
                continue
            return event  # type: ignore[return-value]

    def _frame(self, event: h11.Response, method: str, close: bool) -> None:
        self._left = None
        keep_alive = not close and event.http_version == b"1.1"
        length: int | None = None
        chunked = False
        for name, value in event.headers:
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                keep_alive = False
        self._keep_alive = keep_alive
        if method == "HEAD" or event.status_code in _NO_BODY_STATUS:
            return  # h11 ends the message at once
        if not chunked:
            self._left = length

    async def _body_piece(self, timeout: float | None) -> bytes | h11.EndOfMessage:
        """The next piece of a body of known length, read around h11."""
        left = self._left
        assert left is not None
        if not left:
            return _END
        data = self._pending
        if data:
            self._pending = b""
        else:
            data = await self.stream.read(timeout)
            if not data:
                raise h11.RemoteProtocolError(
                    f"peer closed connection without sending complete message body "
                    f"({left} bytes missing)"
                )
        if len(data) > left:  # the next (pipelined) response, or garbage: finish() decides
            self._pending = data[left:]
            data = data[:left]
        self._left = left - len(data)
        return data

    def _h11_drained(self) -> bool:
        """Whether h11 (if it parsed the head) holds no more of the known-length body."""
        parser = self._parser
        if parser is None or self._h11_ended:
            return True
        event = parser.next_event()
        if event is h11.NEED_DATA:
            self._parser = None  # the rest of the body is read around it
            return True
        if type(event) is h11.Data:
            self._pending = bytes(event.data)
            return False
        if type(event) is h11.EndOfMessage:  # kept: finish() takes what follows from it
            self._h11_ended = True
            self._left = 0
            return True
        raise h11.RemoteProtocolError("unexpected event in a response body")

    async def receive_rest(
        self, timeout: float | None, limit: int | None
    ) -> tuple[list[bytes | bytearray], h11.EndOfMessage, int]:
        """Read the rest of the body at once.

        Args:
            timeout: The socket timeout.
            limit: The most bytes accepted, or ``None``.

        Returns:
            The pieces, the end of the message, and the total size (which may exceed
            ``limit``: the caller checks).

        Raises:
            h11.RemoteProtocolError: A malformed or truncated body.
            OSError: The connection broke.
            TimeoutError: Nothing arrived within ``timeout``.
        """
        parts: list[bytes | bytearray] = []
        size = 0
        if self._left is None:
            while True:
                piece = await self.receive_data(timeout)
                if type(piece) is h11.EndOfMessage:
                    return parts, piece, size
                size += len(piece)  # type: ignore[arg-type]
                parts.append(piece)  # type: ignore[arg-type]
                if limit is not None and size > limit:
                    return parts, _END, size
        while not self._h11_drained():
            parts.append(self._pending)
            size += len(self._pending)
            self._left -= len(self._pending)
            self._pending = b""
        left = self._left
        if left:
            pending = self._pending
            if pending:
                self._pending = b""
                if len(pending) >= left:
                    self._pending = pending[left:]
                    self._left = 0
                    parts.append(pending[:left])
                    return parts, _END, size + left
                parts.append(pending)
                size += len(pending)
                left -= len(pending)
            if limit is not None and size + left > limit:
                return parts, _END, size + left
            try:
                body = await self.stream.read_exactly(left, timeout, parts)
            except EOFError as exc:
                raise h11.RemoteProtocolError(
                    f"peer closed connection without sending complete message body ({exc})"
                ) from exc
            self._left = 0
            return [body], _END, size + left
        return parts, _END, size

    async def receive_data(self, timeout: float | None) -> bytes | bytearray | h11.EndOfMessage:
        """Return the next piece of the response body, or its end.

        Args:
            timeout: The socket timeout.

        Returns:
            A non-empty piece of the body, or the ``EndOfMessage`` (with trailers).

        Raises:
            h11.RemoteProtocolError: A malformed or truncated body.
            OSError: The connection broke.
            TimeoutError: Nothing arrived within ``timeout``.
        """
        if self._left is not None:
            if self._parser is not None and not self._h11_drained():
                data = self._pending
                self._pending = b""
                self._left -= len(data)
                return data
            return await self._body_piece(timeout)
        while True:
            event = await self._next_h11(timeout)
            if type(event) is h11.Data:
                if event.data:
                    return event.data
                continue
            if type(event) is h11.EndOfMessage:
                return event
            raise h11.RemoteProtocolError(
                "the server closed the connection before the end of the body"
            )

    def skip_buffered_body(self) -> bool:
        """Skip the rest of a known-length body when it has already arrived.

        Returns:
            True when the response is complete (then :meth:`finish` may reuse the
            connection); False when more would have to be read.
        """
        left = self._left
        if self._parser is not None or left is None or len(self._pending) < left:
            return False
        self._pending = self._pending[left:]
        self._left = 0
        return True

    def finish(self) -> bool:
        """End the exchange after a complete response.

        Bytes received past the response are kept for the next response when requests
        are pipelined behind this one; otherwise they make the connection unusable.

        Returns:
            True when the connection may be reused.
        """
        parser = self._parser
        self._parser = None
        more = len(self.turns) > 1
        if parser is not None:  # h11 read the whole response
            reusable = parser.finish()
            if reusable and parser.has_buffered_data:
                self._pending = parser.trailing_data
        else:
            reusable = self._keep_alive
        if self._pending and not more:
            reusable = False
        self._left = None
        if reusable:
            self.reused = True
            self.idle_since = time.monotonic()
        return reusable
