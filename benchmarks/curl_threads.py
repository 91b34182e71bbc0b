"""Where a small GET's CPU goes with the curl engine: the loop's thread and the driver's.

Runs ``HttpClient(Curl)`` (``curl``) and ``Curl.execute()`` + ``read_all()``
(``curl-engine``) on asyncio and trio against the harness's nginx, each in a fresh
process, and reports requests per second with the CPU per request of the event loop's
thread (``time.thread_time``) and of the C driver's thread (``/proc/self/task``, the
thread named ``curl-driver``)::

    .venv/bin/python benchmarks/curl_threads.py [requests] [concurrency] [repetitions]
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nginx import run_nginx

CHILD = r"""
import glob, os, sys, time
import anyio
from client_core import HttpClient
from client_core.engine import HttpRequestData
from client_core.http import Headers, HttpMethod, Url
from client_curl import Curl

base, kind, backend = sys.argv[1:4]
n, conc = int(sys.argv[4]), int(sys.argv[5])


def task_ticks():
    ticks = {}
    for path in glob.glob("/proc/self/task/*/stat"):
        text = open(path).read()
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        ticks[name] = ticks.get(name, 0) + int(fields[11]) + int(fields[12])
    return ticks


async def main():
    url = base + "/small"
    if kind == "curl":
        client = HttpClient(Curl, lambda config: config.engine(max_connections_per_host=conc))

        async def request():
            await client.get(url)
    else:
        engine = Curl.create(max_connections_per_host=conc)
        data = HttpRequestData(method=HttpMethod.GET, url=Url(url), headers=Headers())

        async def request():
            response = await engine.execute(data)
            await response.body.read_all()

    for _ in range(conc * 2):
        await request()

    async def worker(count):
        for _ in range(count):
            await request()

    start, loop0, ticks0 = time.perf_counter(), time.thread_time(), task_ticks()
    async with anyio.create_task_group() as group:
        for _ in range(conc):
            group.start_soon(worker, n // conc)
    elapsed = time.perf_counter() - start
    loop_us = (time.thread_time() - loop0) / n * 1e6
    ticks1 = task_ticks()
    driver = ticks1.get("curl-driver", 0) - ticks0.get("curl-driver", 0)
    driver_us = driver / os.sysconf("SC_CLK_TCK") / n * 1e6
    print(
        f"{kind:12} {backend:7} {n / elapsed:7.0f} req/s  loop thread {loop_us:5.1f} us/req"
        f"  driver thread {driver_us:5.1f} us/req",
        flush=True,
    )


anyio.run(main, backend=backend)
"""


def main() -> None:
    requests = sys.argv[1] if len(sys.argv) > 1 else "40000"
    concurrency = sys.argv[2] if len(sys.argv) > 2 else "16"
    repetitions = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    with run_nginx() as base:
        for _ in range(repetitions):
            for kind in ("curl", "curl-engine"):
                for backend in ("asyncio", "trio"):
                    subprocess.run(
                        [sys.executable, "-c", CHILD, base, kind, backend, requests, concurrency],
                        check=True,
                    )


if __name__ == "__main__":
    main()
