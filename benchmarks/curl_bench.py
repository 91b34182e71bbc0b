"""The curl engine in the benchmark harness: ``curl`` and ``curl-engine`` clients.

Registers two clients in ``harness.CLIENTS`` and runs the harness, so every harness
option works::

    .venv/bin/python benchmarks/curl_bench.py --clients curl,curl-engine,aiohttp --quick
    .venv/bin/python benchmarks/curl_bench.py --clients curl,curl-engine,cio,aiohttp \\
        --workloads 1,2,3,4 --repeat 5 --seconds 1.0

- ``curl``: ``HttpClient(Curl)`` with default plugins: what a user runs;
- ``curl-engine``: ``Curl.execute()`` and ``ResponseBody.read_all()`` with a prebuilt
  ``HttpRequestData``: the engine alone, so ``curl`` minus ``curl-engine`` is the core's cost;
- ``curl-floor``: a bare pycurl socket-action bridge with no features (``curl_floor.py``),
  asyncio only: the floor any libcurl engine in Python stands on.

Each gets ``max_connections_per_host`` equal to the concurrency, as the other clients.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness
from curl_floor import CurlFloorClient


def curl_setup(limit: int) -> tuple[Any, dict[str, Any]]:
    """The curl engine factory and its options for ``limit`` connections."""
    from client_curl import Curl

    return Curl, {"max_connections_per_host": limit}


class CurlClient(harness.CioClient):
    """The curl engine through the whole HttpClient pipeline."""

    engine_setup = staticmethod(curl_setup)


class CurlEngineClient(harness.CioEngineClient):
    """The curl engine alone (``engine.execute`` + ``read_all``)."""

    engine_setup = staticmethod(curl_setup)


CURL_CLIENTS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "curl": (CurlClient, ("asyncio", "trio")),
    "curl-engine": (CurlEngineClient, ("asyncio", "trio")),
    "curl-floor": (CurlFloorClient, ("asyncio",)),
}


def main() -> None:
    harness.CLIENTS.update(CURL_CLIENTS)
    if not any(arg.startswith("--clients") for arg in sys.argv[1:]):
        sys.argv[1:1] = ["--clients", "curl,curl-engine,cio,aiohttp"]
    harness.main()


if __name__ == "__main__":
    main()
