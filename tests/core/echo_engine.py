"""A tiny in-process engine for core tests; real engines are proven in tests/conformance."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from client_core.engine import (
    BytesResponseBody,
    EngineCapability,
    HttpClientEngine,
    HttpClientEngineConfig,
    HttpRequestData,
    HttpResponseData,
)
from client_core.http import Headers, HttpStatusCode

Handler = Callable[[HttpRequestData, bytes], Awaitable[HttpResponseData] | HttpResponseData]


async def read_body(request: HttpRequestData) -> bytes:
    if isinstance(request.body, bytes):
        return request.body
    return b"".join([chunk async for chunk in request.body])


def echo(request: HttpRequestData, body: bytes) -> HttpResponseData:
    payload = {
        "method": str(request.method),
        "url": str(request.url),
        "headers": [[k, v] for k, v in request.headers.items()],
        "body": body.decode("latin-1"),
        "content_length": request.content_length,
    }
    return HttpResponseData(
        status=HttpStatusCode.OK,
        version="HTTP/1.1",
        headers=Headers({"Content-Type": "application/json"}),
        body=BytesResponseBody(json.dumps(payload).encode()),
    )


class EchoEngine(HttpClientEngine[HttpClientEngineConfig]):
    """Answers with a JSON echo of the request, or what ``handler`` returns."""

    name = "echo"
    capabilities = frozenset({EngineCapability.TIMEOUT})

    def __init__(
        self, config: HttpClientEngineConfig | None = None, handler: Handler | None = None
    ) -> None:
        super().__init__(config)
        self.handler: Handler = handler or echo
        self.requests: list[HttpRequestData] = []
        self.shutdowns = 0

    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        self.check_open(request)
        self.requests.append(request)
        body = await read_body(request)
        result: Any = self.handler(request, body)
        if isinstance(result, Awaitable):
            result = await result
        assert isinstance(result, HttpResponseData)
        return result

    async def _shutdown(self) -> None:
        self.shutdowns += 1
