"""HttpRequestRetry: when to retry, how long to wait, what is resent."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import pytest

from client_core import (
    ConnectException,
    ContentDecodingException,
    HttpClient,
    HttpClientConfig,
    ProtocolException,
    RequestBodyReplayException,
    SendCountExceedException,
    ServerResponseException,
    SocketTimeoutException,
)
from client_core.engine import HttpResponseData
from client_core.http import Headers, HttpStatusCode
from client_core.plugins import (
    HttpRequestRetry,
    HttpRequestRetryConfig,
    RetryContext,
    retry,
)
from client_core.plugins._retry import retry_after_seconds
from client_mock import MockEngine, MockRequest, respond
from tests.plugins.conftest import RecordingBody, agen

pytestmark = pytest.mark.anyio


def sequence(*answers: Any) -> Callable[[MockRequest], HttpResponseData]:
    """Answer with each item in turn: an int status, a response, or an exception to raise."""
    queue = list(answers)

    def handler(request: MockRequest) -> HttpResponseData:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, int):
            return respond(f"status {answer}", status=answer)
        assert callable(answer)
        result: HttpResponseData = answer()
        return result

    return handler


def recording(sleeps: list[float]) -> Callable[[HttpRequestRetryConfig], None]:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    def block(config: HttpRequestRetryConfig) -> None:
        config.sleep = sleep

    return block


async def test_defaults_retry_server_errors_three_times(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(503, 502, 500, 200))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(engine, configure) as client:
        response = await client.get("http://r.test/")
        assert response.status == 200 and await response.text() == "status 200"
    assert len(engine.request_history) == 4
    # exponential_delay(): 2**n seconds plus up to 1 s of jitter
    assert [int(s) for s in sleeps] == [2, 4, 8]
    assert all(0 <= s - 2 ** (i + 1) <= 1.0 for i, s in enumerate(sleeps))


async def test_gives_up_after_max_retries_and_returns_the_last_response(
    sleeps: list[float],
) -> None:
    engine = MockEngine(sequence(503))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps), retry_on_server_errors=2)

    async with HttpClient(engine, configure) as client:
        response = await client.get("http://r.test/")
        assert response.status == 503 and await response.text() == "status 503"
        # the validator runs on the final response only
        with pytest.raises(ServerResponseException, match="503"):
            await client.get("http://r.test/", expect_success=True)
    assert len(engine.request_history) == 6


async def test_transport_failures_are_retried(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(ConnectException("refused"), ProtocolException("truncated"), 200))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(engine, configure) as client:
        assert (await client.get("http://r.test/")).status == 200
    assert len(engine.request_history) == 3


@pytest.mark.parametrize(
    "error",
    [ContentDecodingException("bad gzip"), ValueError("a bug"), SocketTimeoutException("slow")],
)
async def test_other_failures_are_not_retried(sleeps: list[float], error: Exception) -> None:
    engine = MockEngine(sequence(error, 200))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(engine, configure) as client:
        with pytest.raises(type(error)):
            await client.get("http://r.test/")
    assert len(engine.request_history) == 1 and sleeps == []


async def test_timeouts_are_retried_when_asked(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(SocketTimeoutException("slow"), 200))

    def configure(config: HttpClientConfig) -> None:
        config.install(
            HttpRequestRetry,
            recording(sleeps),
            retry_on_exception_or_server_errors={"max_retries": 1, "retry_on_timeout": True},
        )

    async with HttpClient(engine, configure) as client:
        assert (await client.get("http://r.test/")).status == 200


async def test_exhausted_retries_raise_the_last_exception(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(ConnectException("refused")))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps), retry_on_exception=1)

    async with HttpClient(engine, configure) as client:
        with pytest.raises(ConnectException, match="refused"):
            await client.get("http://r.test/")
    assert len(engine.request_history) == 2


async def test_non_idempotent_methods_are_not_retried_by_default(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(503, 200))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(engine, configure) as client:
        assert (await client.post("http://r.test/", body=b"x")).status == 503
        assert (await client.patch("http://r.test/", body=b"x")).status == 200
        engine.config.request_handlers[:] = [sequence(503, 200)]
        assert (await client.put("http://r.test/", body=b"x")).status == 200


async def test_non_idempotent_methods_when_configured(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(503, 200))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps), retry_non_idempotent=True)

    async with HttpClient(engine, configure) as client:
        assert (await client.post("http://r.test/", body=b"payload")).status == 200
    assert [r.body for r in engine.request_history] == [b"payload", b"payload"]


async def test_one_shot_stream_is_never_resent(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(503, 200))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(engine, configure) as client:
        with pytest.raises(RequestBodyReplayException, match="one-shot stream") as info:
            await client.put("http://r.test/up", body=agen(b"a", b"b"))
        assert "503" in str(info.value) and "PUT http://r.test/up" in str(info.value)
        engine.config.request_handlers[:] = [sequence(ConnectException("reset"), 200)]
        with pytest.raises(RequestBodyReplayException) as info:
            await client.put("http://r.test/up", body=agen(b"a"))
        assert isinstance(info.value.__cause__, ConnectException)
    assert len(engine.request_history) == 2 and sleeps == []


async def test_one_shot_stream_without_retry_condition_passes_through(
    sleeps: list[float],
) -> None:
    engine = MockEngine(sequence(201))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(engine, configure) as client:
        assert (await client.put("http://r.test/up", body=agen(b"a"))).status == 201


async def test_exponential_delay_is_capped_and_honours_retry_after() -> None:
    config = HttpRequestRetryConfig()
    config.exponential_delay(base=3.0, base_delay=0.5, max_delay=10.0, randomization=0.0)
    from client_core import HttpRequestBuilder

    request = HttpRequestBuilder("GET", "http://r.test/")
    delays = [config.delay_function(RetryContext(request, n, None, None)) for n in (1, 2, 3, 9)]
    assert delays == [1.5, 4.5, 10.0, 10.0]


async def test_retry_after_header(sleeps: list[float]) -> None:
    future = email.utils.formatdate(time.time() + 30, usegmt=True)
    engine = MockEngine(
        sequence(
            lambda: respond("", status=429, headers={"Retry-After": "7"}),
            lambda: respond("", status=503, headers={"Retry-After": "100000"}),
            lambda: respond("", status=503, headers={"Retry-After": future}),
            200,
        )
    )

    def configure(config: HttpClientConfig) -> None:
        def block(r: HttpRequestRetryConfig) -> None:
            r.retry_if(lambda req, resp: resp.status.value in (429, 503), max_retries=5)
            r.exponential_delay(base_delay=0.01, randomization=0.0, max_delay=60.0)

        config.install(HttpRequestRetry, recording(sleeps))
        config.install(HttpRequestRetry, block)

    async with HttpClient(engine, configure) as client:
        assert (await client.get("http://r.test/")).status == 200
    assert sleeps[0] == 7.0 and sleeps[1] == 60.0 and 25 < sleeps[2] <= 30


def test_retry_after_parsing() -> None:
    class R:
        def __init__(self, value: str) -> None:
            self.headers = Headers({"Retry-After": value})

    assert retry_after_seconds(R("12")) == 12.0  # type: ignore[arg-type]
    assert retry_after_seconds(R("soon")) is None  # type: ignore[arg-type]
    past = email.utils.formatdate(time.time() - 60, usegmt=True)
    assert retry_after_seconds(R(past)) == 0.0  # type: ignore[arg-type]
    assert retry_after_seconds(None) is None


async def test_constant_delay_ignores_retry_after_by_default(sleeps: list[float]) -> None:
    engine = MockEngine(
        sequence(lambda: respond("", status=503, headers={"Retry-After": "9"}), 200)
    )

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps), constant_delay=0.25)

    async with HttpClient(engine, configure) as client:
        assert (await client.get("http://r.test/")).status == 200
    assert sleeps == [0.25]


async def test_modify_request_sees_a_fresh_copy_each_time(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(500, 500, 200))
    seen: list[tuple[int, int | None]] = []

    def modify(context: RetryContext) -> None:
        status = context.response.status.value if context.response is not None else None
        seen.append((context.retry_count, status))
        context.request.headers.append("X-Retry", str(context.retry_count))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps), modify_request=modify)

    async with HttpClient(engine, configure) as client:
        await client.get("http://r.test/", headers={"X-Keep": "1"})
    headers = [r.headers for r in engine.request_history]
    assert [h.get_all("X-Retry") for h in headers] == [[], ["1"], ["2"]]
    assert all(h["X-Keep"] == "1" for h in headers)
    assert seen == [(1, 500), (2, 500)]


async def test_async_modify_request(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(ConnectException("refused"), 200))

    async def modify(context: RetryContext) -> None:
        assert context.response is None and isinstance(context.cause, ConnectException)
        context.request.url.parameters.append("attempt", str(context.retry_count + 1))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps), modify_request=modify)

    async with HttpClient(engine, configure) as client:
        await client.get("http://r.test/p?x=1")
    assert str(engine.request_history[1].url) == "http://r.test/p?x=1&attempt=2"


async def test_per_request_override(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(503))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(engine, configure) as client:
        await client.get("http://r.test/", lambda req: retry(req, max_retries=1))
        assert len(engine.request_history) == 2
        await client.get("http://r.test/", lambda req: retry(req, HttpRequestRetryConfig.no_retry))
        assert len(engine.request_history) == 3
        await client.get(
            "http://r.test/",
            lambda req: retry(req, lambda r: r.retry_if(lambda q, s: False)),
        )
        assert len(engine.request_history) == 4
        # the client's configuration is untouched by overrides
        await client.get("http://r.test/")
        assert len(engine.request_history) == 8


async def test_streaming_call_releases_retried_responses(sleeps: list[float]) -> None:
    bodies: list[RecordingBody] = []

    def handler(request: MockRequest) -> HttpResponseData:
        body = RecordingBody([b"part1", b"part2"])
        bodies.append(body)
        status = 503 if len(bodies) == 1 else 200
        return HttpResponseData(
            status=HttpStatusCode.from_value(status),
            version="HTTP/1.1",
            headers=Headers(),
            body=body,
        )

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with (
        HttpClient(MockEngine(handler), configure) as client,
        client.stream("GET", "http://r.test/") as response,
    ):
        assert response.status == 200
        assert bodies[0].closed and bodies[0].pulled == 0
        assert b"".join([c async for c in response.body_as_channel()]) == b"part1part2"


async def test_redirect_hops_are_retried_individually(sleeps: list[float]) -> None:
    answers = {"/a": [503, 302], "/b": [500, 200]}

    def handler(request: MockRequest) -> HttpResponseData:
        status = answers[request.url.path].pop(0)
        if status == 302:
            return respond(b"", status=302, headers={"Location": "/b"})
        return respond(f"{request.url.path} {status}", status=status)

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRequestRetry, recording(sleeps))

    async with HttpClient(MockEngine(handler), configure) as client:
        response = await client.get("http://r.test/a")
        assert await response.text() == "/b 200"
        assert [r.status.value for r in response.redirect_history] == [302]
    assert len(sleeps) == 2


async def test_send_count_limit_still_applies(sleeps: list[float]) -> None:
    engine = MockEngine(sequence(503))

    def configure(config: HttpClientConfig) -> None:
        config.max_send_count = 3
        config.install(HttpRequestRetry, recording(sleeps), retry_on_server_errors=10)

    async with HttpClient(engine, configure) as client:
        with pytest.raises(SendCountExceedException):
            await client.get("http://r.test/")


def test_invalid_options() -> None:
    with pytest.raises(ValueError, match="max_retries"):
        HttpRequestRetryConfig().retry_on_server_errors(-1)
    with pytest.raises(ValueError, match="base"):
        HttpRequestRetryConfig().exponential_delay(base=0.5)
    with pytest.raises(ValueError, match="delay"):
        HttpRequestRetryConfig().constant_delay(-1.0)
    with pytest.raises(TypeError, match="retries"):
        HttpClient(MockEngine(), lambda c: c.install(HttpRequestRetry, retries=3))
