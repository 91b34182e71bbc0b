"""MockEngine: handlers, the handler queue, histories, errors and closing."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import anyio.lowlevel
import pytest

from client_core import (
    ClientClosedException,
    ConnectException,
    HttpClient,
    HttpClientError,
    SocketTimeoutException,
)
from client_core.engine import (
    ENGINE_API_VERSION,
    EngineCapability,
    HttpRequestData,
    HttpResponseData,
    Timeouts,
    engines,
)
from client_core.errors import InvalidRequestException
from client_core.http import Headers, HttpMethod, HttpStatusCode, Url
from client_mock import (
    MockEngine,
    MockEngineConfig,
    MockRequest,
    UnhandledRequestError,
    respond,
)

pytestmark = pytest.mark.anyio

URL = "https://example.test/path"


def request_data(
    method: str = "GET",
    url: str = URL,
    body: bytes | AsyncIterator[bytes] = b"",
    content_length: int | None = 0,
    timeouts: Timeouts | None = None,
) -> HttpRequestData:
    return HttpRequestData(
        method=HttpMethod.parse(method),
        url=Url(url),
        headers=Headers({"X-Test": "1"}),
        body=body,
        content_length=content_length,
        timeouts=timeouts or Timeouts(),
    )


async def test_sync_handler_answers_through_client() -> None:
    engine = MockEngine(
        lambda request: respond(
            "hi", status=HttpStatusCode.OK, headers={"Content-Type": "text/plain"}
        )
    )
    async with HttpClient(engine) as client:
        response = await client.get(URL)
        assert response.status == HttpStatusCode.OK
        assert await response.text() == "hi"
        assert response.headers.get("content-type") == "text/plain"
        assert response.headers.get("Content-Length") == "2"
        assert response.version == "HTTP/1.1"
    assert not engine.is_closed  # a shared engine is not closed by the client


async def test_async_handler_answers() -> None:
    async def handler(request: MockRequest) -> HttpResponseData:
        await anyio.lowlevel.checkpoint()
        return respond(f"{request.method} {request.url.path}", status=201)

    async with HttpClient(MockEngine(handler)) as client:
        response = await client.post(URL)
        assert response.status == 201
        assert await response.text() == "POST /path"


async def test_handler_sees_bytes_body_and_request_fields() -> None:
    seen: list[MockRequest] = []

    def handler(request: MockRequest) -> HttpResponseData:
        seen.append(request)
        return respond()

    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    engine = MockEngine(handler)
    async with HttpClient(engine) as client:
        await client.post(URL, body=chunks(), headers={"X-A": "1"})
    (request,) = seen
    assert isinstance(request, MockRequest) and isinstance(request, HttpRequestData)
    assert request.body == b"abcd"
    assert not request.is_streaming_body
    assert request.content_length is None  # what the client declared: unknown length
    assert request.method == HttpMethod.POST
    assert request.url == Url(URL)
    assert request.headers.get("x-a") == "1"
    assert engine.request_history == [request]


async def test_several_handlers_take_turns_when_reused() -> None:
    engine = MockEngine(lambda r: respond("a"), lambda r: respond("b"))
    assert engine.config.reuse_handlers is True
    async with HttpClient(engine) as client:
        texts = [await (await client.get(URL)).text() for _ in range(5)]
    assert texts == ["a", "b", "a", "b", "a"]
    assert engine.remaining_handlers is None


async def test_handlers_answer_once_in_order_without_reuse() -> None:
    engine = MockEngine(
        lambda r: respond("first"), lambda r: respond("second"), reuse_handlers=False
    )
    async with HttpClient(engine) as client:
        assert await (await client.get(URL)).text() == "first"
        assert engine.remaining_handlers == 1
        assert await (await client.get(URL + "?n=2")).text() == "second"
        assert engine.remaining_handlers == 0
        with pytest.raises(UnhandledRequestError) as info:
            await client.delete("https://user:secret@example.test/third")
    message = str(info.value)
    assert message.startswith("DELETE https://example.test/third:")
    assert "secret" not in message
    assert "0 of 2 handlers remain" in message
    assert "Registered routes: none." in message
    assert isinstance(info.value, HttpClientError) and isinstance(info.value, AssertionError)
    assert len(engine.request_history) == 3  # the unanswered request is recorded too
    assert len(engine.response_history) == 2


async def test_no_handler_at_all_names_request_and_routes() -> None:
    engine = MockEngine()
    engine.route("POST", "https://example.test/other").respond("x")
    async with HttpClient(engine) as client:
        with pytest.raises(UnhandledRequestError) as info:
            await client.get(URL, params={"q": "1"})
    message = str(info.value)
    assert "GET https://example.test/path?q=1" in message
    assert "no handlers were added" in message
    assert "POST https://example.test/other (called 0 times)" in message


async def test_histories_record_requests_and_responses_in_order() -> None:
    engine = MockEngine(lambda r: respond(r.body, status=202))
    assert engine.request_history is engine.config.request_history
    assert engine.response_history is engine.config.response_history
    async with HttpClient(engine) as client:
        await client.put(URL, body=b"one")
        await client.patch(URL, body=b"two")
    assert [r.method for r in engine.request_history] == ["PUT", "PATCH"]
    assert [r.body for r in engine.request_history] == [b"one", b"two"]
    assert [r.status for r in engine.response_history] == [202, 202]
    assert all(isinstance(r, HttpResponseData) for r in engine.response_history)


async def test_add_handler_on_config_and_engine() -> None:
    config = MockEngineConfig(reuse_handlers=False)
    config.add_handler(lambda r: respond("1"))
    engine = MockEngine(config=config)
    engine.add_handler(lambda r: respond("2"))
    async with HttpClient(engine) as client:
        assert [await (await client.get(URL)).text() for _ in range(2)] == ["1", "2"]
    with pytest.raises(TypeError, match="callable"):
        config.add_handler("not a handler")  # type: ignore[arg-type]


async def test_constructor_takes_config_positionally_and_options() -> None:
    config = MockEngineConfig()
    engine = MockEngine(config, socket_timeout=2.0)
    assert engine.config is config and config.socket_timeout == 2.0
    with pytest.raises(TypeError, match="no option 'nope'"):
        MockEngine(nope=1)
    with pytest.raises(TypeError, match="once"):
        MockEngine(config, config=config)


async def test_create_builds_engine_without_handlers() -> None:
    engine = MockEngine.create()
    assert isinstance(engine, MockEngine)
    assert engine.config.request_handlers == []
    configured = MockEngine.create(
        lambda c: c.add_handler(lambda r: respond("x")), reuse_handlers=False
    )
    assert isinstance(configured, MockEngine)
    assert len(configured.config.request_handlers) == 1
    assert configured.config.reuse_handlers is False
    assert MockEngine.engine_api_version == ENGINE_API_VERSION
    assert MockEngine.name == "mock"
    assert EngineCapability.TIMEOUT in MockEngine.capabilities
    assert EngineCapability.WEBSOCKET not in MockEngine.capabilities


async def test_client_with_factory_configures_its_own_engine() -> None:
    def configure(config: object) -> None:
        config.engine(lambda e: e.add_handler(lambda r: respond("from factory")))  # type: ignore[attr-defined]

    client = HttpClient(MockEngine, configure)
    async with client:
        assert await (await client.get(URL)).text() == "from factory"
    assert client.engine.is_closed  # the client owned it


async def test_discovered_by_entry_point_name() -> None:
    assert any(e.name == "mock" and e.compatible for e in engines())
    async with HttpClient("mock") as client:
        assert isinstance(client.engine, MockEngine)
        with pytest.raises(UnhandledRequestError):
            await client.get(URL)


async def test_handler_exception_reaches_caller_unchanged() -> None:
    error = ConnectException("GET https://example.test/path: connection refused")

    def refuse(request: MockRequest) -> HttpResponseData:
        raise error

    async with HttpClient(MockEngine(refuse)) as client:
        with pytest.raises(ConnectException) as info:
            await client.get(URL)
    assert info.value is error


async def test_non_client_exception_surfaces_as_is() -> None:
    class Boom(Exception):
        pass

    async def handler(request: MockRequest) -> HttpResponseData:
        raise Boom("test bug")

    async with HttpClient(MockEngine(handler)) as client:
        with pytest.raises(Boom, match="test bug"):
            await client.get(URL)


async def test_outer_cancellation_propagates_untouched() -> None:
    started = anyio.Event()

    async def slow(request: MockRequest) -> HttpResponseData:
        started.set()
        await anyio.sleep(10)
        return respond()

    engine = MockEngine(slow)
    async with HttpClient(engine) as client:
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                tg.start_soon(client.get, URL)
                await started.wait()
                scope.cancel()
        assert scope.cancelled_caught
        assert engine.response_history == []


async def test_handler_must_return_a_response() -> None:
    engine = MockEngine(lambda r: "oops")  # type: ignore[arg-type,return-value]
    async with HttpClient(engine) as client:
        with pytest.raises(TypeError, match="returned str, not HttpResponseData"):
            await client.get(URL)


async def test_reusing_one_response_object_is_refused() -> None:
    shared = respond("once")
    engine = MockEngine(lambda r: shared)
    async with HttpClient(engine) as client:
        assert await (await client.get(URL)).text() == "once"
        with pytest.raises(RuntimeError, match="already used"):
            await client.get(URL)


async def test_head_and_no_content_bodies_are_dropped() -> None:
    engine = MockEngine(lambda r: respond("body", status=204 if r.url.path == "/nc" else 200))
    async with HttpClient(engine) as client:
        head = await client.head(URL)
        assert await head.body() == b""
        assert head.headers.get("Content-Length") == "4"
        assert await (await client.get("https://example.test/nc")).body() == b""


async def test_after_close_requests_fail() -> None:
    engine = MockEngine(lambda r: respond())
    await engine.aclose()
    assert engine.is_closed
    with pytest.raises(ClientClosedException, match=r"GET https://example\.test/path"):
        await engine.execute(request_data())
    async with HttpClient(engine) as client:
        with pytest.raises(ClientClosedException, match="mock engine is closed"):
            await client.get(URL)
    await engine.aclose()  # idempotent


async def test_declared_length_must_match_body() -> None:
    engine = MockEngine(lambda r: respond())
    with pytest.raises(InvalidRequestException, match="3 bytes but its declared length"):
        await engine.execute(request_data("POST", body=b"abc", content_length=5))


async def test_slow_async_handler_hits_socket_timeout() -> None:
    async def slow(request: MockRequest) -> HttpResponseData:
        await anyio.sleep(5)
        return respond()

    engine = MockEngine(slow)
    with pytest.raises(SocketTimeoutException) as info:
        await engine.execute(request_data(timeouts=Timeouts(socket=0.05)))
    assert "GET https://example.test/path" in str(info.value)
    assert isinstance(info.value, TimeoutError)


async def test_socket_timeout_default_from_config_and_override() -> None:
    async def slow(request: MockRequest) -> HttpResponseData:
        await anyio.sleep(0.2)
        return respond("late")

    engine = MockEngine(slow, socket_timeout=0.05)
    with pytest.raises(SocketTimeoutException):
        await engine.execute(request_data())
    # a request's own socket timeout (here: none) wins over the config's
    response = await engine.execute(request_data(timeouts=Timeouts(socket=None)))
    assert await response.body.read_all() == b"late"


async def test_slow_request_body_hits_socket_timeout() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"a"
        await anyio.sleep(5)
        yield b"b"

    engine = MockEngine(lambda r: respond())
    with pytest.raises(SocketTimeoutException, match="request body"):
        await engine.execute(
            request_data("POST", body=body(), content_length=None, timeouts=Timeouts(socket=0.05))
        )
    assert engine.request_history == []


async def test_engine_yields_like_real_io_before_answering() -> None:
    calls: list[MockRequest] = []

    def handler(request: MockRequest) -> HttpResponseData:
        calls.append(request)
        return respond()

    engine = MockEngine(handler)
    with anyio.CancelScope() as scope:
        scope.cancel()
        await engine.execute(request_data())
    assert scope.cancelled_caught
    assert calls == [] and engine.request_history == []
