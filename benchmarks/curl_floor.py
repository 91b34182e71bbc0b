"""The floor under any libcurl engine: a bare socket-action bridge with no features.

``curl-floor`` in the harness drives pycurl's ``CurlMulti`` from asyncio the plain way
(``add_reader``/``add_writer`` per socket announcement, ``call_later`` per timer request)
and does nothing else per request: no options beyond the URL, no head parsing, no
response object, no errors of ours. It is the "minimal pycurl socket-action bridge" that
issue 4 measures against, kept here so that each run shows how far from it the engine
(``curl-engine``) and the whole client (``curl``) are, and what ratio to aiohttp the
bridge itself reaches on this machine.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pycurl
from harness import Request, Workload


class FloorBridge:
    """libcurl's multi interface on an asyncio loop, with the fewest Python frames."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.multi = multi = pycurl.CurlMulti()
        multi.setopt(pycurl.M_SOCKETFUNCTION, self._on_socket)
        multi.setopt(pycurl.M_TIMERFUNCTION, self._on_timer)
        self.timer: asyncio.TimerHandle | None = None
        self.running = 0
        self.watched: set[int] = set()

    def _on_socket(self, what: int, fd: int, multi: Any, data: Any) -> None:
        loop = self.loop
        if fd in self.watched:
            loop.remove_reader(fd)
            loop.remove_writer(fd)
            self.watched.discard(fd)
        if what == pycurl.POLL_REMOVE:
            return
        if what & pycurl.POLL_IN:
            loop.add_reader(fd, self._act, fd, pycurl.CSELECT_IN)
        if what & pycurl.POLL_OUT:
            loop.add_writer(fd, self._act, fd, pycurl.CSELECT_OUT)
        self.watched.add(fd)

    def _on_timer(self, ms: int) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if ms >= 0:
            self.timer = self.loop.call_later(ms / 1000, self._act, pycurl.SOCKET_TIMEOUT, 0)

    def _act(self, fd: int, events: int) -> None:
        running = self.multi.socket_action(fd, events)[1]
        if running < self.running:
            self.running = running
            while True:
                queued, ok, failed = self.multi.info_read()
                for easy in ok:
                    self.multi.remove_handle(easy)
                    easy.future.set_result(None)
                for easy, _code, message in failed:
                    self.multi.remove_handle(easy)
                    easy.future.set_exception(OSError(message))
                if not queued:
                    break

    async def fetch(self, easy: Any) -> None:
        easy.future = self.loop.create_future()
        self.multi.add_handle(easy)
        self.running += 1
        await easy.future

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        for fd in self.watched:
            self.loop.remove_reader(fd)
            self.loop.remove_writer(fd)
        self.multi.close()


class CurlFloorClient:
    """The bare bridge: one reused easy handle per worker, the body into a list."""

    def __init__(self, base: str, workload: Workload) -> None:
        self.url = base + workload.path
        self.workload = workload
        self.bridge: FloorBridge | None = None
        self.handles: list[Any] = []

    async def __aenter__(self) -> Request:
        bridge = self.bridge = FloorBridge(asyncio.get_running_loop())
        free = self.handles
        url = self.url
        post = self.workload.method == "POST"
        from harness import POST_BODY

        async def run() -> None:
            easy = free.pop() if free else None
            if easy is None:
                easy = pycurl.Curl()
                easy.setopt(pycurl.URL, url)
                easy.setopt(pycurl.NOSIGNAL, 1)
                easy.headers = []
                easy.setopt(pycurl.HEADERFUNCTION, easy.headers.append)
                if post:
                    easy.setopt(pycurl.POSTFIELDS, POST_BODY)
            easy.headers.clear()
            chunks: list[bytes] = []
            easy.setopt(pycurl.WRITEFUNCTION, chunks.append)
            await bridge.fetch(easy)
            b"".join(chunks)
            assert easy.getinfo(pycurl.RESPONSE_CODE) == 200
            free.append(easy)

        return run

    async def __aexit__(self, *exc: object) -> None:
        if self.bridge is not None:
            self.bridge.close()
        for easy in self.handles:
            easy.close()
