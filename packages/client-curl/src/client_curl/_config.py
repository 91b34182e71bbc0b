"""The curl engine's configuration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from client_core.engine import HttpClientEngineConfig

__all__ = ["HTTP_VERSIONS", "CurlEngineConfig", "HttpVersion"]

HttpVersion = Literal["1.1", "2", "2-prior-knowledge", "3", "3-only"]

HTTP_VERSIONS: Final[tuple[str, ...]] = ("1.1", "2", "2-prior-knowledge", "3", "3-only")


def _check_timeout(name: str, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a non-negative number of seconds or None, got {value!r}")


def _check_count(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int of at least {minimum}, got {value!r}")


@dataclass(kw_only=True)
class CurlEngineConfig(HttpClientEngineConfig):
    """Configuration of the curl engine.

    Every option has a default, so ``CurlEngineConfig()`` is a working configuration.
    Proxy (``proxy``, ``trust_env``) and TLS (``verify``, ``ca_file``, ``ssl_context``,
    ``client_cert``, ``server_name``) settings come from
    :class:`~client_core.engine.HttpClientEngineConfig`.

    ``thread_count`` is the most host-name lookups running at once: the engine resolves
    names itself on that many worker threads and hands the addresses to libcurl, so libcurl
    never starts resolver threads of its own. Transfers themselves all run on the event
    loop's thread. ``pipelining`` has no effect: libcurl dropped HTTP/1.1 pipelining;
    HTTP/2 and HTTP/3 requests to one origin are always multiplexed on one connection.

    Attributes:
        request_timeout: Seconds allowed for a whole call when the request sets none
            (enforced by the client), ``None`` for no limit. Default 15.0, as in CIO.
        connect_timeout: Seconds allowed to resolve the host and establish a connection
            (TCP, proxy handshake, TLS), ``None`` for no limit. Default 10.0.
        socket_timeout: The longest time in seconds without any byte moving, once
            connected, while sending or receiving (a paused transfer does not count),
            ``None`` for no limit. Default ``None``.
        http_version: ``"2"`` (default): HTTP/2 over TLS when the server offers it by
            ALPN, HTTP/1.1 otherwise and on cleartext; ``"1.1"``: HTTP/1.1 only;
            ``"2-prior-knowledge"``: HTTP/2 without negotiation, cleartext included (h2c);
            ``"3"``: try HTTP/3 over QUIC first, fall back to TCP; ``"3-only"``: HTTP/3
            only.
        max_connections: The most connections open at once over all hosts, 0 for no
            limit (further requests wait). Default 0.
        max_connections_per_host: The most connections open at once to one host, 0 for
            no limit. Default 0.
        max_idle_connections: The size of libcurl's connection cache, ``None`` for
            libcurl's default (four times the number of requests in flight). Default
            ``None``.
        max_concurrent_streams: The most HTTP/2 or HTTP/3 streams on one connection.
            Default 100.
        keep_alive_time: Seconds an idle connection is kept for reuse. Default 118.0
            (libcurl's default).
        dns_cache_timeout: Seconds a host-name lookup is reused. Default 60.0.
        unix_socket: Connect every request to this Unix domain socket path (a request's
            own ``unix_socket`` wins). Default ``None``.
        force_proxy_tunneling: Tunnel plain ``http://`` requests through an HTTP proxy
            with ``CONNECT`` too, instead of forwarding them. Default ``False``.
        buffer_size: The most bytes libcurl reads from the network at once (libcurl's
            ``CURLOPT_BUFFERSIZE``; libcurl shares one such buffer among all transfers).
            Default 262144.
        response_buffer_size: The most bytes of a streamed response body held in memory
            before the transfer is paused until the reader catches up. Default 1 MiB.
        curl_options: Extra libcurl options set on every transfer, as
            ``{pycurl.OPTION: value}``, applied last. For what this configuration does
            not cover; options the engine relies on (callbacks) must not be changed.
        driver: What runs libcurl on the engine's thread: ``"auto"`` (default): the
            driver written in C where this installation has it, else the one written in
            Python; ``"c"``: the C one, or a ``ValueError``; ``"python"``: the one
            written in Python. ``"auto"`` picks Python when ``curl_options`` holds a
            Python callback (only that driver can call one).
    """

    request_timeout: float | None = 15.0
    connect_timeout: float | None = 10.0
    socket_timeout: float | None = None
    http_version: HttpVersion = "2"
    max_connections: int = 0
    max_connections_per_host: int = 0
    max_idle_connections: int | None = None
    max_concurrent_streams: int = 100
    keep_alive_time: float = 118.0
    dns_cache_timeout: float = 60.0
    unix_socket: str | None = None
    force_proxy_tunneling: bool = False
    buffer_size: int = 256 * 1024
    response_buffer_size: int = 1024 * 1024
    curl_options: Mapping[int, Any] = field(default_factory=dict)
    driver: Literal["auto", "c", "python"] = "auto"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.validate()

    def validate(self) -> None:
        """Check every value.

        Raises:
            ValueError: A value is out of range, naming the option and what it got.
        """
        _check_count("thread_count", self.thread_count, 1)
        _check_timeout("request_timeout", self.request_timeout)
        _check_timeout("connect_timeout", self.connect_timeout)
        _check_timeout("socket_timeout", self.socket_timeout)
        _check_timeout("keep_alive_time", self.keep_alive_time)
        _check_timeout("dns_cache_timeout", self.dns_cache_timeout)
        if self.keep_alive_time is None or self.dns_cache_timeout is None:
            raise ValueError("keep_alive_time and dns_cache_timeout must be numbers of seconds")
        if self.http_version not in HTTP_VERSIONS:
            raise ValueError(
                f"http_version must be one of {', '.join(HTTP_VERSIONS)}, got {self.http_version!r}"
            )
        _check_count("max_connections", self.max_connections, 0)
        _check_count("max_connections_per_host", self.max_connections_per_host, 0)
        if self.max_idle_connections is not None:
            _check_count("max_idle_connections", self.max_idle_connections, 1)
        _check_count("max_concurrent_streams", self.max_concurrent_streams, 1)
        _check_count("buffer_size", self.buffer_size, 1024)
        _check_count("response_buffer_size", self.response_buffer_size, 1)
        if self.driver not in ("auto", "c", "python"):
            raise ValueError(f'driver must be "auto", "c" or "python", got {self.driver!r}')
        if not isinstance(self.curl_options, Mapping):
            raise ValueError(
                f"curl_options must be a mapping of libcurl options to values, "
                f"got {type(self.curl_options).__name__}"
            )
