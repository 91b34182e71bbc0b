"""Byte streams to a peer: what an HTTP/1.1 connection reads from and writes to.

Two implementations of one small interface, :class:`NetworkStream`:

* :class:`AsyncioStream`, an ``asyncio.BufferedProtocol``: on asyncio it reads straight
  into one reused buffer and wakes the reader through a single future, with timeouts as
  loop timers instead of cancel scopes;
* :class:`AnyioStream`, anyio's socket and TLS streams, for trio (and for asyncio when
  ``fast_path`` is off).

Errors are raised raw here (``OSError``, ``ssl.SSLError``, ``TimeoutError``,
``EOFError``); the engine translates them with the request in hand.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import select
import socket
import ssl
from typing import Any, Final

import anyio
import anyio.abc
import anyio.lowlevel
from anyio.streams.tls import TLSStream

__all__ = [
    "HIGH_WATER",
    "POOLED_BUFFERS",
    "POOLED_BUFFER_SIZE",
    "READ_SIZE",
    "AnyioStream",
    "AsyncioStream",
    "BufferPool",
    "NetworkStream",
]

READ_SIZE: Final = 65536
"""Bytes read from a socket at once."""
POOLED_BUFFER_SIZE: Final = 2 * 1024 * 1024
"""Known-length bodies up to this size are read into a pooled buffer."""
POOLED_BUFFERS: Final = 8
"""How many such buffers an engine keeps (so at most 16 MiB)."""
HIGH_WATER: Final = 4 * READ_SIZE
"""Buffered bytes above which the asyncio stream stops reading until the reader catches up."""


_WAIT_READABLE: Final = getattr(anyio, "wait_readable", None)  # anyio >= 4.7


class BufferPool:
    """Read buffers shared by an engine's connections, reused to spare the allocator.

    A fresh large buffer per body costs page faults on every download; a few kept
    buffers make that cost disappear, while bounding what an engine holds
    (``POOLED_BUFFERS`` buffers of at most ``POOLED_BUFFER_SIZE`` bytes).
    """

    __slots__ = ("_free",)

    def __init__(self) -> None:
        self._free: list[bytearray] = []

    def get(self, size: int) -> bytearray:
        """A buffer of at least ``size`` bytes (pooled when small enough)."""
        free = self._free
        if size <= POOLED_BUFFER_SIZE:
            while free:
                buffer = free.pop()
                if len(buffer) >= size:
                    return buffer
            return bytearray(max(size, 65536))
        return bytearray(size)

    def put(self, buffer: bytearray) -> None:
        """Give a buffer back."""
        if len(buffer) <= POOLED_BUFFER_SIZE and len(self._free) < POOLED_BUFFERS:
            self._free.append(buffer)


class NetworkStream(abc.ABC):
    """A connected byte stream: what an HTTP/1.1 connection reads and writes."""

    __slots__ = ()

    @abc.abstractmethod
    async def read(self, timeout: float | None) -> bytes:
        """Return the next bytes received; ``b""`` once the peer closed.

        Raises:
            TimeoutError: Nothing arrived within ``timeout`` seconds.
            OSError: The connection broke.
        """

    @abc.abstractmethod
    async def read_exactly(
        self, size: int, timeout: float | None, prefix: list[bytes | bytearray]
    ) -> bytes:
        """Return ``prefix`` joined with exactly ``size`` more bytes, in one piece.

        For the rest of a known-length body: one allocation for the whole body.

        Raises:
            EOFError: The peer closed before ``size`` bytes arrived.
            TimeoutError: No byte arrived within ``timeout`` seconds.
            OSError: The connection broke.
        """

    @abc.abstractmethod
    async def write(self, data: bytes, timeout: float | None) -> None:
        """Send ``data``, waiting only when the peer does not keep up.

        Raises:
            TimeoutError: The peer accepted nothing within ``timeout`` seconds.
            OSError: The connection broke.
        """

    @property
    @abc.abstractmethod
    def closed(self) -> bool:
        """True once the stream was closed (by either side) or broke."""

    @abc.abstractmethod
    def is_alive(self) -> bool:
        """True when an idle connection may be reused: open, nothing unexpected received."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close now, without waiting (idempotent)."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close and wait until the socket is released (idempotent)."""

    @abc.abstractmethod
    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str | None, timeout: float | None
    ) -> NetworkStream:
        """Run a TLS handshake over this stream and return the encrypted stream."""


class AsyncioStream(asyncio.BufferedProtocol, NetworkStream):
    """A protocol-level stream for asyncio: one reused read buffer, one waiter.

    Args:
        loop: The running event loop.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, buffers: BufferPool) -> None:
        self._loop = loop
        self._buffers = buffers
        self._transport: asyncio.Transport | None = None
        self._view = memoryview(bytearray(READ_SIZE))
        self._chunks: list[bytes] = []
        self._size = 0
        self._eof = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._write_paused = False
        self._closed: asyncio.Future[None] = loop.create_future()
        self._direct: memoryview | None = None  # read_exactly's destination, when armed
        self._into_direct = False  # whether the last get_buffer() gave the direct one
        self._direct_pos = 0
        self._progress = 0

    # -- protocol callbacks -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        direct = self._direct
        if direct is not None and self._direct_pos < len(direct):
            self._into_direct = True
            return direct[self._direct_pos :]
        # never an empty buffer: once the direct read is complete, take the usual one
        self._into_direct = False
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        if self._into_direct:
            self._direct_pos += nbytes
            self._progress += 1
            if self._direct is not None and self._direct_pos >= len(self._direct):
                self._wake()
            return
        self._chunks.append(self._view[:nbytes].tobytes())
        self._size += nbytes
        if self._size > HIGH_WATER and not self._reading_paused and self._transport is not None:
            self._reading_paused = True
            self._transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool | None:
        self._eof = True
        self._wake()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self._error is None:
            self._error = exc
        self._eof = True
        self._wake()
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @staticmethod
    def _time_out(waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(TimeoutError())

    async def _wait(self, timeout: float | None) -> None:
        waiter = self._waiter = self._loop.create_future()
        if timeout is None:
            try:
                await waiter
            finally:
                self._waiter = None
            return
        handle = self._loop.call_later(timeout, self._time_out, waiter)
        try:
            await waiter
        finally:
            self._waiter = None
            handle.cancel()

    def _check_progress(self, waiter: asyncio.Future[None], timeout: float, seen: int) -> None:
        if waiter.done():
            return
        if self._progress == seen:
            waiter.set_exception(TimeoutError())
        else:
            self._loop.call_later(timeout, self._check_progress, waiter, timeout, self._progress)

    # -- NetworkStream ------------------------------------------------------------------------

    async def read_exactly(
        self, size: int, timeout: float | None, prefix: list[bytes | bytearray]
    ) -> bytes:
        # Read into a pooled buffer (no page faults on reuse), then copy once into the
        # bytes returned.
        total = sum(len(part) for part in prefix) + size
        buffer = self._buffers.get(total)
        view = memoryview(buffer)
        try:
            pos = 0
            for part in prefix:
                view[pos : pos + len(part)] = part
                pos += len(part)
            chunks = self._chunks
            while chunks and pos < total:
                chunk = chunks.pop(0)
                take = min(len(chunk), total - pos)
                view[pos : pos + take] = chunk[:take]
                pos += take
                self._size -= take
                if take < len(chunk):
                    chunks.insert(0, chunk[take:])
            if pos < total:
                await self._read_direct(view[pos:total], timeout, total)
            return view[:total].tobytes()
        finally:
            view.release()
            self._buffers.put(buffer)

    def _check_readable(self, missing: int, total: int) -> None:
        if self._error is not None:
            raise self._error
        if self._eof:
            raise EOFError(f"the peer closed {missing} bytes before the end of {total}")

    async def _read_direct(self, target: memoryview, timeout: float | None, total: int) -> None:
        if self._error is not None:
            raise self._error
        if self._eof:
            raise EOFError(f"the peer closed {len(target)} bytes before the end of {total}")
        self._direct = target
        self._direct_pos = 0
        if self._reading_paused:
            self._reading_paused = False
            if self._transport is not None:
                self._transport.resume_reading()
        loop = self._loop
        try:
            while self._direct_pos < len(target):
                self._check_readable(len(target) - self._direct_pos, total)
                waiter = self._waiter = loop.create_future()
                if timeout is not None:
                    loop.call_later(timeout, self._check_progress, waiter, timeout, self._progress)
                try:
                    await waiter
                finally:
                    self._waiter = None
        finally:
            self._direct = None
            target.release()

    async def read(self, timeout: float | None) -> bytes:
        chunks = self._chunks
        while not chunks:
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            await self._wait(timeout)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._size = 0
        if self._reading_paused:
            self._reading_paused = False
            if self._transport is not None:
                self._transport.resume_reading()
        return data

    async def write(self, data: bytes, timeout: float | None) -> None:
        transport = self._transport
        if self._error is not None:
            raise self._error
        if transport is None or transport.is_closing():
            raise ConnectionResetError("the connection is closed")
        transport.write(data)
        while self._write_paused:
            await self._wait(timeout)
            if self._error is not None:
                raise self._error
            if transport.is_closing():
                raise ConnectionResetError("the connection is closed")

    @property
    def closed(self) -> bool:
        transport = self._transport
        return transport is None or transport.is_closing() or self._error is not None

    def is_alive(self) -> bool:
        transport = self._transport
        return (
            not self._chunks
            and not self._eof
            and self._error is None
            and transport is not None
            and not transport.is_closing()
        )

    def close(self) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            # RuntimeError: the event loop is already closed, nothing left to wake
            with contextlib.suppress(RuntimeError):
                transport.abort()
        elif transport is None and not self._closed.done():
            self._closed.set_result(None)

    async def aclose(self) -> None:
        self.close()
        if not self._closed.done():
            with anyio.CancelScope(shield=True), anyio.move_on_after(1.0):
                await self._closed

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str | None, timeout: float | None
    ) -> NetworkStream:
        if self._chunks:
            raise ConnectionError("the peer sent data before the TLS handshake")
        assert self._transport is not None
        transport = await self._loop.start_tls(
            self._transport,
            self,
            context,
            server_hostname=server_hostname,
            ssl_handshake_timeout=timeout,
        )
        if transport is None:  # pragma: no cover - only for closed transports
            raise ConnectionResetError("the connection closed during the TLS handshake")
        self._transport = transport
        return self


class AnyioStream(NetworkStream):
    """An anyio byte stream (socket, maybe TLS): the portable path, used on trio.

    On trio, the rest of a known-length body on a plain (not TLS) socket is read straight
    into a pooled buffer with ``recv_into`` (the stdlib socket is non-blocking there, and
    ``anyio.wait_readable`` waits for data): no 64 KiB object per read, no join.

    Args:
        stream: The connected stream.
        buffers: The engine's pool of read buffers.
    """

    __slots__ = ("_buffers", "_closed", "_direct", "_pending", "_raw", "_streak", "_stream")

    def __init__(self, stream: anyio.abc.ByteStream, buffers: BufferPool) -> None:
        self._stream = stream
        self._buffers = buffers
        self._raw: socket.socket | None = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)
        self._closed = False
        self._pending = b""
        self._streak = 0
        self._direct: socket.socket | None = None
        if (
            self._raw is not None
            and _WAIT_READABLE is not None
            and not isinstance(stream, TLSStream)
            and anyio.get_cancelled_exc_class() is not asyncio.CancelledError
        ):
            self._direct = self._raw

    async def _readable(self, raw: socket.socket, timeout: float | None) -> None:
        assert _WAIT_READABLE is not None
        self._streak = 0
        try:
            if timeout is None:
                await _WAIT_READABLE(raw)
            else:
                with anyio.fail_after(timeout):
                    await _WAIT_READABLE(raw)
        except anyio.ClosedResourceError:
            pass  # closed meanwhile: the next recv tells

    async def _read_exactly_direct(
        self, raw: socket.socket, size: int, timeout: float | None, prefix: list[bytes | bytearray]
    ) -> bytes:
        total = sum(len(part) for part in prefix) + size
        buffer = self._buffers.get(total)
        view = memoryview(buffer)
        try:
            pos = 0
            for part in prefix:
                view[pos : pos + len(part)] = part
                pos += len(part)
            while pos < total:
                if self._closed:
                    raise EOFError(f"the connection closed {total - pos} bytes before the end")
                try:
                    count = raw.recv_into(view[pos:total])
                except BlockingIOError:
                    await self._readable(raw, timeout)
                    continue
                except OSError as exc:
                    raise ConnectionResetError(f"the connection broke: {exc}") from exc
                if not count:
                    raise EOFError(f"the peer closed {total - pos} bytes before the end")
                pos += count
                self._streak += 1
                if self._streak >= 16:  # data kept coming without a wait: let others run
                    self._streak = 0
                    await anyio.lowlevel.checkpoint()
            return view[:total].tobytes()
        finally:
            view.release()
            self._buffers.put(buffer)

    async def read_exactly(
        self, size: int, timeout: float | None, prefix: list[bytes | bytearray]
    ) -> bytes:
        raw = self._direct
        if raw is not None:
            if self._pending:
                prefix = [*prefix, self._pending[:size]]
                size -= len(prefix[-1])
                self._pending = self._pending[len(prefix[-1]) :]
            return await self._read_exactly_direct(raw, size, timeout, prefix)
        parts = list(prefix)
        left = size
        while left:
            data = await self.read(timeout)
            if not data:
                raise EOFError(f"the peer closed {left} bytes before the end of the body")
            if len(data) > left:
                self._pending = data[left:]
                data = data[:left]
            parts.append(data)
            left -= len(data)
        return b"".join(parts)

    async def read(self, timeout: float | None) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        try:
            if timeout is None:
                return await self._stream.receive(READ_SIZE)
            with anyio.fail_after(timeout):
                return await self._stream.receive(READ_SIZE)
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            return b""
        except anyio.BrokenResourceError as exc:
            raise ConnectionResetError(f"the connection broke: {exc.__cause__ or exc}") from exc

    async def write(self, data: bytes, timeout: float | None) -> None:
        try:
            if timeout is None:
                await self._stream.send(data)
            else:
                with anyio.fail_after(timeout):
                    await self._stream.send(data)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise ConnectionResetError(f"the connection broke: {exc.__cause__ or exc}") from exc

    @property
    def closed(self) -> bool:
        return self._closed

    def is_alive(self) -> bool:
        raw = self._raw
        if self._closed or raw is None or raw.fileno() < 0:
            return False
        poller = select.poll()
        poller.register(raw, select.POLLIN)
        return not poller.poll(0)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        transport = getattr(_innermost(self._stream), "_transport", None)
        if isinstance(transport, asyncio.WriteTransport):  # anyio's asyncio backend
            transport.abort()
        elif self._raw is not None and self._raw.fileno() >= 0:
            # wake any task blocked on the socket (trio needs it) before closing it
            notify_closing = getattr(anyio, "notify_closing", None)  # anyio >= 4.7
            if notify_closing is not None:
                notify_closing(self._raw)
            self._raw.close()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        with anyio.CancelScope(shield=True):
            await anyio.aclose_forcefully(self._stream)

    async def start_tls(
        self, context: ssl.SSLContext, server_hostname: str | None, timeout: float | None
    ) -> NetworkStream:
        with anyio.fail_after(timeout):
            tls = await TLSStream.wrap(
                self._stream,
                hostname=server_hostname,
                ssl_context=context,
                standard_compatible=False,
            )
        return AnyioStream(tls, self._buffers)


def _innermost(stream: Any) -> Any:
    while isinstance(stream, TLSStream):
        stream = stream.transport_stream
    return stream
