"""Sends on trio without a cancel scope, for engines that honour ``Interrupt``.

The engine here waits on a trio event that its interrupt callback ends with the error it
is given, as a real engine's waits must. The client must then turn deadlines and
``cancel()`` into its usual errors, keep the scope path for everything else (asyncio,
streamed bodies, engines without the capability), and leave no send registered.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import anyio
import pytest

from client_core import HttpClient, HttpRequestTimeoutException, RequestCancelledException
from client_core.engine import (
    BytesResponseBody,
    EngineCapability,
    HttpClientEngine,
    HttpClientEngineConfig,
    HttpRequestData,
    HttpResponseData,
    Interrupt,
)
from client_core.http import Headers, HttpStatusCode
from client_core.plugins import create_client_plugin

pytestmark = pytest.mark.anyio


@dataclass(kw_only=True)
class StallConfig(HttpClientEngineConfig):
    request_timeout: float | None = 15.0


class StallEngine(HttpClientEngine[StallConfig]):
    """``/stall`` waits until interrupted; ``/ok`` answers at once. Records interrupts."""

    name: ClassVar[str] = "stall"
    config_class: ClassVar[type[StallConfig]] = StallConfig
    capabilities: ClassVar[frozenset[EngineCapability]] = frozenset({EngineCapability.INTERRUPT})

    def __init__(self, config: StallConfig | None = None) -> None:
        super().__init__(config)
        self.seen: list[Interrupt | None] = []

    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        interrupt = request.interrupt
        self.seen.append(interrupt)
        if request.url.path == "/stall":
            event = anyio.Event()
            failure: list[BaseException] = []

            def stop(error: BaseException) -> None:
                failure.append(error)
                event.set()

            if interrupt is not None:
                interrupt.on_interrupt(stop)
                await event.wait()
                raise failure[0]
            await anyio.sleep_forever()
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers(),
            body=BytesResponseBody(b"ok"),
        )


@pytest.fixture
def anyio_backend() -> str:
    return "trio"


async def test_a_deadline_interrupts_the_engine_without_a_scope() -> None:
    engine = StallEngine()
    async with HttpClient(engine) as client:
        with pytest.raises(HttpRequestTimeoutException, match=r"request_timeout=0\.1s"):
            await client.get("http://example.test/stall", timeout=0.1)
        assert isinstance(engine.seen[-1], Interrupt)
        assert engine.seen[-1].error is not None
        assert client._trio_deadlines is not None
        assert not client._trio_deadlines.sends
        assert await (await client.get("http://example.test/ok")).body() == b"ok"
    await engine.aclose()


async def test_deadlines_of_concurrent_sends_fire_in_their_order() -> None:
    engine = StallEngine()
    order: list[float] = []
    async with HttpClient(engine) as client:

        async def call(timeout: float) -> None:
            with pytest.raises(HttpRequestTimeoutException):
                await client.get("http://example.test/stall", timeout=timeout)
            order.append(timeout)

        async with anyio.create_task_group() as group:
            for timeout in (0.3, 0.1, 0.2):
                group.start_soon(call, timeout)
    assert order == [0.1, 0.2, 0.3]
    await engine.aclose()


async def test_cancel_interrupts_every_send_in_flight() -> None:
    engine = StallEngine()
    client = HttpClient(engine)
    errors: list[BaseException] = []

    async def call() -> None:
        with pytest.raises(RequestCancelledException) as info:
            await client.get("http://example.test/stall", timeout=None)
        errors.append(info.value)

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        client.cancel()
    assert len(errors) == 3
    await client.join()
    await engine.aclose()


async def test_a_deadline_that_passes_in_a_hook_still_fails_the_call() -> None:
    engine = StallEngine()

    async def slow(response: Any) -> None:
        await anyio.sleep(0.2)  # not an engine wait: the deadline passes meanwhile

    plugin = create_client_plugin("Slow", lambda: None, lambda p: p.on_response(slow))
    async with HttpClient(engine, lambda c: c.install(plugin)) as client:
        with pytest.raises(HttpRequestTimeoutException):
            await client.get("http://example.test/ok", timeout=0.05)
    await engine.aclose()


async def test_streamed_bodies_keep_a_cancel_scope() -> None:
    engine = StallEngine()

    async def body() -> AsyncIterator[bytes]:
        yield b"x"

    async with HttpClient(engine) as client:
        with pytest.raises(HttpRequestTimeoutException):
            await client.post("http://example.test/stall", body=body(), timeout=0.1)
    assert engine.seen == [None]  # no interrupt: the scope ended the engine's wait
    await engine.aclose()


async def _times_out_without_an_interrupt(engine: StallEngine) -> None:
    async with HttpClient(engine) as client:
        with pytest.raises(HttpRequestTimeoutException):
            await client.get("http://example.test/stall", timeout=0.1)
    assert engine.seen == [None]  # the scope ended the engine's wait
    await engine.aclose()


async def test_engines_without_the_capability_never_see_an_interrupt() -> None:
    class Plain(StallEngine):
        capabilities: ClassVar[frozenset[EngineCapability]] = frozenset()

    await _times_out_without_an_interrupt(Plain())


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_asyncio_sends_never_carry_an_interrupt() -> None:
    await _times_out_without_an_interrupt(StallEngine())


def test_an_interrupt_runs_a_late_callback_at_once_and_fires_once() -> None:
    interrupt = Interrupt()
    first, second = RuntimeError("first"), RuntimeError("second")
    interrupt.interrupt(first)
    interrupt.interrupt(second)
    seen: list[BaseException] = []
    interrupt.on_interrupt(seen.append)
    assert seen == [first]
    assert interrupt.error is first
