"""Hypercorn in a thread: HTTP/2 over TLS (ALPN), h2c with prior knowledge, and HTTP/3.

The app reports how each request arrived (HTTP version, the client's port, so tests can
count connections) and serves bodies for streaming tests.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

from tests.servers.proxy import wait_for_port

PATTERN = bytes(range(256)) * 256


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if path.startswith("/bytes/"):
        size = int(path.rsplit("/", 1)[1])
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")],
            }
        )
        sent = 0
        while sent < size:
            piece = PATTERN[: min(len(PATTERN), size - sent)]
            sent += len(piece)
            await send({"type": "http.response.body", "body": piece, "more_body": sent < size})
        return
    if path.startswith("/sleep/"):
        await asyncio.sleep(float(path.rsplit("/", 1)[1]))
    payload = {
        "http_version": scope["http_version"],
        "client_port": scope["client"][1] if scope.get("client") else None,
        "method": scope["method"],
        "path": path,
        "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
        "body_length": len(body),
    }
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


@dataclass(frozen=True)
class H2Server:
    """Where the server listens: ``port`` over TCP (and UDP for HTTP/3)."""

    port: int
    scheme: str

    def url(self, path: str) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"


def _free_port() -> int:
    """A port free for TCP and for UDP on loopback (for HTTP/3 next to HTTP/2)."""
    for _ in range(20):
        with socket.socket() as tcp, socket.socket(type=socket.SOCK_DGRAM) as udp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            try:
                udp.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@contextmanager
def serve_hypercorn_quic(certfile: str, keyfile: str) -> Iterator[H2Server]:
    """Run the app under hypercorn with HTTP/3 (QUIC) and HTTP/2, in a subprocess.

    A subprocess, because hypercorn leaves its QUIC transport unclosed on shutdown.
    """
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hypercorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--quic-bind",
            f"127.0.0.1:{port}",
            "--certfile",
            certfile,
            "--keyfile",
            keyfile,
            "--log-level",
            "ERROR",
            "tests.curl.h2_server:app",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process, time.monotonic() + 15, "hypercorn")
        yield H2Server(port, "https")
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve_hypercorn(certfile: str | None = None, keyfile: str | None = None) -> Iterator[H2Server]:
    """Run the app under hypercorn on a free loopback port, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]  # hypercorn owns (and closes) the socket
    if certfile is not None:
        config.certfile = certfile
        config.keyfile = keyfile
    config.loglevel = "ERROR"
    config.accesslog = None
    config.errorlog = None
    config.keep_alive_timeout = 30
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    started = threading.Event()

    async def main() -> None:
        async def trigger() -> None:
            started.set()
            await stop.wait()

        await serve(app, config, shutdown_trigger=trigger)  # type: ignore[arg-type]

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield H2Server(port, "https" if certfile else "http")
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
