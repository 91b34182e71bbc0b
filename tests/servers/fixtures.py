"""Pytest fixtures starting the loopback test servers (import them in a conftest).

Servers run in threads or subprocesses, so they serve asyncio and trio tests alike, and
are session-scoped: started once, on first use.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers.app import app
from tests.servers.hostile import HostileServer
from tests.servers.proxy import ProxyInfo, run_pproxy
from tests.servers.tls import TLSFiles, make_tls_files
from tests.servers.uvicorn_server import ServerInfo, serve_asgi

__all__ = [
    "blackhole",
    "fd_count",
    "hostile",
    "hostile_server",
    "http_server",
    "https_server",
    "proxy_server",
    "tls_files",
    "unix_server",
]


def fd_count() -> int:
    """Open file descriptors of this process."""
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="session")
def http_server() -> Iterator[ServerInfo]:
    with serve_asgi(app) as info:
        yield info


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def https_server(tls_files: TLSFiles) -> Iterator[ServerInfo]:
    with serve_asgi(app, certfile=tls_files.cert_file, keyfile=tls_files.key_file) as info:
        yield info


@pytest.fixture(scope="session")
def unix_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    path = str(Path(tmp_path_factory.mktemp("unix")) / "server.sock")
    with serve_asgi(app, unix_socket=path):
        yield path


@pytest.fixture(scope="session")
def proxy_server() -> Iterator[ProxyInfo]:
    with run_pproxy() as info:
        yield info


@pytest.fixture(scope="session")
def hostile_server() -> Iterator[HostileServer]:
    server = HostileServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def hostile(hostile_server: HostileServer) -> HostileServer:
    """The hostile server with its counters reset for this test."""
    hostile_server.stats.reset()
    return hostile_server


@pytest.fixture(scope="session")
def blackhole() -> Iterator[tuple[str, int]]:
    """An address whose connects hang: a listener with a full accept queue (Linux)."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(address)
        fillers.append(filler)
    try:
        yield ("127.0.0.1", int(address[1]))
    finally:
        for filler in fillers:
            filler.close()
        listener.close()
