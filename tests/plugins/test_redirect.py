"""HttpRedirect details beyond tests/core/test_redirect.py (mock engine)."""

from __future__ import annotations

import pytest

from client_core import HttpClient, HttpClientConfig, SendCountExceedException
from client_core.engine import HttpResponseData
from client_core.plugins import HttpRedirect
from client_mock import MockEngine, MockRequest, respond

pytestmark = pytest.mark.anyio

CREDENTIALS = {
    "Authorization": "Bearer t",
    "Cookie": "s=1",
    "Proxy-Authorization": "Basic cA==",
    "Host": "a.test",
    "X-Keep": "1",
}


def routes(table: dict[str, tuple[int, str]]) -> MockEngine:
    def handler(request: MockRequest) -> HttpResponseData:
        key = f"{request.url.origin[1]}:{request.url.port}{request.url.path}"
        if key in table:
            status, location = table[key]
            return respond(b"moved", status=status, headers={"Location": location})
        return respond("final")

    return MockEngine(handler)


@pytest.mark.parametrize(
    "target",
    ["http://b.test/end", "http://a.test:8080/end", "https://a.test/end"],
    ids=["host", "port", "scheme"],
)
async def test_origin_change_drops_credentials_and_host(target: str) -> None:
    engine = routes({"a.test:80/start": (302, target)})
    async with HttpClient(engine) as client:
        await client.get("http://a.test/start", headers=CREDENTIALS)
    first, second = engine.request_history
    assert all(name in first.headers for name in CREDENTIALS)
    for name in ("Authorization", "Cookie", "Proxy-Authorization", "Host"):
        assert name not in second.headers
    assert second.headers["X-Keep"] == "1"


async def test_same_origin_keeps_everything() -> None:
    engine = routes({"a.test:80/start": (307, "/end")})
    async with HttpClient(engine) as client:
        await client.get("http://a.test/start", headers=CREDENTIALS)
    assert all(name in engine.request_history[1].headers for name in CREDENTIALS)


async def test_303_keeps_head_and_301_turns_post_into_get_when_following_all() -> None:
    def follow_all(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, check_http_method=False)

    engine = routes({"a.test:80/h": (303, "/h2"), "a.test:80/p": (301, "/p2")})
    async with HttpClient(engine, follow_all) as client:
        await client.head("http://a.test/h")
        await client.post("http://a.test/p", body=b"data", content_type="a/b")
    methods = [(str(r.method), r.body) for r in engine.request_history]
    assert methods == [("HEAD", b""), ("HEAD", b""), ("POST", b"data"), ("GET", b"")]
    assert "Content-Type" not in engine.request_history[3].headers


async def test_max_redirects_zero_refuses_the_first_hop() -> None:
    engine = routes({"a.test:80/1": (302, "/2")})
    async with HttpClient(engine, lambda c: c.install(HttpRedirect, max_redirects=0)) as client:
        with pytest.raises(SendCountExceedException, match="more than 0 redirects"):
            await client.get("http://a.test/1")


async def test_unfollowable_locations_return_the_redirect() -> None:
    engine = routes({"a.test:80/ftp": (302, "ftp://a.test/file"), "a.test:80/none": (302, "")})
    async with HttpClient(engine) as client:
        assert (await client.get("http://a.test/ftp")).status == 302
        assert (await client.get("http://a.test/none")).status == 302
