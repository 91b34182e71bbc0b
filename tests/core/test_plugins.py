"""Plugin machinery: create_client_plugin hooks, HttpSend, and the default plugins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from client_core import (
    ClientRequestException,
    HttpClient,
    HttpClientConfig,
    HttpRequestBuilder,
    HttpResponse,
    SendCountExceedException,
    TextContent,
)
from client_core.engine import BytesResponseBody, HttpRequestData, HttpResponseData
from client_core.http import Headers, HttpStatusCode
from client_core.plugins import (
    NOT_HANDLED,
    HttpCallValidator,
    HttpPlainText,
    HttpSend,
    PluginBuilder,
    create_client_plugin,
)
from tests.core.echo_engine import EchoEngine

pytestmark = pytest.mark.anyio


@dataclass
class TraceConfig:
    name: str = "trace"
    log: list[str] = field(default_factory=list)


def trace_body(plugin: PluginBuilder[TraceConfig]) -> None:
    cfg = plugin.config

    @plugin.on_request
    def on_request(request: HttpRequestBuilder, content: Any) -> None:
        cfg.log.append(f"{cfg.name}:request")
        request.headers.set("X-Trace", cfg.name)

    @plugin.on_send
    async def on_send(request: HttpRequestBuilder, proceed: Any) -> HttpResponse:
        cfg.log.append(f"{cfg.name}:send")
        response: HttpResponse = await proceed(request)
        cfg.log.append(f"{cfg.name}:sent")
        return response

    @plugin.on_response
    async def on_response(response: HttpResponse) -> None:
        cfg.log.append(f"{cfg.name}:response {response.status.value}")

    @plugin.transform_response_body
    async def to_list(response: HttpResponse, data: bytes, type_: Any) -> Any:
        return list(data) if type_ is list else NOT_HANDLED

    @plugin.transform_request_body
    async def from_tuple(request: HttpRequestBuilder, body: Any, t: Any) -> Any:
        return TextContent("|".join(body)) if isinstance(body, tuple) else None

    @plugin.on_close
    def on_close() -> None:
        cfg.log.append(f"{cfg.name}:close")


Trace = create_client_plugin("Trace", TraceConfig, trace_body)


async def test_hooks_run_in_order_and_merge_installs() -> None:
    log: list[str] = []

    def configure(config: HttpClientConfig) -> None:
        config.install(Trace, name="a")
        config.install(Trace, lambda c: setattr(c, "log", log))

    client = HttpClient(EchoEngine(), configure)
    response = await client.post("http://h.test/", body=("x", "y"))
    echoed = await response.json()
    assert echoed["body"] == "x|y" and ["X-Trace", "a"] in echoed["headers"]
    assert await response.body(list) == list(await response.body())
    await client.aclose()
    assert log == ["a:request", "a:send", "a:response 200", "a:sent", "a:close"]


async def test_unknown_plugin_option_is_rejected() -> None:
    with pytest.raises(TypeError, match="nme"):
        HttpClient(EchoEngine(), lambda c: c.install(Trace, nme="x"))


async def test_client_plugin_lookup() -> None:
    async with HttpClient(EchoEngine()) as client:
        assert client.plugin(HttpSend) is not None
        with pytest.raises(LookupError, match="Trace"):
            client.plugin(Trace)
        assert client.plugin_or_none(Trace) is None


async def test_http_send_interceptor_can_reexecute() -> None:
    calls: list[int] = []

    def handler(request: HttpRequestData, body: bytes) -> HttpResponseData:
        calls.append(1)
        code = 401 if "Authorization" not in request.headers else 200
        return HttpResponseData(
            status=HttpStatusCode.from_value(code),
            version="HTTP/1.1",
            headers=Headers(),
            body=BytesResponseBody(b"x"),
        )

    async with HttpClient(EchoEngine(handler=handler)) as client:

        @client.plugin(HttpSend).intercept
        async def auth(request: HttpRequestBuilder, proceed: Any) -> HttpResponse:
            response: HttpResponse = await proceed(request)
            if response.status == 401:
                await response.discard()
                request.headers.set("Authorization", "Bearer t")
                response = await proceed(request)
            return response

        response = await client.get("http://h.test/")
        assert response.status == 200 and len(calls) == 2


async def test_send_count_limit() -> None:
    def configure(config: HttpClientConfig) -> None:
        config.install(HttpSend, max_send_count=3)

    async with HttpClient(EchoEngine(), configure) as client:

        @client.plugin(HttpSend).intercept
        async def loop(request: HttpRequestBuilder, proceed: Any) -> HttpResponse:
            while True:
                response: HttpResponse = await proceed(request)
                await response.discard()

        with pytest.raises(SendCountExceedException, match="3"):
            await client.get("http://h.test/")


async def test_default_request_merges_url_headers_params() -> None:
    def configure(config: HttpClientConfig) -> None:
        config.default_request(
            url="https://api.test/v1/", headers={"X-Key": "k", "Accept": "a"}, params={"lang": "en"}
        )

    async with HttpClient(EchoEngine(), configure) as client:
        r = await (await client.get("users", headers={"Accept": "mine"})).json()
        assert r["url"] == "https://api.test/v1/users?lang=en"
        assert ["Accept", "mine"] in r["headers"] and ["Accept", "a"] not in r["headers"]
        assert ["X-Key", "k"] in r["headers"]
        r = await (await client.get("/root", params={"lang": "de"})).json()
        assert r["url"] == "https://api.test/root?lang=de"
        r = await (await client.get("http://other.test/x")).json()
        assert r["url"] == "http://other.test/x?lang=en"
        r = await (await client.get("../up?id=1")).json()
        assert r["url"] == "https://api.test/up?id=1&lang=en"


async def test_custom_validator_and_exception_handler() -> None:
    seen: list[str] = []

    async def validator(response: HttpResponse) -> None:
        if response.headers.get("X-Error"):
            raise ValueError(response.headers["X-Error"])

    async def on_error(exc: BaseException, request: HttpRequestBuilder) -> None:
        seen.append(type(exc).__name__)

    def handler(request: HttpRequestData, body: bytes) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers({"X-Error": "bad"}),
            body=BytesResponseBody(b""),
        )

    def configure(config: HttpClientConfig) -> None:
        config.install(
            HttpCallValidator,
            lambda v: (v.validate_response(validator), v.handle_response_exception(on_error)),
        )

    async with HttpClient(EchoEngine(handler=handler), configure) as client:
        with pytest.raises(ValueError, match="bad"):
            await client.get("http://h.test/")
    assert seen == ["ValueError"]


async def test_validator_expect_success_option() -> None:
    def handler(request: HttpRequestData, body: bytes) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.NOT_FOUND,
            version="HTTP/1.1",
            headers=Headers(),
            body=BytesResponseBody(b""),
        )

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpCallValidator, expect_success=True)

    async with HttpClient(EchoEngine(handler=handler), configure) as client:
        with pytest.raises(ClientRequestException):
            await client.get("http://h.test/")


async def test_plain_text_charsets() -> None:
    def configure(config: HttpClientConfig) -> None:
        config.install(
            HttpPlainText,
            lambda p: (p.register("utf-8"), p.register("latin-1", 0.5)),
            send_charset="latin-1",
            response_charset_fallback="latin-1",
        )

    def handler(request: HttpRequestData, body: bytes) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers(
                {
                    "X-Accept": request.headers.get("Accept-Charset", ""),
                    "X-CT": request.headers.get("Content-Type", ""),
                }
            ),
            body=BytesResponseBody(body),
        )

    async with HttpClient(EchoEngine(handler=handler), configure) as client:
        response = await client.post("http://h.test/", body="café")
        assert await response.body() == "café".encode("latin-1")
        assert await response.text() == "café"
        assert response.headers["X-Accept"] == "utf-8,latin-1;q=0.5"
        assert response.headers["X-CT"] == "text/plain; charset=latin-1"
