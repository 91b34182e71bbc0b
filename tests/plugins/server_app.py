"""An ASGI app for the plugin interaction tests on real engines (tests/conformance).

It complements tests/servers/app.py with what plugins need: answers that change from one
attempt to the next (retries), bodies in every content coding, and decompression bombs.

Routes:

- ``/flaky/{key}?fail=N&status=S&retry_after=R&delay=D``: the first N requests for ``key``
  answer status S (default 503, with ``Retry-After: R`` when given) after sleeping D
  seconds (default 0); later ones answer 200 at once with a JSON echo (attempt number,
  method, headers, body length, body SHA-256);
- ``/flaky-drip/{key}?fail=N&chunks=C&size=B&delay=D``: like ``/flaky``, then a streamed
  body of C chunks of B bytes, D seconds apart;
- ``/count/{key}``: how many requests ``key`` received;
- ``/go?url=U&status=S``: a redirect (default 302) to U;
- ``/encoded/{coding}?n=BYTES&chunk=SIZE&delay=D&length=0|1``: ``text_bytes(n)`` encoded
  with ``coding`` (gzip, deflate, br, zstd, or "gzip,br" for stacked codings), streamed in
  chunks, with ``Content-Length`` when ``length=1`` (the default);
- ``/bomb/{coding}?mb=N``: N MiB of zeros, encoded.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

import anyio
import brotli
import pytest
import zstandard

from tests.servers.app import read_body, respond
from tests.servers.uvicorn_server import ServerInfo, serve_asgi

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_lock = threading.Lock()
_counts: dict[str, int] = {}


def text_bytes(n: int) -> bytes:
    """The deterministic, compressible text of ``/encoded``."""
    line = b"the quick brown fox jumps over the lazy dog 0123456789\n"
    return (line * (n // len(line) + 1))[:n]


def encode(data: bytes, coding: str) -> bytes:
    for name in coding.split(","):
        name = name.strip()
        if name == "gzip":
            data = gzip.compress(data, 6)
        elif name == "deflate":
            data = zlib.compress(data)
        elif name == "br":
            data = brotli.compress(data, quality=5)
        elif name == "zstd":
            data = zstandard.ZstdCompressor().compress(data)
        else:
            raise ValueError(name)
    return data


@lru_cache(maxsize=16)
def encoded(n: int, coding: str) -> bytes:
    return encode(text_bytes(n), coding)


@lru_cache(maxsize=4)
def bomb(mb: int, coding: str) -> bytes:
    return encode(b"\0" * (mb * 1024 * 1024), coding)


def _attempt(key: str) -> int:
    with _lock:
        _counts[key] = _counts.get(key, 0) + 1
        return _counts[key]


async def _stream(
    send: Send,
    chunks: Iterator[bytes],
    delay: float,
    headers: list[tuple[bytes, bytes]],
) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    for chunk in chunks:
        if delay:
            await anyio.sleep(delay)
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    parts = scope["path"].strip("/").split("/")
    head, rest = parts[0], parts[1:]
    args = dict(parse_qsl(scope["query_string"].decode("latin-1")))
    body = await read_body(receive)

    if head in ("flaky", "flaky-drip"):
        key = rest[0]
        attempt = _attempt(key)
        if attempt <= int(args.get("fail", 1)):
            await anyio.sleep(float(args.get("delay", 0)))
            extra = []
            if "retry_after" in args:
                extra.append((b"retry-after", args["retry_after"].encode()))
            status = int(args.get("status", 503))
            await respond(send, status, f"attempt {attempt}".encode(), extra, b"text/plain")
        elif head == "flaky":
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
            echo = {
                "attempt": attempt,
                "method": scope["method"],
                "headers": headers,
                "length": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
            }
            await respond(send, 200, json.dumps(echo).encode())
        else:
            count, size = int(args.get("chunks", 5)), int(args.get("size", 10))
            await _stream(
                send,
                iter([b"*" * size] * count),
                float(args.get("delay", 0.01)),
                [(b"content-type", b"text/plain")],
            )
    elif head == "go":
        location = args["url"].encode()
        await respond(send, int(args.get("status", 302)), b"", [(b"location", location)])
    elif head == "count":
        with _lock:
            count = _counts.get(rest[0], 0)
        await respond(send, 200, json.dumps({"count": count}).encode())
    elif head == "encoded":
        coding = rest[0]
        data = encoded(int(args.get("n", 100_000)), coding)
        size = int(args.get("chunk", 16384))
        headers = [(b"content-type", b"text/plain"), (b"content-encoding", coding.encode())]
        if args.get("length", "1") == "1":
            headers.append((b"content-length", str(len(data)).encode()))
        pieces = (data[i : i + size] for i in range(0, len(data), size))
        await _stream(send, pieces, float(args.get("delay", 0)), headers)
    elif head == "bomb":
        coding = rest[0]
        data = bomb(int(args.get("mb", 64)), coding)
        pieces = (data[i : i + 4096] for i in range(0, len(data), 4096))
        await _stream(send, pieces, 0.0, [(b"content-encoding", coding.encode())])
    else:
        await respond(send, 404, b"not found", content_type=b"text/plain")


@pytest.fixture(scope="session", name="plugins_server")
def plugins_server_fixture() -> Iterator[ServerInfo]:
    """The plugin test app on a loopback port (a second origin next to ``http_server``)."""
    with serve_asgi(app) as info:
        yield info
