"""``HttpTimeout``: request, connect and socket timeouts, client-wide and per request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from client_core._request import _check_timeout
from client_core.engine import DEFAULT, EngineCapability, Timeouts
from client_core.engine._base import TimeoutValue
from client_core.plugins._api import HookOrder, PluginBuilder, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder

__all__ = ["HttpTimeout", "HttpTimeoutConfig"]


@dataclass
class HttpTimeoutConfig:
    """Configuration of :data:`HttpTimeout`; every value is in seconds.

    Each option is ``DEFAULT`` until set: the engine's own configured value applies (for
    example ``CIOEngineConfig.request_timeout``). ``None`` means no limit. A value set on
    the request (``timeout=`` or ``builder.timeout(...)``) wins over these.

    Attributes:
        request_timeout: The longest time one request may take, from sending it until its
            response is complete: the head and, for calls made with the verbs
            (``client.get`` ...), the whole body; for ``client.stream(...)``, until the
            head arrives. Each request sent (every redirect hop and every
            ``HttpRequestRetry`` attempt) gets the whole budget again, as in Ktor.
            Expiry raises ``HttpRequestTimeoutException``.
        connect_timeout: The longest time to establish a connection (TCP, TLS, proxy
            handshake), enforced by the engine: ``ConnectTimeoutException``.
        socket_timeout: The longest time without any byte moving while sending or
            receiving, enforced by the engine: ``SocketTimeoutException``.
    """

    request_timeout: TimeoutValue = DEFAULT
    connect_timeout: TimeoutValue = DEFAULT
    socket_timeout: TimeoutValue = DEFAULT

    def as_timeouts(self) -> Timeouts:
        """Return the configured values as :class:`~client_core.engine.Timeouts`.

        Returns:
            The timeouts, checked.

        Raises:
            ValueError: A value is negative or not a number.
        """
        return Timeouts(
            request=_check_timeout("request_timeout", self.request_timeout),
            connect=_check_timeout("connect_timeout", self.connect_timeout),
            socket=_check_timeout("socket_timeout", self.socket_timeout),
        )


def _merge(own: Timeouts, defaults: Timeouts) -> Timeouts:
    """Fill the ``DEFAULT`` fields of ``own`` from ``defaults``."""
    return Timeouts(
        request=defaults.request if own.request is DEFAULT else own.request,
        connect=defaults.connect if own.connect is DEFAULT else own.connect,
        socket=defaults.socket if own.socket is DEFAULT else own.socket,
    )


def _is_set(timeouts: Timeouts) -> bool:
    return any(v is not DEFAULT for v in (timeouts.request, timeouts.connect, timeouts.socket))


def _install(plugin: PluginBuilder[HttpTimeoutConfig]) -> None:
    defaults = plugin.config.as_timeouts()
    configured = _is_set(defaults)

    async def apply_timeouts(request: HttpRequestBuilder, content: Any) -> None:
        own = request.timeouts
        if configured:
            request.timeouts = own = _merge(own, defaults)
        if configured or _is_set(own):
            request.capabilities.add(EngineCapability.TIMEOUT)

    # Late, so that timeouts set by other on_request hooks (DefaultRequest, user plugins)
    # count as set on the request.
    plugin.on_request(apply_timeouts, order=HookOrder.LAST)


HttpTimeout = create_client_plugin("HttpTimeout", HttpTimeoutConfig, _install)
"""Request, connect and socket timeouts (Ktor's ``HttpTimeout``).

Install it with ``config.install(HttpTimeout, request_timeout=5.0)``; a request sets its
own with ``timeout=2.0`` or ``builder.timeout(request=..., connect=..., socket=...)``.
A request that has any timeout needs an engine with the ``HttpTimeout`` capability
(``UnsupportedCapabilityException`` before anything is sent otherwise).
"""
