"""Run nginx on loopback with its own configuration, for the benchmark."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SMALL = b"Hello, World!"  # 13 bytes
LARGE_SIZE = 1024 * 1024

CONFIG = """
worker_processes {workers};
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 120s;
    keepalive_requests 10000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {prefix}/www;
        location = /post {{
            client_max_body_size 10m;
            client_body_buffer_size 1m;
            return 200 "ok";
        }}
    }}
}}
"""


def find_nginx() -> str | None:
    for candidate in (shutil.which("nginx"), "/usr/sbin/nginx"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_nginx(workers: int = 1) -> Iterator[str]:
    """Start nginx; yield its base URL (``/small``, ``/large``, ``/post``)."""
    binary = find_nginx()
    if binary is None:
        raise RuntimeError("nginx is not installed (scripts/bench.sh installs it)")
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as prefix:
        os.chmod(prefix, 0o755)  # nginx workers run as an unprivileged user
        www = Path(prefix) / "www"
        www.mkdir(mode=0o755)
        (www / "small").write_bytes(SMALL)
        (www / "large").write_bytes(os.urandom(LARGE_SIZE))
        port = free_port()
        conf = Path(prefix) / "nginx.conf"
        conf.write_text(CONFIG.format(prefix=prefix, port=port, workers=workers))
        process = subprocess.Popen(
            [binary, "-p", prefix, "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        err = process.stderr.read().decode() if process.stderr else ""
                        raise RuntimeError(f"nginx did not start: {err}") from None
                    time.sleep(0.05)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(10)
