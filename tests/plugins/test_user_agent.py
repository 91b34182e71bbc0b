"""UserAgent: default, presets, and a request's own header winning."""

from __future__ import annotations

import pytest

import client_core
from client_core import HttpClient, HttpClientConfig, InvalidHeaderException
from client_core.plugins import (
    BROWSER_USER_AGENT,
    CURL_USER_AGENT,
    DEFAULT_USER_AGENT,
    DefaultRequest,
    UserAgent,
    UserAgentConfig,
)
from client_mock import MockEngine, respond

pytestmark = pytest.mark.anyio


async def agents(configure: object, **kwargs: object) -> list[str]:
    engine = MockEngine(lambda request: respond("ok"))
    async with HttpClient(engine, configure) as client:  # type: ignore[arg-type]
        await client.get("http://ua.test/", **kwargs)
    return engine.request_history[0].headers.get_all("User-Agent")


async def test_default_agent_names_the_core_version() -> None:
    assert f"client-core/{client_core.__version__}" == DEFAULT_USER_AGENT
    assert await agents(lambda c: c.install(UserAgent)) == [DEFAULT_USER_AGENT]


async def test_custom_agent_and_presets() -> None:
    assert await agents(lambda c: c.install(UserAgent, agent="my-app/2.0")) == ["my-app/2.0"]
    assert await agents(lambda c: c.install(UserAgent, UserAgentConfig.browser)) == [
        BROWSER_USER_AGENT
    ]
    assert await agents(lambda c: c.install(UserAgent, lambda u: u.curl())) == [CURL_USER_AGENT]
    assert BROWSER_USER_AGENT.startswith("Mozilla/5.0") and CURL_USER_AGENT.startswith("curl/")


async def test_request_and_default_request_headers_win() -> None:
    def configure(config: HttpClientConfig) -> None:
        config.install(UserAgent, agent="plugin")

    assert await agents(configure, headers={"User-Agent": "mine"}) == ["mine"]

    def with_defaults(config: HttpClientConfig) -> None:
        config.install(UserAgent, agent="plugin")
        config.install(DefaultRequest, headers={"User-Agent": "default-request"})

    assert await agents(with_defaults) == ["default-request"]


@pytest.mark.parametrize("agent", ["", "  ", 42])
def test_invalid_agent(agent: object) -> None:
    with pytest.raises(ValueError, match="agent"):
        HttpClient(MockEngine(), lambda c: c.install(UserAgent, agent=agent))


def test_agent_with_newline_is_rejected() -> None:
    with pytest.raises(InvalidHeaderException):
        HttpClient(MockEngine(), lambda c: c.install(UserAgent, agent="a\r\nX-Evil: 1"))
