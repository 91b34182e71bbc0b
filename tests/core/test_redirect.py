"""HttpRedirect rules, on the in-process engine (real engines: tests/conformance)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from client_core import (
    HttpClient,
    HttpClientConfig,
    RequestBodyReplayException,
    SendCountExceedException,
)
from client_core.engine import BytesResponseBody, HttpRequestData, HttpResponseData
from client_core.http import Headers, HttpStatusCode
from client_core.plugins import HttpRedirect
from tests.core.echo_engine import EchoEngine, echo

pytestmark = pytest.mark.anyio


def redirecting(routes: dict[str, tuple[int, str]]) -> EchoEngine:
    def handler(request: HttpRequestData, body: bytes) -> HttpResponseData:
        key = f"{request.url.host}{request.url.request_target}"
        if key in routes:
            code, location = routes[key]
            return HttpResponseData(
                status=HttpStatusCode.from_value(code),
                version="HTTP/1.1",
                headers=Headers({"Location": location}),
                body=BytesResponseBody(b"moved"),
            )
        return echo(request, body)

    return EchoEngine(handler=handler)


async def test_follows_chain_with_relative_location_and_history() -> None:
    engine = redirecting({"a.test/1": (301, "/2"), "a.test/2": (302, "http://a.test/3?x=1")})
    async with HttpClient(engine) as client:
        response = await client.get("http://a.test/1")
        assert (await response.json())["url"] == "http://a.test/3?x=1"
        assert [r.status.value for r in response.redirect_history] == [301, 302]
        assert str(response.request.url) == "http://a.test/3?x=1"


async def test_303_turns_post_into_get_without_body() -> None:
    engine = redirecting({"a.test/form": (303, "/done")})
    async with HttpClient(engine) as client:
        r = await (await client.post("http://a.test/form", json={"a": 1})).json()
    assert r["method"] == "GET" and r["body"] == ""
    assert not any(k.lower() == "content-type" for k, _ in r["headers"])


@pytest.mark.parametrize("code", [307, 308])
async def test_307_308_resend_method_and_body_when_method_check_is_off(code: int) -> None:
    engine = redirecting({"a.test/up": (code, "/up2")})

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, check_http_method=False)

    async with HttpClient(engine, configure) as client:
        r = await (await client.post("http://a.test/up", body=b"payload")).json()
    assert r["method"] == "POST" and r["body"] == "payload" and r["url"].endswith("/up2")


async def test_post_not_followed_when_method_check_is_on() -> None:
    engine = redirecting({"a.test/up": (307, "/up2")})
    async with HttpClient(engine) as client:
        response = await client.post("http://a.test/up", body=b"x")
    assert response.status == 307 and await response.body() == b"moved"


async def test_one_shot_stream_is_not_resent() -> None:
    engine = redirecting({"a.test/up": (307, "/up2")})

    async def gen() -> AsyncIterator[bytes]:
        yield b"once"

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, check_http_method=False)

    async with HttpClient(engine, configure) as client:
        with pytest.raises(RequestBodyReplayException, match="one-shot"):
            await client.put("http://a.test/up", body=gen())


async def test_credentials_dropped_across_origins_kept_within() -> None:
    engine = redirecting({"a.test/1": (302, "/2"), "a.test/2": (302, "http://b.test/3")})
    seen: list[HttpRequestData] = []
    base = engine.handler

    def spy(request: HttpRequestData, body: bytes) -> object:
        seen.append(request)
        return base(request, body)

    engine.handler = spy  # type: ignore[assignment]
    async with HttpClient(engine) as client:
        await client.get(
            "http://a.test/1", headers={"Authorization": "Bearer t", "Cookie": "s=1", "X-Keep": "y"}
        )
    assert "Authorization" in seen[1].headers and "Cookie" in seen[1].headers
    assert "Authorization" not in seen[2].headers and "Cookie" not in seen[2].headers
    assert seen[2].headers["X-Keep"] == "y"


async def test_https_downgrade_refused_by_default() -> None:
    engine = redirecting({"a.test/s": (302, "http://a.test/plain")})
    async with HttpClient(engine) as client:
        assert (await client.get("https://a.test/s")).status == 302

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, allow_https_downgrade=True)

    async with HttpClient(
        redirecting({"a.test/s": (302, "http://a.test/plain")}), configure
    ) as client:
        assert (
            json.loads(await (await client.get("https://a.test/s")).body())["url"]
            == "http://a.test/plain"
        )


async def test_loop_stops_at_max_redirects() -> None:
    engine = redirecting({"a.test/loop": (302, "/loop")})

    def configure(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, max_redirects=5)

    async with HttpClient(engine, configure) as client:
        with pytest.raises(SendCountExceedException, match="5 redirects"):
            await client.get("http://a.test/loop")
    assert len(engine.requests) == 6


async def test_follow_redirects_false() -> None:
    engine = redirecting({"a.test/1": (302, "/2")})

    def configure(config: HttpClientConfig) -> None:
        config.follow_redirects = False

    async with HttpClient(engine, configure) as client:
        assert (await client.get("http://a.test/1")).status == 302


async def test_streaming_call_releases_intermediate_responses() -> None:
    engine = redirecting({"a.test/1": (302, "/2")})
    async with HttpClient(engine) as client, client.stream("GET", "http://a.test/1") as response:
        assert response.status == 200
        hop = response.redirect_history[0]
        assert hop.status == 302
        with pytest.raises(Exception, match="consumed"):
            await hop.body()
