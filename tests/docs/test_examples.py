"""The examples of the overview and the guide, run as written (see conftest.py)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from client_core import (
    ENGINE_API_VERSION,
    ClientClosedException,
    ClientRequestException,
    ConnectException,
    HttpClient,
    HttpRequestTimeoutException,
    InvalidHeaderException,
    InvalidRequestException,
    InvalidUrlException,
    NoTransformationFoundException,
    RequestBodyReplayException,
    RequestCancelledException,
    ResponseBodyConsumedException,
    SendCountExceedException,
    ServerResponseException,
    Timeouts,
)
from client_core.errors import EngineIncompatibleError
from client_core.plugins import DefaultRequest, HttpCallValidator, HttpRedirect
from client_mock import MockEngine, respond
from tests.docs.conftest import Site, block, run, run_program

pytestmark = pytest.mark.usefixtures("site")


# -- index.md ----------------------------------------------------------------------------


def test_overview_first_example(ns: dict[str, Any]) -> None:
    out = run_program(block("index.md", 'params={"q": "ktor"}'), ns)
    assert out == "200 OK <h1>Example</h1>\n"


def test_engines_listing(ns: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from client_core.engine import _registry

    monkeypatch.undo()  # the real registry: what is installed in this environment
    _registry._entry_points.cache_clear()
    b = block("index.md", "client_core.engines()")
    out = anyio.run(run, b, ns)
    assert "mock client-mock" in out and out.endswith("True\n")


@pytest.mark.anyio
async def test_creation_forms() -> None:
    # index.md, "Creating a client": the four forms, with Site standing in for CIO.
    from client_cio import CIO  # the stand-in

    by_factory, discovered = HttpClient(CIO), HttpClient()
    engine = CIO.create()
    shared = HttpClient(engine)
    with pytest.raises(TypeError, match="engine instance"):
        HttpClient(engine, lambda config: config.engine(thread_count=2))
    for client in (by_factory, discovered, shared):
        assert isinstance(client.engine, Site)
        await client.aclose()
    assert by_factory.engine.is_closed and discovered.engine.is_closed
    assert not engine.is_closed  # shared: the client does not close it
    await engine.aclose()


@pytest.mark.anyio
async def test_overview_configure(ns: dict[str, Any]) -> None:
    await run(block("index.md", 'config.install(DefaultRequest, url="https://api'), ns)
    client: HttpClient = ns["client"]
    assert client.engine.config.thread_count == 2 and client.config.expect_success
    assert client.config.is_installed(DefaultRequest)
    response = await client.get("users/1")
    assert response.request.url.host == "api.example.com"
    with pytest.raises(ServerResponseException):
        await client.get("users/5")
    await client.aclose()

    await run(block("index.md", "def tune("), ns)
    async with HttpClient(ns["CIO"], ns["configure"]) as tuned:
        assert tuned.engine.config.pipelining and tuned.engine.config.thread_count == 2


@pytest.mark.anyio
async def test_graceful_shutdown(ns: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real = anyio.move_on_after
    monkeypatch.setattr(
        anyio, "move_on_after", lambda delay: real(None if delay is None else delay / 100)
    )

    async def never(request: Any) -> Any:
        await anyio.sleep_forever()

    ns["client"] = client = HttpClient(MockEngine(never))
    failures: list[BaseException] = []

    async def call() -> None:
        try:
            await client.get("https://example.com/slow")
        except RequestCancelledException as exc:
            failures.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(call)
        await anyio.wait_all_tasks_blocked()
        await run(block("index.md", "client.close()"), ns)
    assert ns["scope"].cancelled_caught and len(failures) == 1
    with pytest.raises(ClientClosedException):
        await client.get("https://example.com/")


# -- guide/client.md -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_shared_engine(ns: dict[str, Any]) -> None:
    await run(block("guide/client.md", "async with CIO.create(thread_count=2) as engine"), ns)
    engine = ns["engine"]
    assert engine.is_closed and ns["client"].is_closed and ns["other"].is_closed
    assert ns["client"].engine is engine is ns["other"].engine


@pytest.mark.anyio
async def test_configure_block(ns: dict[str, Any]) -> None:
    await run(block("guide/client.md", "config.max_send_count = 10"), ns)
    async with ns["client"] as client:
        assert client.config.max_send_count == 10 and client.engine.config.thread_count == 2
        assert client.plugin(HttpRedirect) is not None
        response = await client.get("users")
        assert str(response.request.url) == "https://api.example.com/v1/users"
        assert response.request.headers.get("Accept") == "application/json"


@pytest.mark.anyio
async def test_engine_settings_example(ns: dict[str, Any]) -> None:
    await run(block("guide/client.md", "ProxyBuilder.http("), ns)
    async with HttpClient(Site, ns["configure"]) as client:
        proxy = client.engine.config.proxy
        assert proxy.type == "http" and proxy.host == "proxy.internal" and proxy.port == 3128
        assert client.engine.config.ca_file == "/etc/ssl/company-ca.pem"


@pytest.mark.anyio
async def test_install_with_block_and_options(ns: dict[str, Any]) -> None:
    await run(block("guide/client.md", "def defaults(request: DefaultRequestConfig)"), ns)
    async with HttpClient(ns["configure"]) as client:
        response = await client.get("items")
    assert str(response.request.url) == "https://api.example.com/items?format=json"
    assert response.request.headers.get("X-Client") == "reports"


@pytest.mark.anyio
async def test_install_merges_and_rejects_unknown_options() -> None:
    def configure(config: Any) -> None:
        config.install(DefaultRequest, url="https://one.example.com/")
        config.install(DefaultRequest, lambda c: c.header("X-A", "1"))
        config.install(DefaultRequest, url="https://two.example.com/")

    async with HttpClient(configure) as client:
        response = await client.get("x")
    assert str(response.request.url) == "https://two.example.com/x"
    assert response.request.headers.get("X-A") == "1"
    with pytest.raises(TypeError, match="valid options"):
        HttpClient(lambda config: config.install(HttpRedirect, max_redirect=3))


@pytest.mark.anyio
async def test_option_naming_a_method(ns: dict[str, Any]) -> None:
    await run(block("guide/client.md", "validate_response=check_quota"), ns)
    async with HttpClient(ns["configure"]) as client:
        with pytest.raises(RuntimeError, match="quota exhausted"):
            await client.get("https://api.example.com/quota")
        assert client.config.is_installed(HttpCallValidator)


@pytest.mark.parametrize("tab", ["asyncio.gather", "trio.open_nursery", 'backend="trio"'])
def test_concurrency_tabs(ns: dict[str, Any], tab: str) -> None:
    out = run_program(block("guide/client.md", tab), ns)
    if tab == "asyncio.gather":
        assert out == "[HttpStatusCode(200, 'OK'), HttpStatusCode(200, 'OK')]\n"


@pytest.mark.anyio
async def test_follow_redirects_false_and_defaults() -> None:
    async with HttpClient(lambda config: setattr(config, "follow_redirects", False)) as client:
        response = await client.get("https://example.com/old-page")
        assert response.status == 301 and client.plugin_or_none(HttpRedirect) is None
    async with HttpClient() as client:
        assert client.config.max_send_count == 50 and client.config.body_limit is None
        assert not client.config.expect_success and client.config.use_default_transformers


@pytest.mark.anyio
async def test_body_limit() -> None:
    async with HttpClient(lambda config: setattr(config, "body_limit", 100)) as client:
        with pytest.raises(Exception, match="limit of 100 bytes") as info:
            await client.get("https://example.com/big.iso")
        assert type(info.value).__name__ == "ProtocolException"
        async with client.stream("GET", "https://example.com/big.iso") as response:
            assert len(await response.body()) == 10_000  # streams are not limited


# -- guide/requests.md ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_search_example(ns: dict[str, Any]) -> None:
    b = block("guide/requests.md", '"cursor": None')
    async with HttpClient() as ns["client"]:
        out = await run(b, ns)
    expected = b.code.rsplit("# ", 1)[1]
    assert out == expected


@pytest.mark.anyio
async def test_body_examples(ns: dict[str, Any]) -> None:
    b = block("guide/requests.md", 'body=b"\\x89PNG..."')
    ns["url"] = "https://api.example.com/echo"
    async with HttpClient() as ns["client"]:
        await run(b, ns)
        sent = ns["client"].engine.request_history
    assert sent[0].body == b'{"name":"Ada","langs":["en","fr"]}'
    assert sent[0].headers.get("Content-Type") == "application/json"
    assert sent[1].body == b"user=ada&remember=true"
    assert sent[2].body == "Grüße".encode("iso-8859-1")
    assert sent[2].headers.get("Content-Type") == "text/plain; charset=iso-8859-1"
    assert sent[3].headers.get("Content-Type") == "image/png"
    comments = [line.split("# ", 1)[1] for line in b.code.splitlines() if "# " in line]
    assert comments == [sent[0].body.decode(), sent[1].body.decode()]


@pytest.mark.anyio
async def test_streamed_upload(ns: dict[str, Any]) -> None:
    await anyio.Path("backup.tar").write_bytes(b"t" * 200_000)
    async with HttpClient() as ns["client"]:
        await run(block("guide/requests.md", "async def chunks(path: str)"), ns)
        sent = ns["client"].engine.request_history[-1]
    assert sent.body == b"t" * 200_000 and sent.content_length == 200_000
    assert sent.headers.get("Content-Type") == "application/x-tar"


@pytest.mark.anyio
async def test_stream_body_cannot_be_replayed() -> None:
    async def gen() -> Any:
        yield b"x"

    engine = MockEngine(
        lambda request: (
            respond(b"", 307, {"Location": "/again"})
            if request.url.path == "/first"
            else respond("ok")
        )
    )

    def configure(config: Any) -> None:
        config.install(HttpRedirect, check_http_method=False)

    async with HttpClient(engine, configure) as client:
        with pytest.raises(RequestBodyReplayException):
            await client.put("https://example.com/first", body=gen())


@pytest.mark.anyio
async def test_timeouts_example(ns: dict[str, Any]) -> None:
    ns["url"] = "https://example.com/t"
    async with HttpClient() as ns["client"]:
        await run(block("guide/requests.md", "Timeouts(request=30.0"), ns)
        sent = ns["client"].engine.request_history[-1]
    assert sent.timeouts == Timeouts(request=30.0, connect=2.0, socket=10.0)

    async def slow(request: Any) -> Any:
        await anyio.sleep(1)
        return respond("late")

    async with HttpClient(MockEngine(slow)) as client:
        with pytest.raises(HttpRequestTimeoutException) as info:
            await client.get("https://example.com/slow", timeout=0.01)
        assert isinstance(info.value, TimeoutError)
        with pytest.raises(ValueError, match="non-negative"):
            await client.get("https://example.com/", timeout=-1)


@pytest.mark.anyio
async def test_http_timeout_example(ns: dict[str, Any]) -> None:
    await run(block("guide/requests.md", "config.install(HttpTimeout, request_timeout=10.0"), ns)
    async with HttpClient(ns["configure"]) as client:
        await client.get("https://example.com/a")
        await client.get("https://example.com/b", timeout=Timeouts(request=1.0))
        first, second = (r.timeouts for r in client.engine.request_history)
    assert first == Timeouts(request=10.0, connect=2.0, socket=5.0)
    assert second == Timeouts(request=1.0, connect=2.0, socket=5.0)


@pytest.mark.anyio
async def test_request_timeout_is_per_send() -> None:
    async def slow(request: Any) -> Any:
        if request.url.path == "/start":
            await anyio.sleep(0.06)
            return respond(b"", 302, {"Location": "/next"})
        await anyio.sleep(0.06)
        return respond("done")

    async with HttpClient(MockEngine(slow)) as client:
        response = await client.get("https://example.com/start", timeout=0.1)
        assert await response.text() == "done"  # 0.12 s in all, under 0.1 s per send


@pytest.mark.anyio
async def test_builder_blocks(ns: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "t0k3n")
    async with HttpClient() as ns["client"]:
        await run(block("guide/requests.md", "def github_repos(user: str)"), ns)
        response = ns["response"]
        assert str(response.request.url) == "https://api.github.com/users/ada/repos?sort=updated"
        assert response.request.headers.get("Authorization") == "Bearer t0k3n"
        assert response.request.headers.get("Accept") == "application/vnd.github+json"

        ns["url"] = "https://example.com/"
        await run(block("guide/requests.md", 'request.header("X-Trace", "on")'), ns)
        assert ns["client"].engine.request_history[-1].headers.get("X-Trace") == "on"

        await run(block("guide/requests.md", 'HttpRequestBuilder("DELETE"'), ns)
        sent = ns["client"].engine.request_history[-1]
        assert sent.method == "DELETE" and sent.headers.get("Authorization") == "Bearer t0k3n"


def test_url_example(ns: dict[str, Any]) -> None:
    """Each ``expression  # repr`` line of the Url example evaluates to that repr."""
    b = block("guide/requests.md", "url = Url(")
    checked = 0
    for line in b.code.splitlines():
        code, _, comment = line.partition("  # ")
        if not comment:
            exec(code, ns)
            continue
        assert repr(eval(code, ns)) == comment.strip(), line
        checked += 1
    assert checked == 6


@pytest.mark.anyio
async def test_invalid_input_table() -> None:
    async with HttpClient() as client:
        for url in ("not a url", "users", "ftp://example.com/"):
            with pytest.raises(InvalidUrlException):
                await client.get(url)
        with pytest.raises(InvalidHeaderException):
            await client.get("https://example.com/", headers={"X-A": "1\r\nX-B: 2"})
        with pytest.raises(InvalidHeaderException):
            await client.get("https://example.com/", headers={"Bad Name": "x"})
        with pytest.raises(InvalidRequestException):
            await client.request("BAD METHOD", "https://example.com/")
        with pytest.raises(TypeError):
            await client.get("https://example.com/", params={"x": object()})
        with pytest.raises(TypeError):
            await client.post("https://example.com/", json={}, form={})
        with pytest.raises(NoTransformationFoundException):
            await client.post("https://example.com/", body=object())
        assert client.engine.request_history == []
    assert issubclass(InvalidUrlException, ValueError)
    assert issubclass(InvalidHeaderException, ValueError)


@pytest.mark.anyio
async def test_response_example(ns: dict[str, Any]) -> None:
    b = block("guide/requests.md", "response.status.description")
    async with HttpClient() as ns["client"]:
        await run(b, ns)
    response = ns["response"]
    assert repr(response.status) == "HttpStatusCode(200, 'OK')" and response.status == 200
    assert response.headers.get("Content-Type") == "application/json"
    assert response.version == "HTTP/1.1"
    assert repr(response.request.url) == "Url('https://api.example.com/users/1')"
    assert response.request_time <= response.response_time
    ns["response"] = response
    await run(block("guide/requests.md", "raw = await response.body()"), ns)
    assert ns["data"]["url"] == "https://api.example.com/users/1"
    assert json.loads(ns["text"]) == ns["data"] and json.loads(ns["raw"]) == ns["data"]
    chunks = [chunk async for chunk in response.body_as_channel()]
    assert chunks == [ns["raw"]]  # a cached body comes as one chunk
    assert await response.body(str) == ns["text"] and await response.body(bytearray)


@pytest.mark.anyio
async def test_charsets() -> None:
    body = "Grüße".encode("iso-8859-1")
    headers = {"Content-Type": "text/plain; charset=ISO-8859-1"}
    async with HttpClient(MockEngine(lambda request: respond(body, headers=headers))) as c:
        response = await c.get("https://example.com/")
        assert await response.text() == "Grüße"
        assert await response.text("utf-8") == "Gr\ufffd\ufffde"


# -- guide/streaming.md --------------------------------------------------------------------


@pytest.mark.anyio
async def test_stream_to_file(ns: dict[str, Any]) -> None:
    async with HttpClient() as ns["client"]:
        await run(block("guide/streaming.md", 'open_file("big.iso", "wb")'), ns)
    assert await anyio.Path("big.iso").read_bytes() == b"\x00" * 10_000
    with pytest.raises(ResponseBodyConsumedException):
        ns["response"].body_as_channel()


@pytest.mark.anyio
async def test_statement_example(ns: dict[str, Any]) -> None:
    async with HttpClient() as ns["client"]:
        await run(block("guide/streaming.md", "async def count_rows("), ns)
        assert ns["rows"] == ns["rows_again"] == 4
        statement = ns["statement"]
        assert (await statement.execute()).status == 200
        assert await statement.body() == b"a,b\n1,2\n3,4\n5,6\n"
        async with statement.stream() as response:
            assert [c async for c in response.body_as_channel()] == [b"a,b\n1,2\n", b"3,4\n5,6\n"]
        sent = ns["client"].engine.request_history
        assert len(sent) == 5 and str(sent[0].url).endswith("/export.csv?year=2024")


@pytest.mark.anyio
async def test_streaming_timeouts_example(ns: dict[str, Any]) -> None:
    ns["url"] = "https://example.com/big.iso"
    async with HttpClient() as ns["client"]:
        await run(block("guide/streaming.md", "anyio.fail_after(600)"), ns)
        assert ns["client"].engine.request_history[-1].timeouts.socket == 30.0


@pytest.mark.anyio
async def test_stream_timeout_covers_the_head_only() -> None:
    engine = MockEngine(lambda request: respond([b"a", b"b", b"c"], chunk_delay=0.05))
    async with HttpClient(engine) as client:
        async with client.stream("GET", "https://example.com/", timeout=0.02) as response:
            assert await response.body() == b"abc"  # 0.1 s of body, after a quick head
        with pytest.raises(HttpRequestTimeoutException):
            await client.get("https://example.com/", timeout=0.02)


@pytest.mark.anyio
async def test_stream_with_expect_success_raises_on_entry() -> None:
    async with HttpClient() as client:
        with pytest.raises(ServerResponseException) as info:
            async with client.stream("GET", "https://x.example.com/users/5", expect_success=True):
                raise AssertionError("not entered")
        assert info.value.body_excerpt == "try later"


# -- guide/errors.md -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_fetch_user(ns: dict[str, Any]) -> None:
    await run(block("guide/errors.md", "async def fetch_user("), ns)
    fetch_user = ns["fetch_user"]
    async with HttpClient() as client:
        assert await fetch_user(client, 0) is None
        assert (await fetch_user(client, 1))["url"] == "https://api.example.com/users/1"
        with pytest.raises(ServerResponseException):
            await fetch_user(client, 5)
    down = MockEngine()
    down.route(url_prefix="https://api.example.com/").raise_(ConnectException("refused"))
    async with HttpClient(down) as client:
        with pytest.raises(RuntimeError, match="down: refused") as info:
            await fetch_user(client, 1)
        assert isinstance(info.value.__cause__, ConnectException)


@pytest.mark.anyio
async def test_error_messages() -> None:
    messages: list[str] = []

    def configure(config: Any) -> None:
        config.expect_success = True
        config.install(HttpRedirect, max_redirects=5)

    engine = MockEngine(
        lambda request: (
            respond('{"error":"no such user"}', 404)
            if request.url.path == "/users/7"
            else respond(b"", 302, {"Location": "/loop"})
        )
    )
    async with HttpClient(engine, configure) as client:
        for url in ("https://user:pw@api.example.com/users/7", "https://api.example.com/loop"):
            try:
                await client.get(url)
            except (ClientRequestException, SendCountExceedException) as exc:
                messages.append(str(exc))
    await client.aclose()
    try:
        await client.get("https://api.example.com/")
    except ClientClosedException as exc:
        messages.append(str(exc))
    shown = [
        line
        for line in _text_blocks("guide/errors.md")
        if line.startswith("GET ") and "Request timeout" not in line
    ]
    assert messages == shown
    assert all("pw" not in m for m in messages)


def _text_blocks(page: str) -> list[str]:
    from tests.docs.conftest import code_blocks

    return [line for b in code_blocks(page) if b.lang == "text" for line in b.code.splitlines()]


# -- guide/testing.md ----------------------------------------------------------------------


def test_testing_first_example(ns: dict[str, Any]) -> None:
    run_program(block("guide/testing.md", "async def main() -> None:"), ns)  # asserts inside


@pytest.mark.anyio
async def test_testing_handler(ns: dict[str, Any]) -> None:
    await run(block("guide/testing.md", "def handler(request: MockRequest)"), ns)
    async with HttpClient(ns["engine"]) as client:
        created = await client.post("https://api.example.com/users", json={"name": "Ada"})
        assert created.status == 201 and await created.json() == {"created": "Ada"}
        missing = await client.get("https://api.example.com/users")
        assert missing.status == 404 and await missing.text() == "not here"


@pytest.mark.anyio
async def test_testing_handler_sequence(ns: dict[str, Any]) -> None:
    from client_mock import UnhandledRequestError

    await run(block("guide/testing.md", "lambda request: respond_error(503)"), ns)
    async with HttpClient(ns["engine"]) as client:
        assert (await client.get("https://example.com/")).status == 503
        assert await (await client.get("https://example.com/")).text() == "finally"
        with pytest.raises(UnhandledRequestError, match=r"GET https://example\.com/"):
            await client.get("https://example.com/")
    assert issubclass(UnhandledRequestError, AssertionError)


@pytest.mark.anyio
async def test_testing_routes(ns: dict[str, Any]) -> None:
    await run(block("guide/testing.md", "users = engine.route("), ns)
    async with HttpClient(ns["engine"]) as client:
        users = await client.get("https://api.example.com/users", params={"page": 2})
        assert await users.json() == [{"id": 1}]
        assert (await client.get("https://api.example.com/admin/x")).status == 403
        assert (await client.post("https://files.example.com/upload", body=b"x")).status == 201
        with pytest.raises(ConnectException):
            await client.get("https://down.example.com/")
    assert ns["users"].called and ns["users"].call_count == 1


@pytest.mark.anyio
async def test_testing_history(ns: dict[str, Any]) -> None:
    ns["engine"] = MockEngine(lambda request: respond(status=201))
    await run(block("guide/testing.md", "sent = engine.request_history[-1]"), ns)
    assert len(ns["engine"].response_history) == 1


@pytest.mark.anyio
async def test_testing_refuse_and_fixture(ns: dict[str, Any]) -> None:
    await run(block("guide/testing.md", "def refuse(request):"), ns)
    async with HttpClient(MockEngine(ns["refuse"])) as client:
        with pytest.raises(ConnectException, match="connection refused"):
            await client.get("https://example.com/")
    await run(block("guide/testing.md", "async def test_lists_users(mock_engine)"), ns)
    await ns["test_lists_users"](MockEngine())


@pytest.mark.anyio
async def test_testing_discovery(ns: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    from client_core.engine import _registry

    monkeypatch.undo()  # the real "mock" entry point of client-mock
    _registry._entry_points.cache_clear()
    ns["HttpClientConfig"] = __import__("client_core").HttpClientConfig
    ns["respond"] = respond
    await run(block("guide/testing.md", 'client = HttpClient("mock", configure)'), ns)
    async with ns["client"] as client:
        assert type(client.engine) is MockEngine
        assert await (await client.get("https://example.com/")).text() == "hi"


# -- guide/writing-an-engine.md ------------------------------------------------------------


@pytest.fixture
def echo_engine(ns: dict[str, Any]) -> Any:
    anyio.run(run, block("guide/writing-an-engine.md", '"""my_echo_engine:'), ns)
    return ns["EchoEngine"]


@pytest.mark.anyio
async def test_echo_engine_usage(ns: dict[str, Any], echo_engine: Any) -> None:
    b = block("guide/writing-an-engine.md", "config.engine(chunk_size=4)")
    out = await run(b, ns)
    expected = [line[2:] for line in b.code.splitlines() if line.startswith("# ")]
    assert out.splitlines() == expected


@pytest.mark.anyio
async def test_echo_engine_follows_the_rules(echo_engine: Any) -> None:
    assert echo_engine.engine_api_version == ENGINE_API_VERSION == "1.0"  # "currently 1.0"
    with pytest.raises(ValueError, match="chunk_size"):
        echo_engine.create(chunk_size=0)

    async def upload() -> Any:
        yield b"ab"
        yield b"cd"

    async with HttpClient(echo_engine, lambda config: config.engine(chunk_size=3)) as client:
        async with client.stream("PUT", "https://example.com/x", body=upload()) as response:
            chunks = [chunk async for chunk in response.body_as_channel()]
        assert b"".join(chunks) == b"PUT /x\nabcd" and all(chunks)
        assert max(map(len, chunks)) == 3
        assert await (await client.head("https://example.com/")).body() == b""
        with pytest.raises(ConnectException, match="does not resolve"):
            await client.get("https://nowhere.invalid/")
        engine = client.engine
    assert engine.is_closed


def test_incompatible_engine_message(echo_engine: Any) -> None:
    class Newer(echo_engine):  # type: ignore[misc, valid-type]
        engine_api_version = "1.2"

    with pytest.raises(EngineIncompatibleError) as info:
        HttpClient(Newer)
    assert "implements engine API 1.2, but this client-core provides engine API 1.0" in str(
        info.value
    )


def test_entry_point_example() -> None:
    import tomllib

    from tests.docs.conftest import code_blocks

    [toml] = [b for b in code_blocks("guide/writing-an-engine.md") if b.lang == "toml"]
    project = tomllib.loads(toml.code)["project"]
    assert project["entry-points"]["client_core.engines"] == {"echo": "my_echo_engine:EchoEngine"}
    assert project["dependencies"] == ["client-core>=0.1,<1"]


def test_dependencies_page_matches_pyprojects() -> None:
    """Each distribution's dependencies, as its pyproject declares them, are on the page."""
    import tomllib

    from tests.docs.conftest import DOCS, ROOT

    text = (DOCS / "guide" / "dependencies.md").read_text()
    for pyproject in sorted((ROOT / "packages").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text())["project"]
        assert f"## {project['name']}" in text, project["name"]
        section = text.split(f"## {project['name']}", 1)[1].split("\n## ", 1)[0]
        for requirement in project["dependencies"]:
            name = requirement.split(">")[0].split("<")[0].split("=")[0]
            spec = requirement[len(name) :]
            assert name in section and spec in section, (project["name"], requirement)
