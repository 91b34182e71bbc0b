"""HttpClient pipeline mechanics, on the in-process echo engine."""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from client_core import (
    ClientClosedException,
    ClientRequestException,
    HttpClient,
    HttpClientConfig,
    HttpRequestBuilder,
    HttpResponse,
    InvalidHeaderException,
    InvalidUrlException,
    NoTransformationFoundException,
    RequestCancelledException,
    ResponseBodyConsumedException,
    ServerResponseException,
)
from client_core.engine import BytesResponseBody, HttpRequestData, HttpResponseData
from client_core.http import Headers, HttpStatusCode
from tests.core.echo_engine import EchoEngine

pytestmark = pytest.mark.anyio


def status(code: int, body: bytes = b"", **headers: str) -> Any:
    def handler(request: HttpRequestData, _: bytes) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.from_value(code),
            version="HTTP/1.1",
            headers=Headers(headers),
            body=BytesResponseBody(body),
        )

    return handler


async def test_get_with_params_headers_and_block(client: HttpClient) -> None:
    response = await client.get(
        "http://example.test/path",
        lambda req: req.header("X-B", "2"),
        params={"q": "a b", "n": 1, "skip": None},
        headers={"X-A": "1"},
    )
    echoed = await response.json()
    assert echoed["method"] == "GET"
    assert echoed["url"] == "http://example.test/path?q=a+b&n=1" or echoed["url"].endswith(
        "path?q=a%20b&n=1"
    )
    assert ["X-A", "1"] in echoed["headers"] and ["X-B", "2"] in echoed["headers"]
    assert response.status == 200 and response.status == HttpStatusCode.OK


async def test_json_form_and_text_bodies(client: HttpClient) -> None:
    r = await (await client.post("http://h.test/", json={"a": 1, "é": [1, 2]})).json()
    assert json.loads(r["body"].encode("latin-1")) == {"a": 1, "é": [1, 2]}
    assert ["Content-Type", "application/json"] in r["headers"]
    r = await (await client.post("http://h.test/", form={"a": "1", "b": ["x", "y z"]})).json()
    assert r["body"] == "a=1&b=x&b=y+z"
    assert ["Content-Type", "application/x-www-form-urlencoded"] in r["headers"]
    r = await (await client.put("http://h.test/", body="héllo")).json()
    assert r["body"].encode("latin-1").decode() == "héllo"
    assert ["Content-Type", "text/plain; charset=UTF-8"] in r["headers"] or any(
        k == "Content-Type" and v.lower() == "text/plain; charset=utf-8" for k, v in r["headers"]
    )
    assert r["content_length"] == len("héllo".encode())


async def test_streaming_request_body_has_unknown_length(client: HttpClient) -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b""
        yield b"cd"

    r = await (await client.request("PATCH", "http://h.test/", body=gen())).json()
    assert r["body"] == "abcd" and r["content_length"] is None and r["method"] == "PATCH"


async def test_declared_length_of_stream_is_used_and_not_duplicated(client: HttpClient) -> None:
    async def gen() -> AsyncIterator[bytes]:
        yield b"abcd"

    r = await (
        await client.post("http://h.test/", body=gen(), headers={"Content-Length": "4"})
    ).json()
    assert r["content_length"] == 4
    assert not any(k.lower() == "content-length" for k, _ in r["headers"])


async def test_only_one_body_kind(client: HttpClient) -> None:
    with pytest.raises(TypeError):
        await client.post("http://h.test/", body=b"x", json={})


async def test_unknown_body_type_needs_converter(client: HttpClient) -> None:
    with pytest.raises(NoTransformationFoundException, match="converter plugin"):
        await client.post("http://h.test/", body=object())


async def test_invalid_input_rejected_before_sending(
    client: HttpClient, engine: EchoEngine
) -> None:
    with pytest.raises(InvalidUrlException, match="ftp"):
        await client.get("ftp://h.test/")
    with pytest.raises(InvalidUrlException, match="base URL"):
        await client.get("/relative")
    with pytest.raises(InvalidHeaderException):
        await client.get("http://h.test/", headers={"X-A": "a\r\nInjected: 1"})
    with pytest.raises(InvalidHeaderException):
        await client.get("http://h.test/", headers={"Bad Name": "x"})
    assert engine.requests == []


async def test_body_cached_and_readable_many_times(client: HttpClient) -> None:
    response = await client.get("http://h.test/")
    first = await response.body()
    assert await response.body() == first
    assert await response.read() == first
    assert json.loads(await response.text())["method"] == "GET"
    assert await response.body(str) == await response.body_as_text()
    assert b"".join([c async for c in response.body_as_channel()]) == first
    with pytest.raises(NoTransformationFoundException):
        await response.body(dict)


async def test_streamed_body_read_twice_is_an_error(client: HttpClient) -> None:
    async with client.stream("GET", "http://h.test/") as response:
        data = b"".join([chunk async for chunk in response.body_as_channel()])
        assert json.loads(data)["method"] == "GET"
        with pytest.raises(ResponseBodyConsumedException, match="already consumed"):
            response.body_as_channel()
        with pytest.raises(ResponseBodyConsumedException):
            await response.body()


async def test_charset_from_content_type_and_fallback() -> None:
    body = "grüße".encode("latin-1")
    async with HttpClient(
        EchoEngine(handler=status(200, body, **{"Content-Type": "text/plain; charset=ISO-8859-1"}))
    ) as client:
        assert await (await client.get("http://h.test/")).text() == "grüße"
    async with HttpClient(EchoEngine(handler=status(200, "grüße".encode()))) as client:
        assert await (await client.get("http://h.test/")).body_as_text() == "grüße"


async def test_expect_success_raises_by_status_class() -> None:
    def configure(config: HttpClientConfig) -> None:
        config.expect_success = True

    async with HttpClient(EchoEngine(handler=status(404, b"no such thing")), configure) as c:
        with pytest.raises(ClientRequestException) as info:
            await c.get("http://user:secret@h.test/x")
        assert info.value.response.status == 404
        assert "no such thing" in str(info.value) and info.value.body_excerpt == "no such thing"
        assert "secret" not in str(info.value) and "GET http://h.test/x" in str(info.value)
        ok = await c.get("http://h.test/x", expect_success=False)
        assert ok.status == HttpStatusCode.NOT_FOUND
    async with HttpClient(EchoEngine(handler=status(503, b"x" * 5000))) as c:
        assert (await c.get("http://h.test/")).status == 503
        with pytest.raises(ServerResponseException) as info2:
            await c.get("http://h.test/", expect_success=True)
        assert len(info2.value.body_excerpt) == 1024


async def test_after_close_requests_are_refused(engine: EchoEngine) -> None:
    client = HttpClient(engine)
    await client.get("http://h.test/")
    client.close()
    client.close()
    with pytest.raises(ClientClosedException, match=r"GET http://h\.test/"):
        await client.get("http://h.test/")
    await client.join()
    assert not engine.is_closed  # an engine instance is shared, never closed by the client


async def test_client_closes_engine_it_created() -> None:
    client = HttpClient(EchoEngine)
    engine = client.engine
    await client.aclose()
    assert engine.is_closed and isinstance(engine, EchoEngine) and engine.shutdowns == 1


async def test_close_lets_in_flight_finish_and_join_waits() -> None:
    release = anyio.Event()

    async def slow(request: HttpRequestData, _: bytes) -> HttpResponseData:
        await release.wait()
        return status(200, b"done")(request, b"")

    client = HttpClient(EchoEngine)
    client.engine.handler = slow  # type: ignore[attr-defined]
    results: list[bytes] = []

    async def call() -> None:
        results.append(await (await client.get("http://h.test/")).body())

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        client.close()
        assert not client.engine.is_closed
        with anyio.move_on_after(0.05) as scope:
            await client.join()
        assert scope.cancelled_caught  # still in flight
        release.set()
        await client.join()
    assert results == [b"done"] and client.engine.is_closed


async def test_cancel_fails_in_flight_requests() -> None:
    async def never(request: HttpRequestData, _: bytes) -> HttpResponseData:
        await anyio.sleep_forever()
        raise AssertionError

    client = HttpClient(EchoEngine(handler=never))
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await client.get("http://h.test/slow")
        except RequestCancelledException as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        client.cancel()
    await client.join()
    assert len(errors) == 3 and "GET http://h.test/slow" in str(errors[0])


async def test_cancel_while_streaming() -> None:
    client = HttpClient(EchoEngine())
    with pytest.raises(RequestCancelledException):
        async with client.stream("GET", "http://h.test/") as response:
            client.cancel()
            await anyio.sleep(1)
            await response.body()
    await client.join()


async def test_outer_cancellation_is_not_converted(client: HttpClient) -> None:
    async def never(request: HttpRequestData, _: bytes) -> HttpResponseData:
        await anyio.sleep_forever()
        raise AssertionError

    client.engine.handler = never  # type: ignore[attr-defined]
    with anyio.move_on_after(0.05) as scope:
        await client.get("http://h.test/")
    assert scope.cancelled_caught


async def test_request_timeout_message() -> None:
    async def slow(request: HttpRequestData, _: bytes) -> HttpResponseData:
        await anyio.sleep(5)
        raise AssertionError

    from client_core import HttpRequestTimeoutException

    async with HttpClient(EchoEngine(handler=slow)) as client:
        with pytest.raises(HttpRequestTimeoutException) as info:
            await client.get("http://h.test/t", timeout=0.05)
        assert isinstance(info.value, TimeoutError)
        assert "Request timeout has expired" in str(info.value)
        assert "http://h.test/t" in str(info.value) and "0.05" in str(info.value)


async def test_unclosed_client_warns_with_creation_site() -> None:
    client = HttpClient(EchoEngine())
    with pytest.warns(ResourceWarning, match=r"test_client\.py:\d+"):
        del client
        gc.collect()


async def test_prepared_statement_runs_many_times(client: HttpClient, engine: EchoEngine) -> None:
    statement = client.prepare_get("http://h.test/s", params={"a": 1})

    async def handler(response: HttpResponse) -> int:
        return len(b"".join([c async for c in response.body_as_channel()]))

    assert await statement.execute(handler) > 0
    assert await statement.execute(handler) > 0
    whole = await statement.execute()
    assert (await whole.json())["url"].endswith("/s?a=1")
    assert len(engine.requests) == 3


async def test_builder_block_sets_everything(client: HttpClient) -> None:
    def block(req: HttpRequestBuilder) -> None:
        req.url.parameters.append("x", "1")
        req.headers.append("X-Y", "z")
        req.accept("application/json")
        req.content_type("application/octet-stream")
        req.set_body(b"\x00\x01")
        req.method = req.method.parse("PUT")

    r = await (await client.request("GET", "http://h.test/b", block)).json()
    assert r["method"] == "PUT" and r["url"].endswith("/b?x=1") and r["body"] == "\x00\x01"
    assert ["Accept", "application/json"] in r["headers"]
    assert ["Content-Type", "application/octet-stream"] in r["headers"]


async def test_configure_block_without_engine_uses_discovery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib.metadata import EntryPoint

    from client_core.engine import _registry

    ep = EntryPoint("echo", "tests.core.echo_engine:EchoEngine", _registry.ENGINE_GROUP)
    monkeypatch.setattr(_registry, "_entry_points", lambda: (ep,))
    monkeypatch.delenv("CLIENT_ENGINE", raising=False)

    def configure(config: HttpClientConfig) -> None:
        config.engine(thread_count=2)
        config.engine(lambda e: setattr(e, "pipelining", True))

    async with HttpClient(configure) as client:
        assert isinstance(client.engine, EchoEngine)
        assert client.engine.config.thread_count == 2 and client.engine.config.pipelining


async def test_engine_options_on_instance_are_rejected() -> None:
    engine = EchoEngine()
    with pytest.raises(TypeError, match="engine instance"):
        HttpClient(engine, lambda c: c.engine(thread_count=2))
    await engine.aclose()


async def test_unknown_engine_option_is_named() -> None:
    with pytest.raises(TypeError, match="threads_count"):
        HttpClient(EchoEngine, lambda c: c.engine(threads_count=2))


async def test_cancel_interrupts_a_retry_delay() -> None:
    from client_core.plugins import HttpRequestRetry

    def configure(config: HttpClientConfig) -> None:
        config.install(
            HttpRequestRetry, lambda r: (r.retry_on_server_errors(3), r.constant_delay(30.0))
        )

    client = HttpClient(EchoEngine(handler=status(503)), configure)
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await client.get("http://h.test/retry")
        except RequestCancelledException as exc:
            errors.append(exc)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await anyio.wait_all_tasks_blocked()
            client.cancel()
    await client.join()
    assert len(errors) == 1
    assert len(client.engine.requests) == 1  # type: ignore[attr-defined]


class _BrokenBody(BytesResponseBody):
    def __init__(self, exc: BaseException) -> None:
        super().__init__(b"")
        self.exc = exc

    async def __anext__(self) -> bytes:
        raise self.exc

    async def read_all(self, limit: int | None = None) -> bytes:
        raise self.exc


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (ConnectionResetError("reset"), "ProtocolException"),
        (anyio.BrokenResourceError(), "ProtocolException"),
        (TimeoutError(), "SocketTimeoutException"),
    ],
)
async def test_raw_body_errors_from_an_engine_are_translated(
    raw: BaseException, expected: str
) -> None:
    def handler(request: HttpRequestData, _: bytes) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK, version="HTTP/1.1", headers=Headers(), body=_BrokenBody(raw)
        )

    async with HttpClient(EchoEngine(handler=handler)) as client:
        with pytest.raises(Exception) as info:
            await client.get("http://u:p@h.test/body")
        assert type(info.value).__name__ == expected
        assert "GET http://h.test/body" in str(info.value) and "p@" not in str(info.value)
        async with client.stream("GET", "http://h.test/s") as response:
            with pytest.raises(Exception) as info2:
                async for _ in response.body_as_channel():
                    pass
        assert type(info2.value).__name__ == expected


async def test_our_errors_from_a_body_pass_unchanged() -> None:
    from client_core import ConnectException

    def handler(request: HttpRequestData, _: bytes) -> HttpResponseData:
        return HttpResponseData(
            status=HttpStatusCode.OK,
            version="HTTP/1.1",
            headers=Headers(),
            body=_BrokenBody(ConnectException("GET http://h.test/ ours")),
        )

    async with HttpClient(EchoEngine(handler=handler)) as client:
        with pytest.raises(ConnectException, match="ours"):
            await client.get("http://h.test/")
