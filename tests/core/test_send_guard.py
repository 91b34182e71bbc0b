"""The guard around each send: request deadlines and cancel(), with many sends in flight.

On asyncio every send of a client shares one timer (client_core._guard); these tests pin
the cases where that timer must be re-armed, and that it leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import anyio
import pytest

from client_core import (
    HttpClient,
    HttpClientConfig,
    HttpRequestTimeoutException,
    RequestCancelledException,
)
from client_core.engine import BytesResponseBody, HttpRequestData, HttpResponseData
from client_core.http import Headers, HttpStatusCode
from client_core.plugins import create_client_plugin
from tests.core.echo_engine import EchoEngine

pytestmark = pytest.mark.anyio


def ok(body: bytes = b"ok") -> HttpResponseData:
    return HttpResponseData(
        status=HttpStatusCode.OK,
        version="HTTP/1.1",
        headers=Headers(),
        body=BytesResponseBody(body),
    )


async def by_path(request: HttpRequestData, _: bytes) -> HttpResponseData:
    """``/sleep/<seconds>`` answers after that long; anything else at once."""
    parts = request.url.path.split("/")
    if len(parts) == 3 and parts[1] == "sleep":
        await anyio.sleep(float(parts[2]))
    return ok(request.url.path.encode())


async def timed(client: HttpClient, url: str, **kwargs: Any) -> tuple[str, float]:
    start = time.monotonic()
    try:
        response = await client.get(url, **kwargs)
    except HttpRequestTimeoutException:
        return "timeout", time.monotonic() - start
    return (await response.body()).decode(), time.monotonic() - start


async def test_a_shorter_deadline_than_one_in_flight_is_kept() -> None:
    async with HttpClient(EchoEngine(handler=by_path)) as client:
        results: dict[str, tuple[str, float]] = {}

        async def call(name: str, url: str, timeout: float) -> None:
            results[name] = await timed(client, url, timeout=timeout)

        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                tg.start_soon(call, "long", "http://h.test/sleep/0.3", 30.0)
                await anyio.wait_all_tasks_blocked()
                tg.start_soon(call, "short", "http://h.test/sleep/10", 0.1)
    assert results["long"][0] == "/sleep/0.3"
    outcome, elapsed = results["short"]
    assert outcome == "timeout" and elapsed < 2  # not held until the long one's deadline


async def test_a_shorter_deadline_after_a_longer_one() -> None:
    async with HttpClient(EchoEngine(handler=by_path)) as client:
        assert (await timed(client, "http://h.test/fast", timeout=30.0))[0] == "/fast"
        with anyio.fail_after(5):
            outcome, elapsed = await timed(client, "http://h.test/sleep/10", timeout=0.1)
    assert outcome == "timeout" and elapsed < 2


async def test_the_timer_moves_on_to_the_next_deadline() -> None:
    # The first send arms the timer and ends at once; when the timer fires nothing is due,
    # and the second send must still expire at its own deadline, neither early nor never.
    async with HttpClient(EchoEngine(handler=by_path)) as client:
        assert (await timed(client, "http://h.test/fast", timeout=0.05))[0] == "/fast"
        with anyio.fail_after(5):
            outcome, elapsed = await timed(client, "http://h.test/sleep/10", timeout=0.3)
    assert outcome == "timeout" and 0.25 <= elapsed < 2


async def test_many_sends_each_keep_their_own_deadline() -> None:
    async with HttpClient(EchoEngine(handler=by_path)) as client:
        results: dict[int, tuple[str, float]] = {}

        async def call(i: int, url: str, timeout: float | None) -> None:
            results[i] = await timed(client, url, timeout=timeout)

        plan = [
            ("http://h.test/sleep/10", 0.3),
            ("http://h.test/sleep/10", 0.1),
            ("http://h.test/sleep/0.2", None),
            ("http://h.test/sleep/10", 0.2),
            ("http://h.test/sleep/0.05", 5.0),
            ("http://h.test/fast", 0.01),
        ]
        with anyio.fail_after(5):
            async with anyio.create_task_group() as tg:
                for i, (url, timeout) in enumerate(plan):
                    tg.start_soon(call, i, url, timeout)
    assert [results[i][0] for i in range(len(plan))] == [
        "timeout",
        "timeout",
        "/sleep/0.2",
        "timeout",
        "/sleep/0.05",
        "/fast",
    ]
    assert results[1][1] < results[3][1] < results[0][1]
    assert results[0][1] >= 0.25


async def test_cancel_reaches_sends_with_and_without_a_timeout() -> None:
    client = HttpClient(EchoEngine(handler=by_path))
    errors: list[BaseException] = []

    async def call(timeout: float | None) -> None:
        try:
            await client.get("http://h.test/sleep/10", timeout=timeout)
        except RequestCancelledException as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            for timeout in (None, 30.0, None, 5.0):
                tg.start_soon(call, timeout)
            await anyio.wait_all_tasks_blocked()
            client.cancel()
        await client.join()
    assert len(errors) == 4


async def test_cancel_from_a_hook_of_the_send_leaves_the_task_alone() -> None:
    # cancel() inside the send it would interrupt: the send ends before the cancellation
    # is delivered, so the call returns, and the task carries no stray cancellation.
    def body(plugin: Any) -> None:
        @plugin.on_response
        async def cancel_client(response: Any) -> None:
            plugin.client.cancel()

    def configure(config: HttpClientConfig) -> None:
        config.install(create_client_plugin("CancelOnResponse", lambda: None, body))

    client = HttpClient(EchoEngine(handler=lambda request, _: ok()), configure)
    response = await client.get("http://h.test/", timeout=5.0)
    assert await response.body() == b"ok"
    await anyio.sleep(0.01)  # a stray cancellation would land here
    await client.join()


async def test_outer_cancellation_during_a_timed_send_propagates() -> None:
    async with HttpClient(EchoEngine(handler=by_path)) as client:
        with anyio.move_on_after(0.05) as scope:
            await client.get("http://h.test/sleep/10", timeout=30.0)
        assert scope.cancelled_caught
        # The client is still usable, with its timer.
        assert (await timed(client, "http://h.test/fast", timeout=30.0))[0] == "/fast"


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_outer_timeout_and_request_timeout_at_once() -> None:
    # Both fire in the same loop iteration: the outer cancellation must win (as with
    # asyncio.timeout), or the caller's own scope would never see it.
    async with HttpClient(EchoEngine(handler=by_path)) as client:
        for _ in range(5):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 0.05
            with pytest.raises(TimeoutError) as info:
                async with asyncio.timeout_at(deadline):
                    await client.get("http://h.test/sleep/10", timeout=0.05)
            # Either the request timeout won the race (HttpRequestTimeoutException, a
            # TimeoutError) or the outer one did (a plain TimeoutError); never a stray
            # CancelledError.
            assert isinstance(info.value, TimeoutError)


def test_one_client_on_two_asyncio_loops_in_turn() -> None:
    client = HttpClient(EchoEngine(handler=by_path))

    async def use() -> tuple[str, float]:
        return await timed(client, "http://h.test/sleep/10", timeout=0.1)

    assert asyncio.run(use())[0] == "timeout"
    assert asyncio.run(use())[0] == "timeout"

    async def close() -> None:
        await client.aclose()

    asyncio.run(close())
