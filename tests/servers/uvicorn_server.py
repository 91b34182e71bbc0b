"""Run an ASGI app under uvicorn in a background thread, on a loopback port."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn


@dataclass(frozen=True)
class ServerInfo:
    """A running server: where it listens."""

    host: str
    port: int
    scheme: str = "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def serve_asgi(
    app: Any,
    *,
    certfile: str | None = None,
    keyfile: str | None = None,
    unix_socket: str | None = None,
) -> Iterator[ServerInfo]:
    """Serve ``app`` on 127.0.0.1 (a free port) or on a Unix socket, in a thread."""
    if unix_socket is not None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(unix_socket)
    else:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
    port = 0 if unix_socket is not None else sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        lifespan="off",
        ws="none",
        http="h11",
        log_level="error",
        access_log=False,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
        ssl_cert_reqs=ssl.CERT_NONE,
        timeout_keep_alive=30,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-test", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield ServerInfo("127.0.0.1", port, "https" if certfile else "http")
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
