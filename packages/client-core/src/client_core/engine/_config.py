"""Engine configuration shared by every engine: threads, pipelining, proxy and TLS."""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from client_core.errors import InvalidUrlException
from client_core.http import Url

__all__ = [
    "HttpClientEngineConfig",
    "ProxyBuilder",
    "ProxyConfig",
    "apply_config",
    "proxy_from_environment",
]

C = TypeVar("C", bound="HttpClientEngineConfig")


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    """Where to send requests instead of the origin: an HTTP or a SOCKS proxy.

    Build one with :class:`ProxyBuilder`. Credentials in the URL are used to authenticate
    with the proxy (``Proxy-Authorization: Basic`` for HTTP, user/password for SOCKS5).

    Attributes:
        type: ``"http"`` or ``"socks"``.
        url: The proxy's URL, e.g. ``http://user:pw@proxy:3128`` or ``socks5://host:1080``.
    """

    type: Literal["http", "socks"]
    url: Url

    @property
    def host(self) -> str:
        """The proxy's host name or address."""
        return self.url.host

    @property
    def port(self) -> int:
        """The proxy's port."""
        port = self.url.port
        if port is None:
            return 1080 if self.type == "socks" else 80
        return port

    @property
    def user(self) -> str | None:
        """The user name for the proxy, if any."""
        return self.url.user

    @property
    def password(self) -> str | None:
        """The password for the proxy, if any."""
        return self.url.password

    @property
    def socks_version(self) -> int:
        """4 or 5 for SOCKS proxies (from the URL scheme ``socks4``/``socks5``)."""
        return 4 if self.url.scheme.startswith("socks4") else 5

    @property
    def remote_dns(self) -> bool:
        """True when the proxy resolves host names (``socks5h``, ``socks4a``, or HTTP)."""
        return self.type == "http" or self.url.scheme in ("socks5h", "socks4a")

    def __repr__(self) -> str:
        return f"ProxyConfig({self.type!r}, {self.url.redacted()!r})"


class ProxyBuilder:
    """Builds :class:`ProxyConfig` values (Ktor's ``ProxyBuilder``)."""

    @staticmethod
    def http(url: str | Url) -> ProxyConfig:
        """An HTTP proxy: forwards ``http://`` requests, tunnels ``https://`` with CONNECT.

        Args:
            url: The proxy URL, ``http://[user:password@]host[:port]`` (``https://`` for a
                proxy reached over TLS).

        Returns:
            The proxy configuration.

        Raises:
            InvalidUrlException: The URL is not an http(s) URL with a host.
        """
        parsed = Url(url)
        if parsed.scheme not in ("http", "https"):
            raise InvalidUrlException(
                f"HTTP proxy URL must be http:// or https://, got {parsed.redacted()}"
            )
        return ProxyConfig("http", parsed)

    @staticmethod
    def socks(
        host: str,
        port: int,
        *,
        user: str | None = None,
        password: str | None = None,
        version: Literal[4, 5] = 5,
        remote_dns: bool = True,
    ) -> ProxyConfig:
        """A SOCKS proxy.

        Args:
            host: The proxy's host.
            port: The proxy's port.
            user: Optional user name (SOCKS5 user/password, or the SOCKS4 user id).
            password: Optional password (SOCKS5 only).
            version: 4 or 5.
            remote_dns: Let the proxy resolve host names (``socks5h``/``socks4a``).

        Returns:
            The proxy configuration.

        Raises:
            ValueError: ``version`` is not 4 or 5, or the port is out of range.
        """
        if version not in (4, 5):
            raise ValueError(f"SOCKS version must be 4 or 5, got {version!r}")
        if not 0 < port < 65536:
            raise ValueError(f"proxy port must be in 1..65535, got {port!r}")
        scheme = {(5, True): "socks5h", (5, False): "socks5", (4, True): "socks4a"}.get(
            (version, remote_dns), "socks4"
        )
        builder = Url(f"{scheme}://{_host_for_url(host)}:{port}").builder()
        builder.user = user
        builder.password = password
        return ProxyConfig("socks", builder.build())

    @staticmethod
    def from_url(url: str | Url) -> ProxyConfig:
        """A proxy from a URL whose scheme says its kind (``http``, ``https``, ``socks5`` ...).

        Args:
            url: The proxy URL.

        Returns:
            The proxy configuration.

        Raises:
            InvalidUrlException: The scheme is not a known proxy scheme.
        """
        parsed = Url(url)
        if parsed.scheme in ("http", "https"):
            return ProxyConfig("http", parsed)
        if parsed.scheme in ("socks5", "socks5h", "socks4", "socks4a", "socks"):
            if parsed.scheme == "socks":
                parsed = Url("socks5h" + str(parsed)[len("socks") :])
            return ProxyConfig("socks", parsed)
        raise InvalidUrlException(f"unsupported proxy scheme in {parsed.redacted()}")


def _host_for_url(host: str) -> str:
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


@dataclass(kw_only=True)
class HttpClientEngineConfig:
    """Settings every engine understands (Ktor's ``HttpClientEngineConfig``).

    Engines subclass this with their own options. Every config can be built with no
    arguments.

    Attributes:
        thread_count: Worker threads the engine may use; what it means is engine-specific
            (see each engine's page). Default 4, like Ktor.
        pipelining: Send several requests on one connection before the responses arrive,
            where the engine supports HTTP/1.1 pipelining.
        proxy: A proxy for every request, or ``None`` to use the environment (see
            ``trust_env``).
        trust_env: Read ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` when
            no proxy is set.
        verify: Verify the server's TLS certificate and host name.
        ca_file: A PEM bundle of trusted CAs instead of the system trust store.
        ssl_context: A ready ``ssl.SSLContext``; overrides ``verify``, ``ca_file`` and
            ``client_cert``.
        client_cert: A client certificate: ``(cert_file, key_file)``, key file optional
            when the certificate file holds the key too.
        server_name: The TLS server name (SNI and certificate check) to use instead of the
            URL's host.
    """

    thread_count: int = 4
    pipelining: bool = False
    proxy: ProxyConfig | None = None
    trust_env: bool = True
    verify: bool = True
    ca_file: str | None = None
    ssl_context: ssl.SSLContext | None = None
    client_cert: tuple[str, str | None] | None = None
    server_name: str | None = None
    _ssl_cache: ssl.SSLContext | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check every option; run after construction and after options are applied.

        Engines override this (calling ``super().validate()``) to check their own options.

        Raises:
            ValueError: An option is out of range, naming the option and the value.
        """
        if not isinstance(self.thread_count, int) or self.thread_count < 1:
            raise ValueError(f"thread_count must be at least 1, got {self.thread_count!r}")

    def create_ssl_context(self) -> ssl.SSLContext:
        """Return the TLS context for this configuration, built once and cached.

        Returns:
            ``ssl_context`` when set; otherwise a context using the system trust store (or
            ``ca_file``), the client certificate, and verification as configured.
        """
        if self.ssl_context is not None:
            return self.ssl_context
        if self._ssl_cache is None:
            context = ssl.create_default_context(cafile=self.ca_file)
            if not self.verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if self.client_cert is not None:
                cert_file, key_file = self.client_cert
                context.load_cert_chain(cert_file, key_file)
            self._ssl_cache = context
        return self._ssl_cache


def apply_config(config: C, block: Callable[[C], Any] | None, options: Mapping[str, Any]) -> C:
    """Set ``options`` as attributes of ``config``, then run ``block`` on it.

    Args:
        config: The engine configuration to change.
        block: A function receiving the configuration (Ktor's ``engine { }`` block).
        options: Attribute values; nested objects can be given as dicts
            (``endpoint={"max_connections_per_route": 4}``).

    Returns:
        ``config``.

    Raises:
        TypeError: An option names no attribute of the configuration.
        ValueError: The resulting configuration is invalid (from its ``validate()``).
    """
    names = (
        {f.name for f in dataclasses.fields(config)} if dataclasses.is_dataclass(config) else set()
    )
    for name, value in options.items():
        if name.startswith("_") or (names and name not in names):
            valid = ", ".join(sorted(n for n in names if not n.startswith("_")))
            raise TypeError(
                f"{type(config).__name__} has no option {name!r}; valid options: {valid}"
            )
        current = getattr(config, name, None)
        if isinstance(value, Mapping) and dataclasses.is_dataclass(current):
            apply_config(current, None, value)  # type: ignore[type-var]
        else:
            setattr(config, name, value)
    if block is not None:
        block(config)
    validate = getattr(config, "validate", None)
    if callable(validate):
        validate()
    return config


def _no_proxy_matches(host: str, no_proxy: str) -> bool:
    host = host.lower().strip("[]")
    for entry in no_proxy.split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host = entry.rsplit(":", 1)[0] if entry.count(":") == 1 else entry
        entry_host = entry_host.strip("[]")
        try:
            if ipaddress.ip_address(host) in ipaddress.ip_network(entry_host, strict=False):
                return True
            continue
        except ValueError:
            pass
        entry_host = entry_host.lstrip(".")
        if host == entry_host or host.endswith("." + entry_host):
            return True
    return False


def proxy_from_environment(
    url: Url, environ: Mapping[str, str] | None = None
) -> ProxyConfig | None:
    """The proxy the standard environment variables choose for ``url``.

    ``HTTPS_PROXY`` for https/wss, ``HTTP_PROXY`` for http/ws, then ``ALL_PROXY``; lower-case
    names win over upper-case ones, as in curl. ``NO_PROXY`` lists hosts, domain suffixes,
    IP networks or ``*`` to bypass.

    Args:
        url: The request URL.
        environ: The environment to read (default ``os.environ``).

    Returns:
        The proxy to use, or ``None`` for a direct connection.
    """
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        return env.get(name.lower()) or env.get(name.upper()) or None

    no_proxy = get("no_proxy")
    if no_proxy and _no_proxy_matches(url.host, no_proxy):
        return None
    value = get("https_proxy") if url.is_secure else get("http_proxy")
    value = value or get("all_proxy")
    if not value:
        return None
    if "://" not in value:
        value = "http://" + value
    return ProxyBuilder.from_url(value)
