"""Benchmark harness: CIO (through HttpClient and bare) against httpx and aiohttp.

Runs every client on the same nginx (started here on loopback), interleaving clients
within each repetition, and reports medians and ratios. Usage::

    .venv/bin/python benchmarks/harness.py [--repeat 5] [--seconds 1.0] [--quick]
        [--clients cio,cio-engine,httpx,aiohttp] [--backends asyncio,trio]
        [--output benchmarks/RESULTS.md]

The numbers are requests per second (higher is better) and client CPU time per request
(the measuring process; nginx runs in its own process). Each measurement runs in a fresh
Python process (``--same-process`` runs them all in this one): what one client leaves
behind (its heap, the allocator's thresholds, threads, the collector's generations)
otherwise weighs on the clients measured after it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nginx import run_nginx

POST_BODY = os.urandom(64 * 1024)


@dataclass(frozen=True)
class Workload:
    name: str
    method: str
    path: str
    concurrency: int
    min_requests: int

    @property
    def label(self) -> str:
        return f"{self.name} c={self.concurrency}"


WORKLOADS = [
    Workload("GET 13 B", "GET", "/small", 1, 500),
    Workload("GET 13 B", "GET", "/small", 16, 2000),
    Workload("GET 13 B", "GET", "/small", 64, 2000),
    Workload("GET 1 MiB", "GET", "/large", 8, 100),
    Workload("POST 64 KiB", "POST", "/post", 8, 500),
]

Request = Callable[[], Awaitable[None]]
Session = Callable[[str, Workload], Any]  # async context manager yielding a Request


# -- clients ------------------------------------------------------------------------------


def cio_setup(limit: int) -> tuple[Any, dict[str, Any]]:
    """The CIO engine factory and its options for ``limit`` connections."""
    from client_cio import CIO

    return CIO, {"max_connections": limit, "endpoint": {"max_connections_per_route": limit}}


class CioClient:
    """CIO through the whole HttpClient pipeline (what users run).

    Subclasses for other engines replace ``engine_setup``.
    """

    engine_setup = staticmethod(cio_setup)

    def __init__(self, base: str, workload: Workload) -> None:
        from client_core import HttpClient

        self.url = base + workload.path
        self.workload = workload
        factory, options = self.engine_setup(max(workload.concurrency, 1))
        self.client = HttpClient(factory, lambda c: c.engine(**options))

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


class CioEngineClient:
    """The CIO engine alone (``engine.execute`` + ``read_all``): the core's cost excluded.

    Subclasses for other engines replace ``engine_setup``.
    """

    engine_setup = staticmethod(cio_setup)

    def __init__(self, base: str, workload: Workload) -> None:
        from client_core.engine import HttpRequestData
        from client_core.http import Headers, HttpMethod, Url

        factory, options = self.engine_setup(max(workload.concurrency, 1))
        self.engine = factory.create(**options)
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


class HttpxClient:
    def __init__(self, base: str, workload: Workload) -> None:
        import httpx

        limit = max(workload.concurrency, 1)
        self.client = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        )
        self.url = base + workload.path
        self.workload = workload

    async def __aenter__(self) -> Request:
        client, url = self.client, self.url
        if self.workload.method == "POST":

            async def post() -> None:
                response = await client.post(url, content=POST_BODY)
                assert response.status_code == 200

            return post

        async def get() -> None:
            response = await client.get(url)
            assert response.status_code == 200

        return get

    async def __aexit__(self, *exc: object) -> None:
        await self.client.aclose()


class AiohttpClient:
    def __init__(self, base: str, workload: Workload) -> None:
        self.url = base + workload.path
        self.workload = workload
        self.session: Any = None

    async def __aenter__(self) -> Request:
        import aiohttp

        limit = max(self.workload.concurrency, 1)
        self.session = session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit, limit_per_host=limit)
        )
        url = self.url
        if self.workload.method == "POST":

            async def post() -> None:
                async with session.post(url, data=POST_BODY) as response:
                    await response.read()
                    assert response.status == 200

            return post

        async def get() -> None:
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200

        return get

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()


CLIENTS: dict[str, tuple[type[Any], tuple[str, ...]]] = {
    "cio": (CioClient, ("asyncio", "trio")),
    "cio-engine": (CioEngineClient, ("asyncio", "trio")),
    "httpx": (HttpxClient, ("asyncio", "trio")),
    "aiohttp": (AiohttpClient, ("asyncio",)),
}


# -- running ------------------------------------------------------------------------------


@dataclass
class Sample:
    rps: float
    cpu_us: float


async def measure(base: str, client_name: str, workload: Workload, seconds: float) -> Sample:
    cls = CLIENTS[client_name][0]
    async with cls(base, workload) as request:
        for _ in range(workload.concurrency * 2):  # warm: connections opened, caches filled
            await request()
        count = 0
        stop_at = 0.0

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < stop_at or count < workload.min_requests:
                await request()
                count += 1

        gc.collect()
        cpu0 = time.process_time()
        start = time.perf_counter()
        stop_at = start + seconds
        async with anyio.create_task_group() as group:
            for _ in range(workload.concurrency):
                group.start_soon(worker)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu0
    return Sample(count / elapsed, cpu / count * 1e6)


def run_one(
    base: str, client_name: str, workload: Workload, backend: str, seconds: float
) -> Sample:
    """Measure one client on one workload, in a fresh process unless ``ISOLATE`` is off."""
    if not ISOLATE:
        return run_here(base, client_name, workload, backend, seconds)
    job = {
        "base": base,
        "client": client_name,
        "workload": WORKLOADS.index(workload),
        "backend": backend,
        "seconds": seconds,
    }
    # The same script (harness.py, or curl_bench.py that adds its clients) measures it.
    out = subprocess.run(
        [sys.executable, sys.argv[0], "--child", json.dumps(job)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"measuring {client_name} failed:\n{out.stderr}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return Sample(result["rps"], result["cpu_us"])


ISOLATE = True


def run_child(job_text: str) -> None:
    """``--child``: measure one job given as JSON and print the sample as JSON."""
    job = json.loads(job_text)
    sample = run_here(
        job["base"], job["client"], WORKLOADS[job["workload"]], job["backend"], job["seconds"]
    )
    print(json.dumps({"rps": sample.rps, "cpu_us": sample.cpu_us}))


def run_here(
    base: str, client_name: str, workload: Workload, backend: str, seconds: float
) -> Sample:
    if client_name == "aiohttp":
        return asyncio.run(measure(base, client_name, workload, seconds))
    return anyio.run(measure, base, client_name, workload, seconds, backend=backend)


def wrk_headroom(base: str) -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "wrk not installed: server headroom not measured"
    lines = []
    for connections in (16, 64):
        out = subprocess.run(
            [wrk, "-t1", f"-c{connections}", "-d2s", base + "/small"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        rps = next((ln.split()[1] for ln in out.splitlines() if ln.startswith("Requests/sec")), "?")
        lines.append(f"wrk -t1 -c{connections} -d2s /small: {rps} req/s")
    return "; ".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--clients", default="cio,cio-engine,httpx,aiohttp")
    parser.add_argument("--backends", default="asyncio,trio")
    parser.add_argument("--workloads", default="", help="comma-separated indexes (default all)")
    parser.add_argument("--output", default="")
    parser.add_argument("--quick", action="store_true", help="--repeat 2 --seconds 0.4")
    parser.add_argument(
        "--same-process", action="store_true", help="measure in this process, not a fresh one each"
    )
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    global ISOLATE
    ISOLATE = not args.same_process
    if args.quick:
        args.repeat, args.seconds = 2, 0.4
    clients = [c for c in args.clients.split(",") if c]
    backends = [b for b in args.backends.split(",") if b]
    workloads = (
        [WORKLOADS[int(i)] for i in args.workloads.split(",")] if args.workloads else WORKLOADS
    )
    combos = [
        (client, backend)
        for backend in backends
        for client in clients
        if backend in CLIENTS[client][1]
    ]
    samples: dict[tuple[str, str, str], list[Sample]] = {}
    with run_nginx() as base:
        headroom = wrk_headroom(base)
        print(headroom, flush=True)
        for rep in range(args.repeat):
            for workload in workloads:
                order = combos[rep % len(combos) :] + combos[: rep % len(combos)]
                for client, backend in order:
                    sample = run_one(base, client, workload, backend, args.seconds)
                    samples.setdefault((workload.label, client, backend), []).append(sample)
                    print(
                        f"rep {rep + 1} {workload.label:18} {client:10} {backend:7} "
                        f"{sample.rps:9.0f} req/s {sample.cpu_us:7.1f} us/req",
                        flush=True,
                    )
    report = render(samples, workloads, combos, args, headroom)
    print(report)
    if args.output:
        Path(args.output).write_text(report)


def render(
    samples: dict[tuple[str, str, str], list[Sample]],
    workloads: list[Workload],
    combos: list[tuple[str, str]],
    args: argparse.Namespace,
    headroom: str,
) -> str:
    def median(key: tuple[str, str, str]) -> tuple[float, float] | None:
        values = samples.get(key)
        if not values:
            return None
        return (
            statistics.median(s.rps for s in values),
            statistics.median(s.cpu_us for s in values),
        )

    command = " ".join(["benchmarks/harness.py", *sys.argv[1:]])
    lines = [
        "# Benchmark results",
        "",
        f"Command: `.venv/bin/python {command}` (via `make bench` / `scripts/bench.sh`).",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, {platform.platform()}.",
        f"Server: nginx 1 worker on loopback. Headroom: {headroom}.",
        f"Median of {args.repeat} interleaved repetitions of {args.seconds:g} s each, "
        + ("all in one process. " if args.same_process else "each in a fresh process. ")
        + "`req/s`: higher is better; `us/req`: client CPU per request. `cio` is "
        "`HttpClient(CIO)`; `cio-engine` is the engine alone. The profile, and where the "
        "difference goes, are in `benchmarks/README.md`.",
        "",
        "| workload | client | backend | req/s | us/req | vs aiohttp | vs httpx (same backend) |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for workload in workloads:
        aio = median((workload.label, "aiohttp", "asyncio"))
        for client, backend in combos:
            m = median((workload.label, client, backend))
            if m is None:
                continue
            hx = median((workload.label, "httpx", backend))
            vs_aio = f"{m[0] / aio[0]:.2f}x" if aio else "-"
            vs_hx = f"{m[0] / hx[0]:.2f}x" if hx else "-"
            lines.append(
                f"| {workload.label} | {client} | {backend} | {m[0]:,.0f} | {m[1]:.0f} | "
                f"{vs_aio} | {vs_hx} |"
            )
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
