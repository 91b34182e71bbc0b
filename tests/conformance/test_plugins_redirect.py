"""HttpRedirect on real engines: methods and bodies, history, credentials across origins."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import pytest

from client_core import HttpClientConfig, RequestBodyReplayException, SendCountExceedException
from client_core.plugins import HttpRedirect
from tests.conformance.conftest import EngineUnderTest
from tests.plugins.server_app import plugins_server_fixture  # noqa: F401
from tests.servers.tls import TLSFiles
from tests.servers.uvicorn_server import ServerInfo

pytestmark = [pytest.mark.anyio, pytest.mark.network]


def to(server: ServerInfo, target: str, status: int = 302) -> str:
    return server.url(f"/redirect-to?url={quote(target, safe='')}&status={status}")


def headers_of(echo: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in echo["headers"] if k.lower() == name]


SECRETS = {"Authorization": "Bearer t0ken", "Cookie": "sid=1", "X-Keep": "kept"}


async def test_credentials_kept_within_an_origin_dropped_across(
    engine_factory: EngineUnderTest, http_server: ServerInfo, plugins_server: ServerInfo
) -> None:
    other = plugins_server.url("/flaky/cross-origin-credentials?fail=0")
    async with engine_factory.client() as client:
        same = await client.get(to(http_server, "/echo"), headers=SECRETS)
        echo = await same.json()
        assert headers_of(echo, "authorization") == ["Bearer t0ken"]
        assert headers_of(echo, "cookie") == ["sid=1"]
        assert [r.status.value for r in same.redirect_history] == [302]

        cross = await client.get(to(http_server, other), headers=SECRETS)
        echo = await cross.json()
        assert headers_of(echo, "authorization") == [] and headers_of(echo, "cookie") == []
        assert headers_of(echo, "x-keep") == ["kept"]
        assert str(cross.request.url) == other
        assert str(cross.redirect_history[0].request.url).startswith(http_server.base_url)


async def test_back_to_the_first_origin_does_not_restore_dropped_credentials(
    engine_factory: EngineUnderTest, http_server: ServerInfo, plugins_server: ServerInfo
) -> None:
    back = http_server.url("/echo")
    via_other_origin = plugins_server.url(f"/go?url={quote(back, safe='')}")
    async with engine_factory.client() as client:
        response = await client.get(to(http_server, via_other_origin), headers=SECRETS)
        echo = await response.json()
    assert [str(r.request.url.origin[2]) for r in response.redirect_history] == [
        str(http_server.port),
        str(plugins_server.port),
    ]
    assert headers_of(echo, "authorization") == [] and headers_of(echo, "cookie") == []
    assert headers_of(echo, "x-keep") == ["kept"]


async def test_https_downgrade(
    engine_factory: EngineUnderTest,
    http_server: ServerInfo,
    https_server: ServerInfo,
    tls_files: TLSFiles,
) -> None:
    target = http_server.url("/echo")
    async with engine_factory.client(ca_file=tls_files.ca_file) as client:
        refused = await client.get(to(https_server, target), headers=SECRETS)
        assert refused.status == 302 and refused.redirect_history == []

    def allow(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, allow_https_downgrade=True)

    async with engine_factory.client(allow, ca_file=tls_files.ca_file) as client:
        followed = await client.get(to(https_server, target), headers=SECRETS)
        echo = await followed.json()
    assert headers_of(echo, "authorization") == [] and headers_of(echo, "x-keep") == ["kept"]


async def test_303_turns_post_into_get_and_307_resends_the_body(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    def follow_all(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, check_http_method=False)

    payload = b"x" * 100_000
    async with engine_factory.client(follow_all) as client:
        echo = await (
            await client.post(to(http_server, "/echo", 303), body=payload, content_type="a/b")
        ).json()
        assert echo["method"] == "GET" and echo["body_length"] == 0
        assert headers_of(echo, "content-type") == []
        echo = await (await client.post(to(http_server, "/upload", 307), body=payload)).json()
        assert echo["length"] == len(payload)
        assert echo["sha256"] == hashlib.sha256(payload).hexdigest()


async def test_307_refuses_to_resend_a_one_shot_stream(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"once"

    def follow_all(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, check_http_method=False)

    async with engine_factory.client(follow_all) as client:
        with pytest.raises(RequestBodyReplayException, match="one-shot"):
            await client.put(to(http_server, "/upload", 307), body=body())
        # the connection is still usable afterwards
        assert (await client.get(http_server.url("/status/200"))).status == 200


async def test_history_and_max_redirects(
    engine_factory: EngineUnderTest, http_server: ServerInfo
) -> None:
    def limit(config: HttpClientConfig) -> None:
        config.install(HttpRedirect, max_redirects=3)

    async with engine_factory.client(limit) as client:
        response = await client.get(http_server.url("/redirect/3"))
        assert response.status == 200
        assert [str(r.request.url) for r in response.redirect_history] == [
            http_server.url(f"/redirect/{n}") for n in (3, 2, 1)
        ]
        with pytest.raises(SendCountExceedException, match="more than 3 redirects"):
            await client.get(http_server.url("/redirect/4"))
        async with client.stream("GET", http_server.url("/redirect/2")) as streamed:
            assert len(streamed.redirect_history) == 2
            assert json.loads(b"".join([c async for c in streamed.body_as_channel()]))
