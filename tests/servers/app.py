"""The ASGI test application served by uvicorn (plain and TLS) for engine tests.

Routes (all answer JSON unless said otherwise):

- ``/echo``: method, path, raw query, query args, headers (pairs), body (Latin-1 text),
  body length and whether the body came chunked;
- ``/status/{code}``: that status, body ``"status {code}"`` (none for 1xx/204/304);
- ``/delay/{seconds}``: answers after sleeping;
- ``/drip?chunks=N&size=S&delay=D``: a streamed body of N chunks of S bytes, D seconds apart;
- ``/bytes/{n}``: n bytes of a repeating pattern, with Content-Length;
- ``/stream-bytes/{n}``: the same bytes, chunked in 64 KiB pieces;
- ``/upload``: reads the body, answers its length and SHA-256;
- ``/redirect/{n}``: 302 to ``/redirect/{n-1}``, ``/redirect/0`` is ``/echo``;
- ``/redirect-to?url=U&status=S``: a redirect to U;
- ``/gzip``: a gzip-encoded JSON body;
- ``/cookies/set?name=value``: ``Set-Cookie`` for each parameter;
- ``/close``: answers with ``Connection: close``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import anyio

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATTERN = bytes(range(256)) * 256  # 64 KiB


def pattern_bytes(n: int) -> bytes:
    """The deterministic body of ``/bytes/{n}``."""
    full, rest = divmod(n, len(PATTERN))
    return PATTERN * full + PATTERN[:rest]


async def read_body(receive: Receive) -> bytes:
    """The whole request body of an ASGI request."""
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(parts)


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    headers: list[tuple[bytes, bytes]] | None = None,
    content_type: bytes = b"application/json",
) -> None:
    all_headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    all_headers += headers or []
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body})


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    path: str = scope["path"]
    query = scope["query_string"].decode("latin-1")
    args = dict(parse_qsl(query))
    parts = path.strip("/").split("/")
    head, rest = parts[0], parts[1:]
    method = scope["method"]

    if head == "echo" or path == "/":
        body = await read_body(receive)
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        chunked = any(k == "transfer-encoding" for k, _ in headers)
        await respond(
            send,
            200,
            _json(
                {
                    "method": method,
                    "path": path,
                    "query": query,
                    "args": args,
                    "headers": headers,
                    "body": body.decode("latin-1"),
                    "body_length": len(body),
                    "chunked": chunked,
                }
            ),
        )
    elif head == "status":
        await read_body(receive)
        code = int(rest[0])
        if code in (204, 304) or code < 200:
            await send({"type": "http.response.start", "status": code, "headers": []})
            await send({"type": "http.response.body", "body": b""})
        else:
            await respond(send, code, f"status {code}".encode(), content_type=b"text/plain")
    elif head == "delay":
        await read_body(receive)
        await anyio.sleep(float(rest[0]))
        await respond(send, 200, _json({"delayed": float(rest[0])}))
    elif head == "drip":
        chunks, size = int(args.get("chunks", 10)), int(args.get("size", 1))
        delay = float(args.get("delay", 0.01))
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")],
            }
        )
        for _ in range(chunks):
            await anyio.sleep(delay)
            await send({"type": "http.response.body", "body": b"*" * size, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif head == "bytes":
        await respond(
            send, 200, pattern_bytes(int(rest[0])), content_type=b"application/octet-stream"
        )
    elif head == "stream-bytes":
        n = int(rest[0])
        data = pattern_bytes(n)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/octet-stream")],
            }
        )
        for i in range(0, n, 65536):
            await send(
                {"type": "http.response.body", "body": data[i : i + 65536], "more_body": True}
            )
        await send({"type": "http.response.body", "body": b""})
    elif head == "upload":
        body = await read_body(receive)
        chunked = any(k == b"transfer-encoding" for k, _ in scope["headers"])
        await respond(
            send,
            200,
            _json(
                {
                    "length": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "chunked": chunked,
                }
            ),
        )
    elif head == "redirect":
        n = int(rest[0])
        location = "/echo" if n <= 1 else f"/redirect/{n - 1}"
        await respond(send, 302, b"", [(b"location", location.encode())])
    elif head == "redirect-to":
        status = int(args.get("status", 302))
        await respond(send, status, b"", [(b"location", args["url"].encode())])
    elif head == "gzip":
        payload = _json({"gzipped": True, "method": method})
        await respond(send, 200, gzip.compress(payload), [(b"content-encoding", b"gzip")])
    elif head == "cookies" and rest[:1] == ["set"]:
        cookies = [(b"set-cookie", f"{k}={v}; Path=/".encode()) for k, v in args.items()]
        await respond(send, 200, _json(args), cookies)
    elif head == "close":
        await read_body(receive)
        await respond(
            send, 200, b"closing", [(b"connection", b"close")], content_type=b"text/plain"
        )
    else:
        await respond(send, 404, b"not found", content_type=b"text/plain")
