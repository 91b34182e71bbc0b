"""Client lifecycle through the mock engine: close, join, cancel, timeouts, warnings."""

from __future__ import annotations

import gc

import anyio
import pytest

from client_core import (
    ClientClosedException,
    HttpClient,
    HttpRequestTimeoutException,
    RequestCancelledException,
)
from client_core.engine import HttpResponseData
from client_mock import Handler, MockEngine, MockRequest, respond

pytestmark = pytest.mark.anyio

URL = "https://api.example.test/slow"


def gated(release: anyio.Event, started: anyio.Event) -> Handler:
    async def handler(request: MockRequest) -> HttpResponseData:
        started.set()
        await release.wait()
        return respond("done")

    return handler


async def never(request: MockRequest) -> HttpResponseData:
    await anyio.sleep_forever()
    raise AssertionError("unreachable")


async def test_request_after_close_is_refused() -> None:
    engine = MockEngine(lambda r: respond())
    client = HttpClient(engine)
    await client.get(URL)
    client.close()
    assert client.is_closed
    with pytest.raises(ClientClosedException, match=f"GET {URL}: the client is closed"):
        await client.get(URL)
    await client.join()
    assert not engine.is_closed  # shared engine instances stay open
    assert len(engine.request_history) == 1


async def test_owned_engine_is_closed_with_the_client() -> None:
    client = HttpClient(MockEngine)
    engine = client.engine
    await client.aclose()
    assert engine.is_closed
    with pytest.raises(ClientClosedException):
        await client.get(URL)


async def test_aclose_waits_for_in_flight_requests() -> None:
    release = anyio.Event()
    started = anyio.Event()
    handler = gated(release, started)
    client = HttpClient(MockEngine, lambda c: c.engine(lambda e: e.add_handler(handler)))
    results: list[str] = []
    closed_at: list[float] = []

    async def call() -> None:
        results.append(await (await client.get(URL)).text())

    async def close() -> None:
        await client.aclose()
        closed_at.append(anyio.current_time())

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await started.wait()
        tg.start_soon(close)
        await anyio.sleep(0.05)
        assert closed_at == []  # still waiting for the request in flight
        assert client.is_closed and not client.engine.is_closed
        released_at = anyio.current_time()
        release.set()
    assert results == ["done"]
    assert closed_at and closed_at[0] >= released_at
    assert client.engine.is_closed


async def test_close_then_join_lets_in_flight_finish() -> None:
    release = anyio.Event()
    started = anyio.Event()
    client = HttpClient(MockEngine(gated(release, started)))
    results: list[str] = []

    async def call() -> None:
        results.append(await (await client.get(URL)).text())

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await started.wait()
        client.close()
        with anyio.move_on_after(0.05) as scope:
            await client.join()
        assert scope.cancelled_caught  # join waits while a request is in flight
        release.set()
        await client.join()
    assert results == ["done"]


async def test_cancel_fails_requests_in_flight() -> None:
    started = anyio.Event()

    async def slow(request: MockRequest) -> HttpResponseData:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    client = HttpClient(MockEngine(slow))
    errors: list[RequestCancelledException] = []

    async def call(path: str) -> None:
        try:
            await client.get(f"https://api.example.test/{path}")
        except RequestCancelledException as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call, "a")
        tg.start_soon(call, "b")
        await started.wait()
        await anyio.wait_all_tasks_blocked()
        client.cancel()
    await client.join()
    assert len(errors) == 2
    messages = sorted(str(e) for e in errors)
    assert messages[0].startswith("GET https://api.example.test/a: ")
    assert messages[1].startswith("GET https://api.example.test/b: ")
    assert "cancelled" in messages[0]
    with pytest.raises(ClientClosedException):
        await client.get(URL)


async def test_cancel_while_streaming_a_slow_body() -> None:
    engine = MockEngine(lambda r: respond([b"first", b"second"], chunk_delay=10))
    client = HttpClient(engine)
    with pytest.raises(RequestCancelledException, match=f"GET {URL}"):
        async with client.stream("GET", URL) as response:
            channel = response.body_as_channel()
            assert await anext(channel) == b"first"
            client.cancel()
            await anext(channel)
    await client.join()


async def test_request_timeout_with_a_slow_handler() -> None:
    async with HttpClient(MockEngine(never)) as client:
        with pytest.raises(HttpRequestTimeoutException) as info:
            await client.get(URL, timeout=0.1)
    message = str(info.value)
    assert "Request timeout has expired" in message
    assert URL in message and "0.1" in message
    assert isinstance(info.value, TimeoutError)


async def test_request_timeout_while_reading_a_slow_body() -> None:
    engine = MockEngine(lambda r: respond([b"a", b"b"], chunk_delay=5))
    async with HttpClient(engine) as client:
        with pytest.raises(HttpRequestTimeoutException, match="Request timeout has expired"):
            await client.get(URL, timeout=0.1)


async def test_request_timeout_default_from_engine_config() -> None:
    async with HttpClient(MockEngine(never, request_timeout=0.05)) as client:
        with pytest.raises(HttpRequestTimeoutException, match=r"request_timeout=0\.05"):
            await client.get(URL)


async def test_unclosed_client_warns() -> None:
    client = HttpClient(MockEngine(lambda r: respond()))
    await client.get(URL)
    with pytest.warns(ResourceWarning, match=r"test_client_lifecycle\.py:\d+ was never closed"):
        del client
        gc.collect()


async def test_closed_client_does_not_warn() -> None:
    client = HttpClient(MockEngine(lambda r: respond()))
    await client.aclose()
    del client
    gc.collect()  # filterwarnings=error turns any ResourceWarning into a failure
