"""pproxy as a real HTTP and SOCKS proxy, in a subprocess on loopback ports."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

USER = "proxyuser"
PASSWORD = "proxy-secret"


@dataclass(frozen=True)
class ProxyInfo:
    """A running pproxy: an open port (http+socks4+socks5) and one needing credentials."""

    open_port: int
    auth_port: int
    user: str = USER
    password: str = PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(
    port: int, process: subprocess.Popen[bytes], deadline: float, name: str = "pproxy"
) -> None:
    """Wait until ``process`` listens on ``port`` (loopback), or fail naming it."""
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start") from None
            time.sleep(0.02)


@contextmanager
def run_pproxy() -> Iterator[ProxyInfo]:
    """Start pproxy listening on two free ports; stop it on exit."""
    for _ in range(3):
        open_port, auth_port = _free_port(), _free_port()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "pproxy",
                "-l",
                f"http+socks4+socks5://127.0.0.1:{open_port}",
                "-l",
                f"http+socks5://127.0.0.1:{auth_port}#{USER}:{PASSWORD}",
                "--auth",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            wait_for_port(open_port, process, deadline)
            wait_for_port(auth_port, process, deadline)
        except RuntimeError:
            process.kill()
            process.wait()
            continue
        try:
            yield ProxyInfo(open_port, auth_port)
        finally:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return
    raise RuntimeError("could not start pproxy")
