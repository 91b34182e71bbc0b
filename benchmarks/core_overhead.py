"""The core's own cost per call: HttpClient over an engine that answers at once.

Usage: .venv/bin/python benchmarks/core_overhead.py [asyncio|trio]

Prints the best of 7 runs of 5,000 sequential GETs, in microseconds per request. The
engine does no I/O, so this is the pipeline alone: builder, plugins, guard, response.
Then the Python-level function calls per request (core, backend and this file's engine),
a count that, unlike the time, does not depend on how busy the machine is.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

import anyio

from client_core import HttpClient
from client_core.engine import (
    BytesResponseBody,
    HttpClientEngine,
    HttpClientEngineConfig,
    HttpRequestData,
    HttpResponseData,
)
from client_core.http import Headers, HttpStatusCode

HEADERS = Headers({"Content-Type": "text/plain", "Content-Length": "13"})


@dataclass(kw_only=True)
class InstantConfig(HttpClientEngineConfig):
    request_timeout: float | None = 15.0  # like CIO's default, so the guard is armed


class InstantEngine(HttpClientEngine[InstantConfig]):
    name = "instant"
    config_class = InstantConfig

    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=HEADERS,
            body=BytesResponseBody(b"Hello, world!"),
        )


async def main() -> None:
    async with HttpClient(InstantEngine()) as client:
        best = float("inf")
        for _ in range(7):
            start = time.perf_counter()
            for _ in range(5000):
                await client.get("http://127.0.0.1:8080/")
            best = min(best, (time.perf_counter() - start) / 5000 * 1e6)
        calls = 0

        def count(frame: FrameType, event: str, arg: Any) -> None:
            nonlocal calls
            if event == "call":
                calls += 1

        sys.setprofile(count)
        for _ in range(100):
            await client.get("http://127.0.0.1:8080/")
        sys.setprofile(None)
    print(f"{anyio_backend}: {best:.1f} us per request (best of 7 x 5,000)")
    print(f"{anyio_backend}: {calls / 100:.0f} Python calls per request")


if __name__ == "__main__":
    anyio_backend = sys.argv[1] if len(sys.argv) > 1 else "asyncio"
    anyio.run(main, backend=anyio_backend)
