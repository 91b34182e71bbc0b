"""The curl engine in the benchmark harness: ``curl`` and ``curl-engine`` clients.

Registers two clients in ``harness.CLIENTS`` and runs the harness, so every harness
option works::

    .venv/bin/python benchmarks/curl_bench.py --clients curl,curl-engine,aiohttp --quick
    .venv/bin/python benchmarks/curl_bench.py --clients curl,curl-engine,cio,aiohttp \\
        --workloads 1,2,3,4 --repeat 5 --seconds 1.0

- ``curl``: ``HttpClient(Curl)`` with default plugins: what a user runs;
- ``curl-engine``: ``Curl.execute()`` and ``ResponseBody.read_all()`` with a prebuilt
  ``HttpRequestData``: the engine alone, so ``curl`` minus ``curl-engine`` is the core's cost.

Each gets ``max_connections_per_host`` equal to the concurrency, as the other clients.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from harness import POST_BODY, Request, Workload


class CurlClient:
    """The curl engine through the whole HttpClient pipeline."""

    def __init__(self, base: str, workload: Workload) -> None:
        from client_core import HttpClient
        from client_curl import Curl

        self.url = base + workload.path
        self.workload = workload
        limit = max(workload.concurrency, 1)
        self.client = HttpClient(Curl, lambda c: c.engine(max_connections_per_host=limit))

    async def __aenter__(self) -> Request:
        client, url = self.client, self.url
        if self.workload.method == "POST":

            async def post() -> None:
                response = await client.post(url, body=POST_BODY)
                assert response.status == 200

            return post

        async def get() -> None:
            response = await client.get(url)
            assert response.status == 200

        return get

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()


class CurlEngineClient:
    """The curl engine alone (``engine.execute`` + ``read_all``)."""

    def __init__(self, base: str, workload: Workload) -> None:
        from client_core.engine import HttpRequestData
        from client_core.http import Headers, HttpMethod, Url
        from client_curl import Curl

        limit = max(workload.concurrency, 1)
        self.engine = Curl.create(max_connections_per_host=limit)
        body = POST_BODY if workload.method == "POST" else b""
        self.request = HttpRequestData(
            method=HttpMethod.parse(workload.method),
            url=Url(base + workload.path),
            headers=Headers({"Accept": "*/*"}),
            body=body,
            content_length=len(body),
        )

    async def __aenter__(self) -> Request:
        engine, request = self.engine, self.request

        async def run() -> None:
            response = await engine.execute(request)
            await response.body.read_all()
            assert response.status == 200

        return run

    async def __aexit__(self, *exc: object) -> None:
        await self.engine.aclose()


CURL_CLIENTS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "curl": (CurlClient, ("asyncio", "trio")),
    "curl-engine": (CurlEngineClient, ("asyncio", "trio")),
}


def main() -> None:
    harness.CLIENTS.update(CURL_CLIENTS)
    if not any(arg.startswith("--clients") for arg in sys.argv[1:]):
        sys.argv[1:1] = ["--clients", "curl,curl-engine,cio,aiohttp"]
    harness.main()


if __name__ == "__main__":
    main()
