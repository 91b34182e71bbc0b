"""CIO engine configuration: pool limits, per-endpoint settings and timeouts."""

from __future__ import annotations

from dataclasses import dataclass, field

from client_core.engine import HttpClientEngineConfig

__all__ = ["CIOEngineConfig", "EndpointConfig"]


def _check_timeout(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number of seconds or None, got {value!r}")


def _check_positive(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


@dataclass(kw_only=True)
class EndpointConfig:
    """Settings for the connections to one endpoint (Ktor's ``EndpointConfig``).

    An endpoint (a *route*) is what a connection is opened to: scheme, host and port, plus
    the proxy or Unix socket used to reach them.

    Attributes:
        max_connections_per_route: The most connections open at once to one endpoint,
            idle ones included. Default 100.
        keep_alive_time: Seconds an idle connection stays in the pool before it is closed.
            Default 5.0.
        pipeline_max_size: The most requests in flight on one connection when
            ``pipelining`` is on. Default 20.
        connect_timeout: Seconds allowed to establish a connection (TCP, proxy handshake
            and TLS), ``None`` for no limit. A request's own ``connect_timeout`` wins.
            Default 5.0.
        connect_attempts: How many times to try connecting before giving up. Default 1.
        socket_timeout: The longest time in seconds without any byte moving while
            sending or receiving, ``None`` for no limit. A request's own
            ``socket_timeout`` wins. Default ``None``.
    """

    max_connections_per_route: int = 100
    keep_alive_time: float = 5.0
    pipeline_max_size: int = 20
    connect_timeout: float | None = 5.0
    connect_attempts: int = 1
    socket_timeout: float | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every value.

        Raises:
            ValueError: A value is out of range, naming the option and what it got.
        """
        _check_positive("endpoint.max_connections_per_route", self.max_connections_per_route)
        _check_positive("endpoint.pipeline_max_size", self.pipeline_max_size)
        _check_positive("endpoint.connect_attempts", self.connect_attempts)
        _check_timeout("endpoint.keep_alive_time", self.keep_alive_time)
        if self.keep_alive_time is None:
            raise ValueError("endpoint.keep_alive_time must be a number of seconds, got None")
        _check_timeout("endpoint.connect_timeout", self.connect_timeout)
        _check_timeout("endpoint.socket_timeout", self.socket_timeout)


@dataclass(kw_only=True)
class CIOEngineConfig(HttpClientEngineConfig):
    """Configuration of the CIO engine (Ktor's ``CIOEngineConfig``).

    Every option has a default, so ``CIOEngineConfig()`` is a working configuration. TLS
    settings (``verify``, ``ca_file``, ``ssl_context``, ``client_cert``, ``server_name``)
    and ``proxy``/``trust_env`` come from
    :class:`~client_core.engine.HttpClientEngineConfig`; they play the part of Ktor's
    ``https { }`` block.

    Attributes:
        max_connections: The most connections open at once over all endpoints. Default 1000.
        endpoint: Per-endpoint settings, see :class:`EndpointConfig`.
        request_timeout: Seconds allowed for a whole call when the request sets none
            (enforced by the client), ``None`` for no limit. Default 15.0, like Ktor.
        unix_socket: Connect every request to this Unix domain socket path (a request's
            own ``unix_socket`` wins). Default ``None``.
        max_response_head_size: The largest response head (status line and headers) in
            bytes; a larger one fails with ``ProtocolException``. Default 65536.
        fast_path: On asyncio, drive sockets with an ``asyncio.BufferedProtocol`` instead
            of anyio streams (same behaviour, less overhead). Default ``True``.
    """

    max_connections: int = 1000
    endpoint: EndpointConfig = field(default_factory=EndpointConfig)
    request_timeout: float | None = 15.0
    unix_socket: str | None = None
    max_response_head_size: int = 65536
    fast_path: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        self.validate()

    def validate(self) -> None:
        """Check every value, the endpoint's included.

        Raises:
            ValueError: A value is out of range, naming the option and what it got.
            TypeError: ``endpoint`` is not an :class:`EndpointConfig`.
        """
        _check_positive("max_connections", self.max_connections)
        _check_positive("max_response_head_size", self.max_response_head_size)
        _check_timeout("request_timeout", self.request_timeout)
        if not isinstance(self.endpoint, EndpointConfig):
            raise TypeError(
                f"endpoint must be an EndpointConfig (or a dict of its options), "
                f"got {type(self.endpoint).__name__}"
            )
        self.endpoint.validate()
