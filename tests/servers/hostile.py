"""A raw TCP server that breaks HTTP on purpose, and counts connections.

It runs an asyncio loop in a thread. Each request's path picks a behaviour:

- ``/ok?delay=D``: a valid keep-alive ``200`` (body ``ok``), after D seconds;
- ``/malformed-status``: a status line that is not HTTP;
- ``/garbage``: bytes that are not HTTP at all;
- ``/truncated``: ``Content-Length: 100`` then 10 bytes and close;
- ``/truncated-chunked``: a chunked body cut in the middle;
- ``/oversized-headers``: a 200 KiB header;
- ``/big-head``: two 60 KB header lines (large, within libcurl's limits);
- ``/stall``: reads the request, never answers;
- ``/stall-body``: sends the head and part of the body, then nothing;
- ``/head-then-stall``: sends a head announcing 100 bytes, then nothing;
- ``/close-after``: a keep-alive ``200``, then closes the connection shortly after;
- ``/second-fails``: the second request on a connection is closed without an answer;
- ``/http10``: an HTTP/1.0 response whose body runs until close;
- ``/trailers``: a chunked body with trailers;
- ``/informational``: a ``100 Continue`` before the ``200``;
- ``/folded``: a keep-alive ``200`` with a folded (obsolete) header line;
- ``/early-close``: answers 413 before reading a (large) body and closes;
- ``/sized?size=N&fill=C&first=F&pause=P&step=S&every=E``: a keep-alive ``200`` with a
  body of N bytes ``C`` (default ``x``), its first F bytes sent at once with the head, the
  rest after P seconds, at once or S bytes every E seconds.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import anyio


@dataclass
class ConnectionStats:
    """Counters since the last ``reset()``; connections from before it are not counted."""

    accepted: int = 0
    active: int = 0
    max_active: int = 0
    requests: int = 0
    paths: list[str] = field(default_factory=list)
    generation: int = 0
    pipelined: int = 0  # requests that were already waiting when the previous one was read
    max_in_flight: int = 0  # the most requests received on one connection before answering

    def reset(self) -> None:
        self.generation += 1
        self.accepted = self.active = self.max_active = self.requests = 0
        self.pipelined = self.max_in_flight = 0
        self.paths.clear()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def _until_eof(reader: asyncio.StreamReader) -> None:
    """Stall: read and ignore everything until the client closes."""
    while await reader.read(65536):
        pass


class HostileServer:
    """The server; ``start()`` in a thread, ``stop()`` to end it."""

    def __init__(self) -> None:
        self.stats = ConnectionStats()
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    async def wait_active(self, check: Callable[[int], bool], timeout: float = 2.0) -> int:
        """From a test: wait until ``check(open connections)`` holds; return the count.

        The count is returned as it is when ``timeout`` passes first, for the test to
        assert on.
        """
        with anyio.move_on_after(timeout):
            while not check(self.stats.active):  # noqa: ASYNC110 (counted by the server thread)
                await anyio.sleep(0.01)
        return self.stats.active

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the hostile server did not start")

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            for writer in list(self._writers):
                writer.transport.abort()
        await asyncio.sleep(0)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stats = self.stats
        generation = stats.generation
        stats.accepted += 1
        stats.active += 1
        stats.max_active = max(stats.max_active, stats.active)
        self._writers.add(writer)
        served = 0
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
                    return
                served += 1
                if stats.generation != generation:
                    return
                stats.requests += 1
                lines = head.decode("latin-1").split("\r\n")
                target = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (line.partition(":") for line in lines[1:] if line)
                }
                url = urlsplit(target)
                stats.paths.append(url.path)
                waiting = bytes(reader._buffer).count(b"\r\n\r\n")  # pipelined behind it
                stats.pipelined += bool(waiting)
                stats.max_in_flight = max(stats.max_in_flight, waiting + 1)
                args = dict(parse_qsl(url.query))
                length = int(headers.get("content-length", "0") or 0)
                if url.path != "/early-close" and length:
                    await reader.readexactly(length)
                if not await self._respond(url.path, args, reader, writer, served):
                    return
        except (OSError, asyncio.IncompleteReadError):
            return
        finally:
            if stats.generation == generation:
                stats.active -= 1
            self._writers.discard(writer)
            writer.transport.abort()

    async def _respond(
        self,
        path: str,
        args: dict[str, str],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        served: int,
    ) -> bool:
        """Answer one request; False closes the connection."""
        write = writer.write
        if path == "/ok":
            delay = float(args.get("delay", 0))
            if delay:
                await asyncio.sleep(delay)
            write(OK)
        elif path == "/malformed-status":
            write(b"HTTP/1.1 abc Broken\r\nContent-Length: 0\r\n\r\n")
        elif path == "/garbage":
            write(b"SSH-2.0-OpenSSH_9.0 not http at all\r\n\r\n")
        elif path == "/truncated":
            write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            await writer.drain()
            return False
        elif path == "/truncated-chunked":
            write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n10\r\nabc")
            await writer.drain()
            return False
        elif path == "/oversized-headers":
            write(b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 200_000 + b"\r\nContent-Length: 0\r\n\r\n")
        elif path == "/big-head":  # large, yet within libcurl's limits (100 KB a line)
            write(
                b"HTTP/1.1 200 OK\r\nX-A: "
                + b"a" * 60_000
                + b"\r\nX-B: "
                + b"b" * 60_000
                + b"\r\nContent-Length: 2\r\n\r\nok"
            )
        elif path == "/stall":
            await _until_eof(reader)
            return False
        elif path == "/head-then-stall":
            write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nX-Head: only\r\n\r\n")
            await writer.drain()
            await _until_eof(reader)
            return False
        elif path == "/stall-body":
            write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789")
            await _until_eof(reader)
            return False
        elif path == "/close-after":
            write(OK)
            await writer.drain()
            await asyncio.sleep(float(args.get("after", 0.05)))
            return False
        elif path == "/second-fails":
            if served >= 2:
                return False
            write(OK)
        elif path == "/http10":
            write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close")
            await writer.drain()
            return False
        elif path == "/trailers":
            write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc123\r\n\r\n"
            )
        elif path == "/folded":
            write(b"HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 2\r\n\r\nok")
        elif path == "/informational":
            write(b"HTTP/1.1 100 Continue\r\n\r\n")
            write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
            write(OK)
        elif path == "/sized":
            size = int(args.get("size", 100))
            fill = args.get("fill", "x").encode()[:1]
            first = min(size, int(args.get("first", size)))
            write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size + fill * first)
            if first < size:
                await writer.drain()
                await asyncio.sleep(float(args.get("pause", 0)))
                left = size - first
                step = int(args.get("step", left))
                while left > 0:
                    piece = min(step, left)
                    write(fill * piece)
                    left -= piece
                    if left:
                        await writer.drain()
                        every = float(args.get("every", 0))
                        if every < 0.001:  # finer than the loop's timers: block briefly
                            time.sleep(every)  # noqa: ASYNC251 - on purpose, see above
                        else:
                            await asyncio.sleep(every)
        elif path == "/early-close":
            write(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\n"
                b"Connection: close\r\n\r\nbig"
            )
            await writer.drain()
            await asyncio.sleep(0.05)
            return False
        else:
            write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        return True
