"""libcurl options: from the engine configuration and from each request.

Options that never change are set once on each easy handle when it is made. Options that
depend on the request are set per request, and only when they differ from what the reused
handle already has (a :class:`Handle` remembers that), so a repeated ``GET`` sets one
option (``CURLOPT_HTTPHEADER`` is skipped too when the headers are the same).
"""

from __future__ import annotations

import ipaddress
import math
import os
import ssl
from collections.abc import Callable
from typing import Any, Final

import pycurl

from client_core.engine import HttpRequestData, ProxyConfig, proxy_from_environment
from client_core.errors import InvalidUrlException
from client_core.http import Url
from client_curl._config import CurlEngineConfig
from client_curl._native import HeaderStore, NativeError, cdriver, native
from client_curl._resolver import needs_lookup

__all__ = ["Handle", "Options", "Route", "proxy_url", "url_text"]

# libcurl options pycurl has no name for (the bundled libcurl knows them).
SUPPRESS_CONNECT_HEADERS: Final = 265

_HTTP_VERSIONS: Final = {
    "1.1": pycurl.CURL_HTTP_VERSION_1_1,
    "2": pycurl.CURL_HTTP_VERSION_2TLS,
    "2-prior-knowledge": pycurl.CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE,
    "3": pycurl.CURL_HTTP_VERSION_3,
    "3-only": pycurl.CURL_HTTP_VERSION_3ONLY,
}
_TLS_VERSIONS: Final = {
    ssl.TLSVersion.TLSv1: pycurl.SSLVERSION_TLSv1_0,
    ssl.TLSVersion.TLSv1_1: pycurl.SSLVERSION_TLSv1_1,
    ssl.TLSVersion.TLSv1_2: pycurl.SSLVERSION_TLSv1_2,
    ssl.TLSVersion.TLSv1_3: pycurl.SSLVERSION_TLSv1_3,
}
_TLS_MAX_VERSIONS: Final = {
    ssl.TLSVersion.TLSv1: pycurl.SSLVERSION_MAX_TLSv1_0,
    ssl.TLSVersion.TLSv1_1: pycurl.SSLVERSION_MAX_TLSv1_1,
    ssl.TLSVersion.TLSv1_2: pycurl.SSLVERSION_MAX_TLSv1_2,
    ssl.TLSVersion.TLSv1_3: pycurl.SSLVERSION_MAX_TLSv1_3,
}
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})
_PREREQFUNC_OK: Final[int] = pycurl.PREREQFUNC_OK
_SOCKOPT_OK: Final[int] = pycurl.SOCKOPT_OK
_SOCKOPT_ERROR: Final[int] = pycurl.SOCKOPT_ERROR
_NO_LIMIT_MS: Final = 2**31 - 1
_MAX_CACHED_PROXIES: Final = 512
_MAX_CACHED_ROUTES: Final = 1024
_SCHEMES: Final = frozenset({"http", "https"})

# What the request-dependent method options are set to on a handle.
_GET: Final = "GET"
_HEAD: Final = "HEAD"


def _ms(seconds: float | None) -> int:
    if seconds is None:
        return _NO_LIMIT_MS
    return max(1, min(_NO_LIMIT_MS, math.ceil(seconds * 1000)))


def _host_in_url(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def proxy_url(proxy: ProxyConfig) -> str:
    """The proxy as libcurl's ``CURLOPT_PROXY`` wants it: scheme, host and port only.

    Args:
        proxy: The proxy.

    Returns:
        ``scheme://host:port``; credentials are set apart.
    """
    return f"{proxy.url.scheme}://{_host_in_url(proxy.host)}:{proxy.port}"


def url_text(url: Url, server_name: str | None) -> str:
    """The URL to give libcurl: without credentials, its host replaced by ``server_name``.

    Args:
        url: The request URL.
        server_name: The TLS server name to use instead of the URL's host, or ``None``.

    Returns:
        The URL text.
    """
    if server_name is None:
        return url.redacted()
    return str(url.yarl.with_user(None).with_host(server_name))


def _is_ipv4(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 4
    except ValueError:
        return False


class Route:
    """What a request URL needs, worked out once per URL (see :meth:`Options.route`).

    Attributes:
        url_text: The URL to give libcurl.
        proxy: The proxy for it, ``None`` for a direct connection.
        lookups: ``(host, port)`` names the engine must resolve for libcurl, or ``None``.
    """

    __slots__ = ("lookups", "proxy", "url_text")

    def __init__(
        self,
        url_text: str,
        proxy: ProxyConfig | None,
        lookups: list[tuple[str, int]] | None,
    ) -> None:
        self.url_text = url_text
        self.proxy = proxy
        self.lookups = lookups


class Handle:
    """An easy handle and the request-dependent options currently set on it.

    Attributes:
        easy: The handle.
        url: The URL set.
        method: The method key set (``"GET"``, ``"HEAD"``, another method with no body).
        header_items: The request headers the header lines set were made from.
        header_body: Whether those header lines were made for a request with a body.
        connect_timeout: The connect timeout set.
        proxy: The proxy set (``None``: none).
        resolve: The ``CURLOPT_RESOLVE`` entries set.
        guarded: The pre-request callback of a non-idempotent request is set.
        pipewait: ``CURLOPT_PIPEWAIT`` is set (the URL's connection may multiplex).
        sent_once: The request was sent (or is about to be) on a connection.
        headers: Where libcurl writes the header lines (no callback into Python), with
            the driver written in Python; ``None`` with the C driver.
        slot: The C driver's state for this handle (its callbacks' data), ``0`` with the
            driver written in Python.
        dirty: Options were set that only a reset clears (reset before reuse).
    """

    __slots__ = (
        "connect_timeout",
        "dirty",
        "easy",
        "guarded",
        "header_body",
        "header_items",
        "headers",
        "method",
        "pipewait",
        "proxy",
        "resolve",
        "sent_once",
        "slot",
        "url",
    )

    def __init__(self, easy: pycurl.Curl, headers: HeaderStore | None, slot: int = 0) -> None:
        self.easy = easy
        self.headers = headers
        self.slot = slot
        self.sent_once = False
        self.url: str | None = None
        self.method: str | None = _GET
        self.header_items: list[tuple[str, str]] | None = None
        self.header_body = False
        self.connect_timeout: float | None = -1.0
        self.proxy: ProxyConfig | None = None
        self.resolve: list[str] | None = None
        self.guarded = False
        self.pipewait = False
        self.dirty = False

    def on_prereq(self, *args: object) -> int:
        """``CURLOPT_PREREQFUNCTION`` of a non-idempotent request: it is being sent."""
        self.sent_once = True
        return _PREREQFUNC_OK

    def on_sockopt(self, fd: int, purpose: int) -> int:
        """``CURLOPT_SOCKOPTFUNCTION``: libcurl made a socket, not yet connected.

        libcurl sends a request again on a new connection when a reused one died before
        any response byte; for a non-idempotent request that is refused here, before
        connecting.
        """
        if self.sent_once:
            return _SOCKOPT_ERROR
        return _SOCKOPT_OK

    def close(self) -> None:
        """Close the easy handle, then its header store or C driver state."""
        self.easy.close()
        if self.headers is not None:
            self.headers.close()
        slot, self.slot = self.slot, 0
        if slot and cdriver is not None:
            cdriver.slot_free(slot)

    def forget(self) -> None:
        """Forget what was set (after ``easy.reset()``)."""
        self.url = None
        self.method = _GET
        self.header_items = None
        self.header_body = False
        self.connect_timeout = -1.0
        self.proxy = None
        self.resolve = None
        self.guarded = False
        self.pipewait = False
        self.dirty = False


class Options:
    """The libcurl options of one engine.

    Args:
        config: The engine configuration (validated).
    """

    def __init__(self, config: CurlEngineConfig, c_driver: bool = False) -> None:
        self.config = config
        self.c_driver = c_driver
        self.static = self._static_options(config)
        self._routes: dict[str, Route] = {}
        self._proxies: dict[tuple[str, str], ProxyConfig | None] = {}
        self._plain_socks4: dict[ProxyConfig, ProxyConfig] = {}
        self._environ = os.environ if config.trust_env else None
        self._pipewait_tls = config.http_version != "1.1"
        self._pipewait_plain = config.http_version == "2-prior-knowledge"

    # -- the multi handle and new easy handles ------------------------------------------

    def setup_multi(self, multi: pycurl.CurlMulti) -> None:
        """Set the connection limits on a new multi handle."""
        cfg = self.config
        multi.setopt(pycurl.M_PIPELINING, 2)  # CURLPIPE_MULTIPLEX
        multi.setopt(pycurl.M_MAX_TOTAL_CONNECTIONS, cfg.max_connections)
        multi.setopt(pycurl.M_MAX_HOST_CONNECTIONS, cfg.max_connections_per_host)
        multi.setopt(pycurl.M_MAX_CONCURRENT_STREAMS, cfg.max_concurrent_streams)
        if cfg.max_idle_connections is not None:
            multi.setopt(pycurl.M_MAXCONNECTS, cfg.max_idle_connections)

    def new_handle(self) -> Handle:
        """Make an easy handle with the engine's fixed options.

        Raises:
            pycurl.error: libcurl rejected a fixed option.
        """
        if self.c_driver:
            easy = pycurl.Curl()
            lib = native()
            try:
                assert cdriver is not None
                slot = cdriver.slot_new(lib.setopt_pointer, lib.easy_pointer(easy))
            except RuntimeError as exc:  # libcurl refused a callback
                easy.close()
                raise NativeError(str(exc)) from None
            except BaseException:
                easy.close()
                raise
            handle = Handle(easy, None, slot)
        else:
            handle = Handle(pycurl.Curl(), HeaderStore(native()))
        try:
            self._apply_static(handle)
        except RuntimeError as exc:  # the C driver's callbacks refused after a reset
            handle.close()
            raise NativeError(str(exc)) from None
        except BaseException:
            handle.close()
            raise
        return handle

    def reset(self, handle: Handle) -> None:
        """Clear every option of a handle and set the fixed ones again."""
        handle.easy.reset()
        self._apply_static(handle)
        handle.forget()

    def _apply_static(self, handle: Handle) -> None:
        setopt = handle.easy.setopt
        for option, value in self.static:
            setopt(option, value)
        if handle.slot and cdriver is not None:
            cdriver.slot_attach(native().setopt_pointer, handle.slot)
        else:
            assert handle.headers is not None
            setopt(pycurl.SOCKOPTFUNCTION, handle.on_sockopt)
            handle.headers.attach(handle.easy)

    @staticmethod
    def _static_options(cfg: CurlEngineConfig) -> list[tuple[int, Any]]:
        http_version = _HTTP_VERSIONS[cfg.http_version]
        options: list[tuple[int, Any]] = [
            (pycurl.NOSIGNAL, 1),
            (pycurl.PROTOCOLS, pycurl.PROTO_HTTP | pycurl.PROTO_HTTPS),
            (pycurl.FOLLOWLOCATION, 0),
            (pycurl.PATH_AS_IS, 1),
            (pycurl.HTTP_CONTENT_DECODING, 0),
            (pycurl.HTTP_TRANSFER_DECODING, 1),
            (SUPPRESS_CONNECT_HEADERS, 1),
            (pycurl.TCP_NODELAY, 1),
            (pycurl.BUFFERSIZE, cfg.buffer_size),
            (pycurl.UPLOAD_BUFFERSIZE, max(16384, min(cfg.buffer_size, 2 * 1024 * 1024))),
            (pycurl.MAXAGE_CONN, max(1, math.ceil(cfg.keep_alive_time))),
            (pycurl.DNS_CACHE_TIMEOUT, max(0, math.ceil(cfg.dns_cache_timeout))),
            (pycurl.HTTP_VERSION, http_version),
            (pycurl.PIPEWAIT, 0),  # per request: see Options.apply
            (pycurl.CONNECTTIMEOUT_MS, _ms(cfg.connect_timeout)),
            (pycurl.PROXY, ""),
            (pycurl.NOPROXY, ""),
        ]
        if cfg.force_proxy_tunneling:
            options.append((pycurl.HTTPPROXYTUNNEL, 1))
        options += _tls_options(cfg)
        options += list(cfg.curl_options.items())
        return options

    # -- per request --------------------------------------------------------------------

    def route(self, url: Url) -> Route:
        """The :class:`Route` of ``url`` (cached per URL).

        Raises:
            InvalidUrlException: The scheme is not http or https.
        """
        text = url.redacted()
        route = self._routes.get(text)
        if route is None:
            if url.scheme not in _SCHEMES:
                raise InvalidUrlException(
                    f"{text}: the curl engine sends http and https requests, not {url.scheme}"
                )
            proxy = self.proxy_for(url)
            lookups: list[tuple[str, int]] = []
            if (proxy is None or (proxy.type == "socks" and not proxy.remote_dns)) and (
                needs_lookup(url.host)
            ):
                lookups.append((url.host, url.port or 80))
            if proxy is not None and needs_lookup(proxy.host):
                lookups.append((proxy.host, proxy.port))
            server_name = self.config.server_name
            route = Route(
                text if server_name is None else url_text(url, server_name),
                proxy,
                lookups or None,
            )
            if len(self._routes) >= _MAX_CACHED_ROUTES:
                self._routes.clear()
            self._routes[text] = route
        return route

    def proxy_for(self, url: Url) -> ProxyConfig | None:
        """The proxy for ``url``: the configured one, else the environment's (cached).

        Args:
            url: The request URL.

        Returns:
            The proxy, or ``None`` for a direct connection.
        """
        proxy = self.config.proxy
        if proxy is None and self._environ is not None:
            key = (url.scheme, url.host)
            try:
                proxy = self._proxies[key]
            except KeyError:
                proxy = proxy_from_environment(url, self._environ)
                if len(self._proxies) >= _MAX_CACHED_PROXIES:
                    self._proxies.clear()
                self._proxies[key] = proxy
        if proxy is not None and proxy.url.scheme == "socks4a" and _is_ipv4(url.host):
            # Nothing to resolve: plain SOCKS4, which every SOCKS4 server speaks.
            plain = self._plain_socks4.get(proxy)
            if plain is None:
                plain = self._plain_socks4[proxy] = ProxyConfig(
                    "socks", Url("socks4" + str(proxy.url)[len("socks4a") :])
                )
            proxy = plain
        return proxy

    def apply(
        self,
        handle: Handle,
        request: HttpRequestData,
        url_text: str,
        proxy: ProxyConfig | None,
        unix_socket: str | None,
        resolve: list[str] | None,
        connect_timeout: float | None,
        write_callback: Callable[[bytes], Any] | None,
        read_callback: Callable[[int], Any] | None,
        guard: bool,
    ) -> None:
        """Set the options of ``request`` on ``handle``.

        Args:
            handle: A handle with the engine's fixed options.
            request: The request.
            url_text: The URL to give libcurl (without credentials).
            proxy: The proxy to use, or ``None``.
            unix_socket: A Unix socket path to connect to instead, or ``None``.
            resolve: ``CURLOPT_RESOLVE`` entries (addresses looked up by the engine).
            connect_timeout: The connect timeout in seconds.
            write_callback: Receives each piece of the body (``None``: the C driver's).
            read_callback: Supplies a streamed request body (``None``: a bytes body, or
                the C driver's).
            guard: Keep libcurl from sending the request again on a new connection when
                a reused one dies (for a non-idempotent request). The C driver reads it
                from ``handle.guarded``.

        Raises:
            pycurl.error: libcurl rejected a value.
        """
        easy = handle.easy
        setopt = easy.setopt
        if handle.url != url_text:
            setopt(pycurl.URL, url_text)
            handle.url = url_text
            # Wait for a connection being made only when it may multiplex: libcurl keeps
            # a waiting transfer waiting until the other one ends when it turns out to be
            # HTTP/1.1 (so concurrent streams on cleartext HTTP/1.1 took turns).
            pipewait = self._pipewait_tls if url_text[4:5] == "s" else self._pipewait_plain
            if pipewait is not handle.pipewait:
                setopt(pycurl.PIPEWAIT, pipewait)
                handle.pipewait = pipewait
        method = request.method
        body = request.body
        has_body = False
        if type(body) is bytes:
            if body or method in _BODY_METHODS:
                has_body = True
                setopt(pycurl.POSTFIELDSIZE_LARGE, len(body))
                setopt(pycurl.POSTFIELDS, body)
                setopt(pycurl.CUSTOMREQUEST, None if method == "POST" else method)
                if len(body) > 65536:
                    handle.dirty = True  # let the reset drop the reference to the body
                if handle.method == _HEAD:
                    setopt(pycurl.NOBODY, 0)
                handle.method = None
            elif handle.method != method:
                if method == _HEAD:
                    setopt(pycurl.NOBODY, 1)
                    setopt(pycurl.CUSTOMREQUEST, None)
                else:
                    setopt(pycurl.HTTPGET, 1)
                    setopt(pycurl.CUSTOMREQUEST, None if method == _GET else method)
                handle.method = method
        else:
            has_body = True
            setopt(pycurl.UPLOAD, 1)
            if read_callback is not None:
                setopt(pycurl.READFUNCTION, read_callback)
            length = request.content_length
            setopt(pycurl.INFILESIZE_LARGE, -1 if length is None else length)
            setopt(pycurl.CUSTOMREQUEST, method)
            handle.method = None
            handle.dirty = True
        items = request.headers.items()
        if items != handle.header_items or has_body is not handle.header_body:
            setopt(pycurl.HTTPHEADER, _header_lines(request, has_body, self.config.server_name))
            handle.header_items = items
            handle.header_body = has_body
        if write_callback is not None:
            setopt(pycurl.WRITEFUNCTION, write_callback)
        if connect_timeout != handle.connect_timeout:
            setopt(pycurl.CONNECTTIMEOUT_MS, _ms(connect_timeout))
            handle.connect_timeout = connect_timeout
        if proxy is not handle.proxy:
            _set_proxy(easy, proxy)
            handle.proxy = proxy
        if resolve != handle.resolve:
            setopt(pycurl.RESOLVE, resolve)
            handle.resolve = resolve
        handle.sent_once = False
        if handle.slot:
            handle.guarded = guard  # the C driver's callbacks are set once
        elif guard:
            if not handle.guarded:
                setopt(pycurl.PREREQFUNCTION, handle.on_prereq)
                handle.guarded = True
        elif handle.guarded:
            easy.unsetopt(pycurl.PREREQFUNCTION)
            handle.guarded = False
        if unix_socket is not None:
            setopt(pycurl.UNIX_SOCKET_PATH, unix_socket)
            handle.dirty = True
        server_name = self.config.server_name
        if server_name is not None:
            url = request.url
            port = url.port
            setopt(
                pycurl.CONNECT_TO,
                [f"{_host_in_url(server_name)}:{port}:{_host_in_url(url.host)}:{port}"],
            )
            handle.dirty = True


def _header_lines(request: HttpRequestData, has_body: bool, server_name: str | None) -> list[str]:
    headers = request.headers
    lines = [f"{name}: {value}" if value else f"{name};" for name, value in headers.items()]
    # Turn off what libcurl would add on its own: headers arrive as sent.
    if "Accept" not in headers:
        lines.append("Accept:")
    if has_body:
        lines.append("Expect:")
        if "Content-Type" not in headers:
            lines.append("Content-Type:")
    if server_name is not None and "Host" not in headers:
        lines.append(f"Host: {request.url.authority}")
    for index, line in enumerate(lines):
        if not line.isascii():
            lines[index] = _encode_header(line)  # type: ignore[call-overload]
    return lines


def _encode_header(line: str) -> bytes:
    try:
        return line.encode("latin-1")
    except UnicodeEncodeError:
        return line.encode("utf-8")


def _set_proxy(easy: pycurl.Curl, proxy: ProxyConfig | None) -> None:
    if proxy is None:
        easy.setopt(pycurl.PROXY, "")
        easy.unsetopt(pycurl.PROXYUSERNAME)
        easy.unsetopt(pycurl.PROXYPASSWORD)
        return
    easy.setopt(pycurl.PROXY, proxy_url(proxy))
    if proxy.user is not None:
        easy.setopt(pycurl.PROXYUSERNAME, proxy.user)
        easy.setopt(pycurl.PROXYPASSWORD, proxy.password or "")
    else:
        easy.unsetopt(pycurl.PROXYUSERNAME)
        easy.unsetopt(pycurl.PROXYPASSWORD)


def _tls_options(cfg: CurlEngineConfig) -> list[tuple[int, Any]]:
    """TLS settings for the origin and for an HTTPS proxy alike."""
    verify = cfg.verify
    check_host = cfg.verify
    ca_blob: bytes | None = None
    ca_file = cfg.ca_file
    minimum = maximum = None
    context = cfg.ssl_context
    if context is not None:
        # libcurl cannot use a Python SSLContext: take over what can be read back from it.
        verify = context.verify_mode != ssl.CERT_NONE
        check_host = verify and context.check_hostname
        certs = context.get_ca_certs(binary_form=True)
        if certs:
            ca_blob = "".join(ssl.DER_cert_to_PEM_cert(der) for der in certs).encode("ascii")
        ca_file = None
        minimum = _TLS_VERSIONS.get(context.minimum_version)
        maximum = _TLS_MAX_VERSIONS.get(context.maximum_version)
    options: list[tuple[int, Any]] = [
        (pycurl.SSL_VERIFYPEER, 1 if verify else 0),
        (pycurl.SSL_VERIFYHOST, 2 if check_host else 0),
        (pycurl.PROXY_SSL_VERIFYPEER, 1 if verify else 0),
        (pycurl.PROXY_SSL_VERIFYHOST, 2 if check_host else 0),
    ]
    if ca_blob is not None:
        options += [(pycurl.CAINFO_BLOB, ca_blob), (pycurl.PROXY_CAINFO_BLOB, ca_blob)]
    elif ca_file is not None:
        options += [(pycurl.CAINFO, ca_file), (pycurl.PROXY_CAINFO, ca_file)]
    elif verify:
        # The system trust store, as the ssl module (and the CIO engine) see it.
        paths = ssl.get_default_verify_paths()
        if paths.cafile and os.path.exists(paths.cafile):
            options += [(pycurl.CAINFO, paths.cafile), (pycurl.PROXY_CAINFO, paths.cafile)]
        if paths.capath and os.path.isdir(paths.capath):
            options += [(pycurl.CAPATH, paths.capath), (pycurl.PROXY_CAPATH, paths.capath)]
    if minimum is not None or maximum is not None:
        version = (minimum or pycurl.SSLVERSION_DEFAULT) | (maximum or 0)
        options += [(pycurl.SSLVERSION, version), (pycurl.PROXY_SSLVERSION, version)]
    if cfg.client_cert is not None:
        cert_file, key_file = cfg.client_cert
        options.append((pycurl.SSLCERT, cert_file))
        options.append((pycurl.SSLKEY, key_file or cert_file))
    return options
