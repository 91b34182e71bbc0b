"""``UserAgent``: the ``User-Agent`` header of every request (Ktor's ``UserAgent``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from client_core._version import __version__
from client_core.http import HttpHeaders
from client_core.http._headers import check_header_value
from client_core.plugins._api import PluginBuilder, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder

__all__ = [
    "BROWSER_USER_AGENT",
    "CURL_USER_AGENT",
    "DEFAULT_USER_AGENT",
    "UserAgent",
    "UserAgentConfig",
]

DEFAULT_USER_AGENT: Final = f"client-core/{__version__}"
"""What ``UserAgent`` sends unless configured: ``client-core/<version>``."""

BROWSER_USER_AGENT: Final = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
"""A desktop Chrome ``User-Agent`` (Ktor's ``BrowserUserAgent()``)."""

CURL_USER_AGENT: Final = "curl/8.7.1"
"""The ``User-Agent`` of the curl command-line tool (Ktor's ``CurlUserAgent()``)."""


@dataclass
class UserAgentConfig:
    """Configuration of :data:`UserAgent`.

    Attributes:
        agent: The ``User-Agent`` value. Default ``client-core/<version>``.
    """

    agent: str = DEFAULT_USER_AGENT

    def browser(self) -> None:
        """Send a desktop browser's ``User-Agent`` (:data:`BROWSER_USER_AGENT`).

        Use it as an install block: ``config.install(UserAgent, UserAgentConfig.browser)``.
        """
        self.agent = BROWSER_USER_AGENT

    def curl(self) -> None:
        """Send curl's ``User-Agent`` (:data:`CURL_USER_AGENT`).

        Use it as an install block: ``config.install(UserAgent, UserAgentConfig.curl)``.
        """
        self.agent = CURL_USER_AGENT


def _install(plugin: PluginBuilder[UserAgentConfig]) -> None:
    agent = plugin.config.agent
    if not isinstance(agent, str) or not agent.strip():
        raise ValueError(f"UserAgent agent must be a non-empty str, got {agent!r}")
    check_header_value(HttpHeaders.USER_AGENT, agent)

    @plugin.on_request
    async def set_user_agent(request: HttpRequestBuilder, content: Any) -> None:
        if HttpHeaders.USER_AGENT not in request.headers:
            request.headers.set(HttpHeaders.USER_AGENT, agent)


UserAgent = create_client_plugin("UserAgent", UserAgentConfig, _install)
"""Sends a ``User-Agent`` header on every request that does not set its own."""
