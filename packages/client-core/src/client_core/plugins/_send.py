"""``HttpSend``: public interceptors around sending (Ktor's ``HttpSend``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from client_core.plugins._api import HookOrder, PluginBuilder, Proceed, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = ["HttpSend", "HttpSendConfig", "HttpSendPlugin"]

Interceptor = Callable[["HttpRequestBuilder", Proceed], Awaitable["HttpResponse"]]


@dataclass
class HttpSendConfig:
    """Configuration of :data:`HttpSend`.

    Attributes:
        max_send_count: The most requests one call may send; overrides
            ``HttpClientConfig.max_send_count`` when set.
    """

    max_send_count: int | None = None


class HttpSendPlugin:
    """The installed ``HttpSend``: add interceptors with :meth:`intercept`."""

    def __init__(self, builder: PluginBuilder[HttpSendConfig]) -> None:
        self._builder = builder

    def intercept(self, interceptor: Interceptor) -> Interceptor:
        """Add ``interceptor(request, proceed)``; may be used as a decorator.

        The interceptor can inspect or change the request, call ``await proceed(request)``
        zero or more times, and return any response. Responses it drops should be
        discarded with ``await response.discard()``. Interceptors added later run closer to
        the engine.

        Args:
            interceptor: ``async (request, proceed) -> HttpResponse``.

        Returns:
            ``interceptor``.
        """
        self._builder.on_send(interceptor, order=HookOrder.NORMAL + 10)
        return interceptor


def _install(plugin: PluginBuilder[HttpSendConfig]) -> HttpSendPlugin:
    if plugin.config.max_send_count is not None:
        if plugin.config.max_send_count < 1:
            raise ValueError(
                f"max_send_count must be at least 1, got {plugin.config.max_send_count!r}"
            )
        plugin.client.config.max_send_count = plugin.config.max_send_count
    return HttpSendPlugin(plugin)


HttpSend = create_client_plugin("HttpSend", HttpSendConfig, _install)
"""Intercept sending; ``client.plugin(HttpSend).intercept(fn)`` adds an interceptor."""
