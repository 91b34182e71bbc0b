"""Core plugins exercised through the mock engine: DefaultRequest, HttpSend, validation."""

from __future__ import annotations

import pytest

from client_core import (
    ConnectException,
    HttpClient,
    HttpClientConfig,
    HttpClientError,
    HttpRequestBuilder,
    HttpResponse,
    SendCountExceedException,
)
from client_core.engine import HttpResponseData
from client_core.plugins import DefaultRequest, HttpCallValidator, HttpSend
from client_mock import MockEngine, MockRequest, UnhandledRequestError, respond

pytestmark = pytest.mark.anyio


async def test_default_request_merges_base_url_headers_and_params() -> None:
    engine = MockEngine(lambda r: respond(str(r.url)))

    def configure(config: HttpClientConfig) -> None:
        config.default_request(
            url="https://api.example.test/v1/",
            headers={"X-Default": "d", "X-Over": "default"},
            params={"key": "k"},
        )

    async with HttpClient(engine, configure) as client:
        assert await (await client.get("users")).text() == (
            "https://api.example.test/v1/users?key=k"
        )
        assert await (await client.get("/root", params={"a": 1})).text() == (
            "https://api.example.test/root?a=1&key=k"
        )
        await client.get("items?key=mine", headers={"X-Over": "mine"})
        absolute = await client.get("https://other.example.test/x")
        assert await absolute.text() == "https://other.example.test/x?key=k"
    first, _, third, fourth = engine.request_history
    assert first.headers.get("X-Default") == "d"
    assert third.params.get_all("key") == ["mine"]  # the request's own value wins
    assert third.headers.get_all("X-Over") == ["mine"]
    assert fourth.url.host == "other.example.test"


async def test_default_request_installed_explicitly() -> None:
    engine = MockEngine(lambda r: respond(r.url.path))

    def configure(config: HttpClientConfig) -> None:
        config.install(
            DefaultRequest, lambda c: c.header("X-Via", "install"), url="https://h.test/base/"
        )

    async with HttpClient(engine, configure) as client:
        assert await (await client.get("leaf")).text() == "/base/leaf"
    assert engine.request_history[0].headers.get("X-Via") == "install"


async def test_http_send_interceptor_re_executes_a_call() -> None:
    def handler(request: MockRequest) -> HttpResponseData:
        if request.headers.get("Authorization") != "Bearer fresh":
            return respond("expired", status=401)
        return respond("secret")

    engine = MockEngine(handler)
    async with HttpClient(engine) as client:

        async def refresh(request: HttpRequestBuilder, proceed: object) -> HttpResponse:
            response = await proceed(request)  # type: ignore[operator]
            if response.status == 401:
                await response.discard()
                request.headers.set("Authorization", "Bearer fresh")
                response = await proceed(request)  # type: ignore[operator]
            assert isinstance(response, HttpResponse)
            return response

        client.plugin(HttpSend).intercept(refresh)
        response = await client.get("https://api.example.test/data")
        assert response.status == 200 and await response.text() == "secret"
    assert [r.headers.get("Authorization") for r in engine.request_history] == [
        None,
        "Bearer fresh",
    ]
    assert [r.status for r in engine.response_history] == [401, 200]


async def test_send_count_limit() -> None:
    engine = MockEngine(lambda r: respond(status=503))

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpSend, max_send_count=3)

    async with HttpClient(engine, configure) as client:

        async def retry_forever(request: HttpRequestBuilder, proceed: object) -> HttpResponse:
            while True:
                response = await proceed(request)  # type: ignore[operator]
                assert isinstance(response, HttpResponse)
                if response.status != 503:
                    return response
                await response.discard()

        client.plugin(HttpSend).intercept(retry_forever)
        with pytest.raises(SendCountExceedException) as info:
            await client.get("https://api.example.test/flaky")
    assert "GET https://api.example.test/flaky" in str(info.value)
    assert "3" in str(info.value)
    assert len(engine.request_history) == 3


async def test_custom_validator_and_exception_handler_see_engine_errors() -> None:
    seen: list[BaseException] = []

    def handler(request: MockRequest) -> HttpResponseData:
        if request.url.path == "/down":
            raise ConnectException("GET https://h.test/down: connection refused")
        return respond("ok", headers={"X-Deprecated": "yes"})

    async def reject_deprecated(response: HttpResponse) -> None:
        if response.headers.get("X-Deprecated"):
            raise ValueError(f"{response.request.url} is deprecated")

    async def remember(exc: BaseException, request: HttpRequestBuilder) -> None:
        seen.append(exc)

    def configure(config: HttpClientConfig) -> None:
        def setup(c: object) -> None:
            c.validate_response(reject_deprecated)  # type: ignore[attr-defined]
            c.handle_response_exception(remember)  # type: ignore[attr-defined]

        config.install(HttpCallValidator, setup)

    async with HttpClient(MockEngine(handler), configure) as client:
        with pytest.raises(ValueError, match="deprecated"):
            await client.get("https://h.test/old")
        with pytest.raises(ConnectException, match="connection refused"):
            await client.get("https://h.test/down")
    assert [type(e) for e in seen] == [ValueError, ConnectException]


async def test_unhandled_request_error_travels_through_the_client() -> None:
    async with HttpClient(MockEngine()) as client:
        with pytest.raises(UnhandledRequestError) as info:
            await client.post("https://h.test/nothing", json={"a": 1})
    assert isinstance(info.value, HttpClientError)
    assert str(info.value).startswith("POST https://h.test/nothing:")


async def test_engine_raw_timeout_error_is_not_reported_as_a_connect_failure() -> None:
    # An engine that lets a bare TimeoutError (an OSError subclass) escape: the core's
    # safety net must report a timeout naming the request, not a ConnectException (a
    # ConnectionError) whose message is empty after the URL.
    def handler(request: MockRequest) -> HttpResponseData:
        raise TimeoutError

    async with HttpClient(MockEngine(handler)) as client:
        with pytest.raises(HttpClientError) as info:
            await client.get("https://h.test/t")
    assert isinstance(info.value, TimeoutError)  # so not a ConnectException
    assert str(info.value).startswith("GET https://h.test/t: ")
    assert str(info.value) != "GET https://h.test/t: "


async def test_engine_os_error_becomes_connect_exception() -> None:
    error = ConnectionRefusedError(111, "Connection refused")

    def handler(request: MockRequest) -> HttpResponseData:
        raise error

    async with HttpClient(MockEngine(handler)) as client:
        with pytest.raises(ConnectException, match=r"GET https://h\.test/r: .*Connection refused"):
            await client.get("https://h.test/r")
