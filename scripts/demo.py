"""A tour of the client against a real server embedded in this process.

Starts uvicorn in a thread (a tiny ASGI app on 127.0.0.1, a free port), then makes a few
requests with ``HttpClient()``: the engine is discovered from the installed distributions
(``CLIENT_ENGINE=curl`` picks another one). Run: ``.venv/bin/python scripts/demo.py``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import uvicorn

from client_core import ClientRequestException, HttpClient, engines

Message = MutableMapping[str, Any]


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """Routes: ``/hello``, ``/echo`` (JSON of the request), ``/numbers`` (streamed), else 404."""
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    path = scope["path"]

    async def respond(status: int, data: bytes, content_type: bytes = b"text/plain") -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", content_type)],
            }
        )
        await send({"type": "http.response.body", "body": data})

    if path == "/hello":
        await respond(200, b"Hello from the embedded server!")
    elif path == "/echo":
        echo = {"method": scope["method"], "json": json.loads(body or b"null")}
        await respond(200, json.dumps(echo).encode(), b"application/json")
    elif path == "/numbers":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain")],
            }
        )
        for i in range(5):
            await anyio.sleep(0.05)
            await send({"type": "http.response.body", "body": f"{i}\n".encode(), "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        await respond(404, f"nothing at {path}".encode())


def start_server() -> tuple[uvicorn.Server, threading.Thread, str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, lifespan="off", ws="none", log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"


async def tour(base: str) -> None:
    print("installed engines:")
    for info in engines():
        print(f"  {info.name:5} {info.distribution} {info.version} compatible={info.compatible}")
    async with HttpClient() as client:
        print(f"\nHttpClient() picked the {client.engine.name!r} engine\n")

        response = await client.get(f"{base}/hello")
        print(f"GET /hello -> {response.status} {await response.text()!r}")

        response = await client.post(f"{base}/echo", json={"language": "python", "n": 3})
        print(f"POST /echo (json) -> {response.status} {await response.json()}")

        print("GET /numbers, streamed with body_as_channel():")
        started = time.monotonic()
        async with client.stream("GET", f"{base}/numbers") as response:
            async for chunk in response.body_as_channel():
                print(f"  +{time.monotonic() - started:.2f}s chunk {chunk!r}")

        try:
            await client.get(f"{base}/missing", expect_success=True)
        except ClientRequestException as exc:
            print(f"GET /missing with expect_success -> {type(exc).__name__}: {exc}")


def main() -> None:
    server, thread, base = start_server()
    try:
        anyio.run(tour, base)
    finally:
        server.should_exit = True
        thread.join(5)


if __name__ == "__main__":
    main()
