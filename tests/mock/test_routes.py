"""Routes: matching by method, URL, prefix, regex, params and headers; answers; counts."""

from __future__ import annotations

import re

import anyio
import anyio.lowlevel
import pytest

from client_core import ConnectException, HttpClient, InvalidUrlException
from client_core.engine import HttpResponseData
from client_mock import MockEngine, MockRequest, Route, UnhandledRequestError, respond

pytestmark = pytest.mark.anyio

API = "https://api.example.test"


async def status_of(client: HttpClient, method: str, url: str, **kwargs: object) -> int:
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    return response.status.value


async def test_exact_url_and_method() -> None:
    engine = MockEngine(lambda r: respond(status=404))
    users = engine.route("GET", f"{API}/users").respond("[]", status=200)
    async with HttpClient(engine) as client:
        assert await status_of(client, "GET", f"{API}/users") == 200
        assert await status_of(client, "get", "HTTPS://API.example.test:443/users") == 200
        assert await status_of(client, "POST", f"{API}/users") == 404
        assert await status_of(client, "GET", f"{API}/users/1") == 404
        assert await status_of(client, "GET", f"{API}/users?page=2") == 404  # query differs
        assert await status_of(client, "GET", "http://api.example.test/users") == 404
    assert users.called and users.call_count == 2
    assert [str(r.url) for r in users.calls] == [f"{API}/users"] * 2


async def test_exact_url_query_is_order_insensitive() -> None:
    engine = MockEngine(lambda r: respond(status=404))
    route = engine.route(url=f"{API}/search?a=1&b=2").respond()
    async with HttpClient(engine) as client:
        assert await status_of(client, "GET", f"{API}/search?b=2&a=1") == 200
        assert await status_of(client, "GET", f"{API}/search", params={"a": 1, "b": 2}) == 200
        assert await status_of(client, "GET", f"{API}/search?a=1") == 404
        assert await status_of(client, "GET", f"{API}/search?a=1&b=2&c=3") == 404
    assert route.call_count == 2


async def test_exact_url_with_params_given_separately() -> None:
    engine = MockEngine(lambda r: respond(status=404))
    route = engine.route("GET", f"{API}/items", params={"tag": ["x", "y"], "n": 5, "all": True})
    route.respond("ok")
    async with HttpClient(engine) as client:
        assert await status_of(client, "GET", f"{API}/items?n=5&tag=y&all=true&tag=x") == 200
        assert await status_of(client, "GET", f"{API}/items?tag=x&n=5&all=true") == 404
        assert await status_of(client, "GET", f"{API}/items") == 404
    assert route.call_count == 1


async def test_params_without_url_must_be_present() -> None:
    engine = MockEngine(lambda r: respond(status=404))
    route = engine.route(params={"token": "t"}).respond()
    async with HttpClient(engine) as client:
        assert await status_of(client, "GET", f"{API}/a?token=t&other=1") == 200
        assert await status_of(client, "DELETE", "https://elsewhere.test/?token=t") == 200
        assert await status_of(client, "GET", f"{API}/a?token=u") == 404
        assert await status_of(client, "GET", f"{API}/a?token=t&token=u") == 404
    assert route.call_count == 2


async def test_url_prefix() -> None:
    engine = MockEngine(lambda r: respond(status=404))
    admin = engine.route(url_prefix=f"{API}/admin/").respond(status=403)
    async with HttpClient(engine) as client:
        assert await status_of(client, "GET", f"{API}/admin/users?x=1") == 403
        assert await status_of(client, "PUT", f"{API}/admin/") == 403
        assert await status_of(client, "GET", f"{API}/administrator") == 404
    assert admin.call_count == 2


async def test_url_regex_string_and_compiled() -> None:
    engine = MockEngine(lambda r: respond(status=404))
    upload = engine.route("POST", url_regex=r"/upload/\d+$").respond(status=201)
    any_png = engine.route(url_regex=re.compile(r"\.png(\?|$)")).respond(status=200)
    async with HttpClient(engine) as client:
        assert await status_of(client, "POST", f"{API}/upload/42") == 201
        assert await status_of(client, "POST", f"{API}/upload/x") == 404
        assert await status_of(client, "GET", f"{API}/img/a.png?size=2") == 200
    assert upload.call_count == 1 and any_png.call_count == 1


async def test_headers_are_matched_case_insensitively() -> None:
    engine = MockEngine(lambda r: respond(status=401))
    route = engine.route(headers={"authorization": "Bearer abc", "Accept": ["a/b", "c/d"]})
    route.respond("welcome")
    async with HttpClient(engine) as client:
        ok = await status_of(
            client,
            "GET",
            API,
            headers=[("Authorization", "Bearer abc"), ("accept", "a/b"), ("Accept", "c/d")],
        )
        assert ok == 200
        missing_one = await status_of(
            client, "GET", API, headers={"Authorization": "Bearer abc", "Accept": "a/b"}
        )
        assert missing_one == 401
        wrong = await status_of(client, "GET", API, headers={"Authorization": "Bearer x"})
        assert wrong == 401
    assert route.call_count == 1
    assert "Bearer abc" not in route.describe()  # credentials are not shown


async def test_first_matching_route_wins_then_handlers() -> None:
    engine = MockEngine(lambda r: respond("handler"))
    first = engine.route(url_prefix=API).respond("first")
    second = engine.route("GET", f"{API}/x").respond("second")
    async with HttpClient(engine) as client:
        assert await (await client.get(f"{API}/x")).text() == "first"
        assert await (await client.get("https://other.test/")).text() == "handler"
    assert first.call_count == 1 and not second.called


async def test_route_mock_with_sync_and_async_handlers() -> None:
    engine = MockEngine()

    async def echo(request: MockRequest) -> HttpResponseData:
        await anyio.lowlevel.checkpoint()
        return respond(request.body[::-1])

    engine.route("POST", f"{API}/echo").mock(echo)
    engine.route(url_prefix=f"{API}/sync").mock(lambda r: respond(r.params.get("q") or ""))
    async with HttpClient(engine) as client:
        assert await (await client.post(f"{API}/echo", body=b"abc")).body() == b"cba"
        assert await (await client.get(f"{API}/sync", params={"q": "z"})).text() == "z"
    with pytest.raises(TypeError, match="callable"):
        Route().mock(42)  # type: ignore[arg-type]


async def test_route_raise_with_instance_and_class() -> None:
    engine = MockEngine()
    error = ConnectException("refused")
    engine.route(url=f"{API}/down").raise_(error)
    engine.route(url=f"{API}/bug").raise_(LookupError)
    async with HttpClient(engine) as client:
        with pytest.raises(ConnectException) as info:
            await client.get(f"{API}/down")
        assert info.value is error
        with pytest.raises(LookupError):
            await client.get(f"{API}/bug")
    with pytest.raises(TypeError, match="exception"):
        Route().raise_("boom")  # type: ignore[arg-type]


async def test_route_without_answer_gives_empty_ok() -> None:
    engine = MockEngine()
    route = engine.route("GET", API)
    async with HttpClient(engine) as client:
        response = await client.get(API)
        assert response.status == 200 and await response.body() == b""
    assert route.called
    route.reset()
    assert route.call_count == 0
    assert route.calls == []


async def test_calls_record_requests_even_when_answer_fails() -> None:
    engine = MockEngine()
    route = engine.route(url=API).raise_(ConnectException("no"))
    async with HttpClient(engine) as client:
        with pytest.raises(ConnectException):
            await client.post(API, body=b"payload")
    assert route.call_count == 1
    assert route.calls[0].body == b"payload"


async def test_unmatched_request_lists_routes() -> None:
    engine = MockEngine()
    engine.route("GET", f"{API}/a").respond()
    engine.route(url_prefix=f"{API}/b/", params={"x": "1"})
    engine.route(url_regex="^https://c").respond()
    async with HttpClient(engine) as client:
        await client.get(f"{API}/a")
        with pytest.raises(UnhandledRequestError) as info:
            await client.get(f"{API}/z")
    message = str(info.value)
    assert f"GET {API}/z" in message
    assert f"GET {API}/a (called 1 time)" in message
    assert f"* {API}/b/* params=[('x', '1')] (called 0 times)" in message
    assert "* ~'^https://c' (called 0 times)" in message


async def test_route_arguments_are_validated() -> None:
    engine = MockEngine()
    with pytest.raises(ValueError, match="at most one of url="):
        engine.route(url=API, url_prefix=API)
    with pytest.raises(InvalidUrlException):
        engine.route(url="not a url")
    with pytest.raises(re.error):
        engine.route(url_regex="(")
    assert engine.routes == []


async def test_routes_registered_on_config_through_factory() -> None:
    def configure(config: object) -> None:
        config.engine(lambda e: e.route("GET", API).respond("configured"))  # type: ignore[attr-defined]

    async with HttpClient(MockEngine, configure) as client:
        assert await (await client.get(API)).text() == "configured"
        assert isinstance(client.engine, MockEngine)
        assert client.engine.routes[0].call_count == 1


async def test_uncalled_routes() -> None:
    engine = MockEngine()
    a = engine.route(url=f"{API}/a")
    engine.route(url=f"{API}/b", assert_called=False)
    c = engine.route(url=f"{API}/c")
    async with HttpClient(engine) as client:
        await client.get(f"{API}/c")
    assert engine.uncalled_routes() == [a]
    assert repr(c) == f"<Route * {API}/c calls=1>"
