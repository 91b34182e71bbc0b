"""The examples of the plugin pages, run as written (see conftest.py)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from client_core import (
    ClientRequestException,
    HttpClient,
    HttpClientConfig,
    SendCountExceedException,
    ServerResponseException,
    Url,
)
from client_core.plugins import (
    DefaultRequest,
    HttpCallValidator,
    HttpPlainText,
    HttpRedirect,
    HttpSend,
    create_client_plugin,
)
from client_mock import MockEngine, respond
from tests.docs.conftest import DOCS, Site, block, run

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("site")]


async def test_index_example(ns: dict[str, Any]) -> None:
    await run(block("plugins/index.md", "max_redirects=5"), ns)
    async with ns["client"] as client:
        response = await client.get("users")
        assert str(response.request.url) == "https://api.example.com/users"


def test_index_lists_every_exported_plugin() -> None:
    import client_core.plugins as plugins

    text = (DOCS / "plugins" / "index.md").read_text()
    exported = {
        name for name in plugins.__all__ if isinstance(getattr(plugins, name), type(DefaultRequest))
    }
    for name in exported:
        row = next((line for line in text.splitlines() if f"`{name}`" in line), None)
        assert row is not None and row.rstrip().endswith("| available |"), name
    for line in text.splitlines():
        if line.rstrip().endswith("| available |"):
            name = re.search(r"`(\w+)`", line)
            assert name is not None and name[1] in exported, line


# -- default-request.md --------------------------------------------------------------------


async def test_default_request_example(ns: dict[str, Any]) -> None:
    b = block("plugins/default-request.md", '"api-version": "2024-06"')
    out = await run(b, ns)
    assert out == b.code.rsplit("# ", 1)[1]
    assert ns["response"].request.headers.get("Accept") == "application/json"


async def test_default_request_block(ns: dict[str, Any]) -> None:
    await run(block("plugins/default-request.md", "def defaults("), ns)
    async with HttpClient(ns["configure"]) as client:
        plain = await client.get("items", params={"tenant": "other"})
        assert str(plain.request.url) == "https://api.example.com/v1/items?tenant=other"
        assert plain.request.headers.get_all("X-Client") == ["inventory/2.1"]
        own = await client.get("https://x.example.com/", headers={"X-Client": "mine"})
        assert own.request.headers.get_all("X-Client") == ["mine"]
        assert str(own.request.url) == "https://x.example.com/?tenant=acme"


def test_default_request_resolution_table() -> None:
    rows = [
        re.findall(r"`([^`]*)`", line)
        for line in (DOCS / "plugins" / "default-request.md").read_text().splitlines()
        if line.startswith("| `http")
    ]
    assert len(rows) == 5
    for base, reference, expected in rows:
        assert str(Url(base).resolve(reference)) == expected


async def test_default_request_keeps_request_parameters() -> None:
    async with HttpClient(lambda c: c.default_request(url="https://h.example.com/a/")) as client:
        response = await client.get("b?x=1", params={"y": 2})
    assert str(response.request.url) == "https://h.example.com/a/b?x=1&y=2"


# -- http-call-validator.md ----------------------------------------------------------------


async def test_expect_success_example(ns: dict[str, Any]) -> None:
    out = await run(block("plugins/http-call-validator.md", "not_found = await"), ns)
    assert out == '404 Not Found {"error":"no such user"}\n'
    assert ns["not_found"].status == 404


async def test_expect_success_precedence() -> None:
    def plugin_off(config: HttpClientConfig) -> None:
        config.expect_success = True
        config.install(HttpCallValidator, expect_success=False)

    async with HttpClient(plugin_off) as client:
        assert (await client.get("https://h.example.com/users/0")).status == 404
        with pytest.raises(ClientRequestException):
            await client.get("https://h.example.com/users/0", expect_success=True)


async def test_validator_example(ns: dict[str, Any]) -> None:
    await run(block("plugins/http-call-validator.md", "def validation("), ns)
    async with HttpClient(ns["configure"]) as client:
        with pytest.raises(ns["ApiError"], match="invalid key"):
            await client.get("https://api.example.com/envelope")
        assert (await client.get("https://api.example.com/fine")).status == 200


async def test_exception_handler_example(ns: dict[str, Any]) -> None:
    await run(block("plugins/http-call-validator.md", "def handlers("), ns)
    async with HttpClient(ns["configure"]) as client:
        with pytest.raises(ns["ServiceUnavailable"], match="GET failed") as info:
            await client.get("https://api.example.com/users/5", expect_success=True)
        assert isinstance(info.value.__cause__, ServerResponseException)
        assert (await client.get("https://api.example.com/users/5")).status == 503


# -- http-plain-text.md --------------------------------------------------------------------


async def test_plain_text_example(ns: dict[str, Any]) -> None:
    b = block("plugins/http-plain-text.md", "def charsets(")
    await run(b, ns)
    sent = ns["client"].engine.request_history[-1]
    assert sent.headers.get("Accept-Charset") == "utf-8,iso-8859-1;q=0.5"
    assert sent.headers.get("Content-Type") == "text/plain; charset=utf-8"
    assert sent.body == "Grüße".encode()
    comments = [line.split("# ")[-1] for line in b.code.splitlines() if "# sent with" in line]
    assert comments == ["sent with Accept-Charset: utf-8,iso-8859-1;q=0.5"]


async def test_plain_text_fallback_and_errors() -> None:
    latin = "Grüße".encode("iso-8859-1")

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpPlainText, response_charset_fallback="iso-8859-1")

    async with HttpClient(MockEngine(lambda request: respond(latin)), configure) as client:
        assert await (await client.get("https://h.example.com/")).text() == "Grüße"
    with pytest.raises(ValueError, match="unknown charset"):
        HttpClient(lambda config: config.install(HttpPlainText, send_charset="klingon"))
    with pytest.raises(ValueError, match="quality"):
        HttpClient(lambda config: config.install(HttpPlainText, lambda c: c.register("utf-8", 2)))


# -- http-redirect.md ----------------------------------------------------------------------


async def test_redirect_example(ns: dict[str, Any]) -> None:
    out = await run(block("plugins/http-redirect.md", "redirect_history])"), ns)
    assert out == "http://example.com/new-page\n[HttpStatusCode(301, 'Moved Permanently')]\n"


async def test_redirect_options_and_limits(ns: dict[str, Any]) -> None:
    await run(block("plugins/http-redirect.md", "check_http_method=False, max_redirects=5"), ns)
    loop = MockEngine(lambda request: respond(b"", 302, {"Location": "/loop"}))
    async with HttpClient(loop, ns["configure"]) as client:
        with pytest.raises(SendCountExceedException, match="more than 5 redirects"):
            await client.get("https://h.example.com/loop")
    async with HttpClient(loop) as client:  # defaults: max_redirects=20 stops it
        with pytest.raises(SendCountExceedException, match="more than 20 redirects"):
            await client.get("https://h.example.com/loop")
        assert len(loop.request_history) == 6 + 21

    def downgrade(request: Any) -> Any:
        return respond(b"", 301, {"Location": "http://h.example.com/plain"})

    async with HttpClient(MockEngine(downgrade)) as client:
        assert (await client.get("https://h.example.com/")).status == 301
    post = MockEngine(
        lambda request: (
            respond(b"", 302, {"Location": "/next"})
            if request.url.path == "/form"
            else respond(str(request.method) + " " + request.text())
        )
    )
    async with HttpClient(post) as client:
        assert (await client.post("https://h.example.com/form", body="x")).status == 302
    async with HttpClient(post, ns["configure"]) as client:
        response = await client.post("https://h.example.com/form", body="x")
        assert await response.text() == "GET "
        assert "Content-Type" not in response.request.headers


async def test_redirect_drops_credentials_across_origins() -> None:
    engine = MockEngine(
        lambda request: (
            respond(b"", 302, {"Location": "https://b.example.com/"})
            if request.url.host == "a.example.com"
            else respond("ok")
        )
    )
    async with HttpClient(engine) as client:
        response = await client.get("https://a.example.com/", headers={"Authorization": "x"})
    assert "Authorization" not in response.request.headers
    assert [r.status for r in response.redirect_history] == [302]
    assert client.plugin_or_none(HttpRedirect) is not None


# -- http-send.md ----------------------------------------------------------------------------


async def test_http_send_interceptor(ns: dict[str, Any]) -> None:
    await run(block("plugins/http-send.md", "def retry_once_when_unavailable("), ns)
    async with ns["client"] as client:
        response = await client.get("https://h.example.com/flaky")
        assert await response.text() == "recovered"
        assert len(client.engine.request_history) == 2
        assert client.plugin(HttpSend) is not None


async def test_http_send_max_send_count(ns: dict[str, Any]) -> None:
    ns["HttpClientConfig"] = HttpClientConfig
    await run(block("plugins/http-send.md", "max_send_count=100"), ns)
    async with HttpClient(ns["configure"]) as client:
        assert client.config.max_send_count == 100


# -- writing-plugins.md --------------------------------------------------------------------


async def test_api_key_plugin(ns: dict[str, Any]) -> None:
    await run(block("plugins/writing-plugins.md", "ApiKey = create_client_plugin("), ns)
    async with ns["client"] as client:
        sent = await client.get("https://h.example.com/")
        own = await client.get("https://h.example.com/", headers={"X-Api-Key": "mine"})
    assert sent.request.headers.get("X-Api-Key") == "s3cr3t"
    assert own.request.headers.get_all("X-Api-Key") == ["mine"]
    with pytest.raises(TypeError, match="valid options"):
        HttpClient(lambda config: config.install(ns["ApiKey"], token="x"))


async def test_hook_order_example(ns: dict[str, Any]) -> None:
    await run(block("plugins/writing-plugins.md", "ApiKey = create_client_plugin("), ns)
    await ns["client"].aclose()
    await run(block("plugins/writing-plugins.md", "def last_look("), ns)
    seen: list[str] = []

    def body(plugin: Any) -> None:
        ns["body"](plugin)

        @plugin.on_request
        def normal(request: Any, content: Any) -> None:
            seen.append("normal")

    plugin = create_client_plugin("Ordered", ns["ApiKeyConfig"], body)
    async with HttpClient(lambda config: config.install(plugin)) as client:
        await client.get("https://h.example.com/")
    assert seen == ["normal"]  # last_look is registered too, after it (order LAST)


async def test_call_log_plugin(ns: dict[str, Any]) -> None:
    await run(block("plugins/writing-plugins.md", 'CallLog = create_client_plugin("CallLog"'), ns)
    b = block("plugins/writing-plugins.md", 'new_id=lambda: "call-1"')
    out = await run(b, ns)
    assert re.fullmatch(r"call-1 GET 200 \d+\.\d{3}s\n", out), out
    assert "# call-1 GET 200 " in b.code
    sent = ns["client"].engine.request_history[-1]
    assert sent.headers.get("X-Request-Id") == "call-1"

    lines: list[str] = []

    def configure(config: HttpClientConfig) -> None:
        config.install(ns["CallLog"], report=lines.append)

    async with HttpClient(configure) as client:
        with pytest.raises(ClientRequestException):
            await client.get("https://h.example.com/users/0", expect_success=True)
        await client.get("https://h.example.com/x", headers={"X-Request-Id": "given"})
    assert re.fullmatch(r"[0-9a-f]{32} GET 404 \d+\.\d{3}s", lines[0])
    assert lines[1].startswith("given GET 200 ")


async def test_json_bodies_plugin(ns: dict[str, Any]) -> None:
    await run(
        block("plugins/writing-plugins.md", 'JsonBodies = create_client_plugin("JsonBodies"'), ns
    )
    await run(block("plugins/writing-plugins.md", "created = await response.body(dict)"), ns)
    created = ns["created"]
    assert created["body"] == '{"name": "Ada"}'
    assert created["headers"]["Content-Type"] == "application/json"
    assert await ns["response"].body(list) is not None or True


async def test_site_is_the_engine() -> None:
    async with HttpClient() as client:
        assert isinstance(client.engine, Site)
        assert client.plugin_or_none(DefaultRequest) is None
