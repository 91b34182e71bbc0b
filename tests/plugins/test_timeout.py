"""HttpTimeout: configuration, per-request overrides, capability, and per-attempt budgets."""

from __future__ import annotations

import time

import anyio
import pytest

from client_core import (
    HttpClient,
    HttpClientConfig,
    HttpRequestTimeoutException,
    SocketTimeoutException,
    Timeouts,
    UnsupportedCapabilityException,
)
from client_core.engine import (
    DEFAULT,
    BytesResponseBody,
    HttpClientEngine,
    HttpClientEngineConfig,
    HttpRequestData,
    HttpResponseData,
)
from client_core.http import Headers, HttpStatusCode
from client_core.plugins import HttpRequestRetry, HttpTimeout
from client_mock import MockEngine, MockRequest, respond

pytestmark = pytest.mark.anyio


def ok(request: MockRequest) -> HttpResponseData:
    return respond("ok")


class NoTimeoutEngine(HttpClientEngine[HttpClientEngineConfig]):
    """An engine without the HttpTimeout capability."""

    name = "plain"

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[HttpRequestData] = []

    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        self.requests.append(request)
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers(),
            body=BytesResponseBody(b""),
        )


async def test_client_wide_timeouts_reach_the_engine() -> None:
    engine = MockEngine(ok)

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=5, connect_timeout=1.5, socket_timeout=2.0)

    async with HttpClient(engine, configure) as client:
        await client.get("http://t.test/")
    timeouts = engine.request_history[0].timeouts
    assert timeouts == Timeouts(request=5.0, connect=1.5, socket=2.0)
    assert isinstance(timeouts.request, float)


async def test_per_request_values_win_and_unset_fields_come_from_the_plugin() -> None:
    engine = MockEngine(ok)

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=5.0, connect_timeout=1.0)

    async with HttpClient(engine, configure) as client:
        await client.get("http://t.test/", timeout=9.0)
        await client.get("http://t.test/", lambda req: req.timeout(connect=3.0, socket=None))
        await client.get("http://t.test/", timeout=None)
        await client.get("http://t.test/", timeout=Timeouts(socket=4.0))
    got = [r.timeouts for r in engine.request_history]
    assert got[0] == Timeouts(request=9.0, connect=1.0, socket=DEFAULT)
    assert got[1] == Timeouts(request=5.0, connect=3.0, socket=None)
    assert got[2] == Timeouts(request=None, connect=1.0, socket=DEFAULT)
    assert got[3] == Timeouts(request=5.0, connect=1.0, socket=4.0)


async def test_engine_without_capability_fails_before_sending() -> None:
    engine = NoTimeoutEngine()
    async with HttpClient(engine, lambda c: c.install(HttpTimeout, request_timeout=1.0)) as client:
        with pytest.raises(UnsupportedCapabilityException, match="plain engine does not support"):
            await client.get("http://t.test/x")
    assert engine.requests == []


async def test_no_capability_needed_when_nothing_is_set() -> None:
    engine = NoTimeoutEngine()
    async with HttpClient(engine, lambda c: c.install(HttpTimeout)) as client:
        assert (await client.get("http://t.test/x")).status == 200
        with pytest.raises(UnsupportedCapabilityException, match="HttpTimeout"):
            await client.get("http://t.test/x", timeout=1.0)
    assert len(engine.requests) == 1


@pytest.mark.parametrize("value", [-1, "5", True])
def test_invalid_configuration_is_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="request_timeout"):
        HttpClient(MockEngine(ok), lambda c: c.install(HttpTimeout, request_timeout=value))


async def test_request_timeout_covers_reading_the_body() -> None:
    engine = MockEngine(lambda request: respond([b"a", b"b", b"c", b"d"], chunk_delay=0.1))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.15)

    async with HttpClient(engine, configure) as client:
        with pytest.raises(HttpRequestTimeoutException) as info:
            await client.get("http://u:secret@t.test/slow")
    assert isinstance(info.value, TimeoutError)
    message = str(info.value)
    assert message.startswith("Request timeout has expired [")
    assert "method=GET" in message and "url=http://t.test/slow" in message
    assert "request_timeout=0.15s" in message and "secret" not in message


async def test_streaming_call_timeout_stops_at_the_response_head() -> None:
    engine = MockEngine(lambda request: respond([b"a", b"b", b"c"], chunk_delay=0.1))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.1)

    async with (
        HttpClient(engine, configure) as client,
        client.stream("GET", "http://t.test/") as response,
    ):
        chunks = [chunk async for chunk in response.body_as_channel()]
    assert b"".join(chunks) == b"abc"


async def test_socket_timeout_is_passed_to_the_engine() -> None:
    engine = MockEngine(lambda request: respond([b"a", b"b"], chunk_delay=0.3))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, socket_timeout=0.05)

    async with HttpClient(engine, configure) as client:
        with pytest.raises(SocketTimeoutException):
            await client.get("http://t.test/")


async def test_engine_default_applies_when_nothing_is_set() -> None:
    engine = MockEngine(lambda request: respond([b"a", b"b"], chunk_delay=0.3))
    engine.config.request_timeout = 0.05
    async with HttpClient(engine, lambda c: c.install(HttpTimeout)) as client:
        with pytest.raises(HttpRequestTimeoutException, match=r"request_timeout=0\.05s"):
            await client.get("http://t.test/")
        # None on the request means no limit, over the engine's default
        assert await (await client.get("http://t.test/", timeout=None)).body() == b"ab"


async def test_request_timeout_is_per_attempt_with_retry() -> None:
    attempts: list[float] = []

    async def handler(request: MockRequest) -> HttpResponseData:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            await anyio.sleep(1.0)
        return respond("ok")

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.1)
        config.install(
            HttpRequestRetry,
            lambda r: (r.retry_on_exception(2, retry_on_timeout=True), r.constant_delay(0.0)),
        )

    async with HttpClient(MockEngine(handler), configure) as client:
        response = await client.get("http://t.test/")
        assert await response.text() == "ok"
    assert len(attempts) == 2


async def test_timeouts_are_not_retried_unless_asked() -> None:
    attempts: list[int] = []

    async def handler(request: MockRequest) -> HttpResponseData:
        attempts.append(1)
        await anyio.sleep(1.0)
        return respond("late")

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.05)
        config.install(HttpRequestRetry, lambda r: r.constant_delay(0.0))

    async with HttpClient(MockEngine(handler), configure) as client:
        with pytest.raises(HttpRequestTimeoutException):
            await client.get("http://t.test/")
    assert len(attempts) == 1


async def test_each_redirect_hop_gets_its_own_budget() -> None:
    async def handler(request: MockRequest) -> HttpResponseData:
        await anyio.sleep(0.12)
        if request.url.path == "/a":
            return respond(b"", status=302, headers={"Location": "/b"})
        return respond("done")

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.2)

    async with HttpClient(MockEngine(handler), configure) as client:
        response = await client.get("http://t.test/a")
        assert await response.text() == "done"
        assert [r.status.value for r in response.redirect_history] == [302]


async def test_timed_out_response_is_released_at_once() -> None:
    from tests.plugins.conftest import RecordingBody

    bodies: list[RecordingBody] = []

    class SlowBody(RecordingBody):
        async def __anext__(self) -> bytes:
            await anyio.sleep(1.0)
            return await super().__anext__()

    def handler(request: MockRequest) -> HttpResponseData:
        body = SlowBody([b"x"])
        bodies.append(body)
        return HttpResponseData(
            status=HttpStatusCode.OK, version="HTTP/1.1", headers=Headers(), body=body
        )

    async with HttpClient(MockEngine(handler)) as client:
        with pytest.raises(HttpRequestTimeoutException):
            await client.get("http://t.test/", timeout=0.05)
    assert bodies[0].closed


async def test_modify_request_can_change_the_budget_of_the_next_attempt() -> None:
    budgets: list[object] = []

    async def handler(request: MockRequest) -> HttpResponseData:
        budgets.append(request.timeouts.request)
        await anyio.sleep(0.2)
        return respond("ok")

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpTimeout, request_timeout=0.05)
        config.install(
            HttpRequestRetry,
            lambda r: (
                r.retry_on_exception(1, retry_on_timeout=True),
                r.constant_delay(0.0),
                r.modify_request(lambda ctx: ctx.request.timeout(request=1.0)),
            ),
        )

    async with HttpClient(MockEngine(handler), configure) as client:
        assert await (await client.get("http://t.test/")).text() == "ok"
    assert budgets == [0.05, 1.0]
