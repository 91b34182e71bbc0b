"""A mock site answering the URLs of the plugin documentation pages (see test_docs.py)."""

from __future__ import annotations

import gzip
import json
from typing import Any

import anyio

from client_core.engine import HttpResponseData
from client_mock import MockEngine, MockRequest, respond


class DocSite(MockEngine):
    """``/users/1`` (JSON, gzip when accepted, 10 ms late), ``/flaky`` (503 then 200),
    ``/big.iso`` and ``/export.csv`` (streamed), anything else: a JSON echo."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.flaky_calls = 0
        if not self.config.request_handlers:
            self.config.add_handler(self.answer)

    async def answer(self, request: MockRequest) -> HttpResponseData:
        path = request.url.path
        if path == "/flaky":
            self.flaky_calls += 1
            return respond(
                "busy" if self.flaky_calls % 2 else "ok",
                status=503 if self.flaky_calls % 2 else 200,
            )
        if path == "/big.iso":
            return respond([b"\0" * 4096] * 8)
        if path == "/export.csv":
            return respond([b"a,b\n1,2\n", b"3,4\n"], headers={"Content-Type": "text/csv"})
        await anyio.sleep(0.01)
        body = json.dumps({"id": 1, "path": path, "method": str(request.method)}).encode()
        headers = {"Content-Type": "application/json"}
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            body = gzip.compress(body)
            headers["Content-Encoding"] = "gzip"
        return respond(body, headers=headers)
