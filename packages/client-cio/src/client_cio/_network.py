"""Opening connections: TCP, Unix sockets, TLS, and proxy handshakes.

Proxies: HTTP forward, HTTP ``CONNECT`` tunnels, SOCKS5 with optional user/password, and
SOCKS4/4a.

The asyncio path connects to the resolved addresses one after the other: asyncio's
Happy Eyeballs (``happy_eyeballs_delay``) races connects in extra tasks and, on Python
3.11, leaks the winning socket when the connect is cancelled. Errors are raised raw
(``OSError``, ``ssl.SSLError``, :class:`ProxyError`); the engine translates them.
"""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from dataclasses import dataclass

import anyio
import h11

from client_cio import _socks
from client_cio._protocol import ResponseParser
from client_cio._streams import AnyioStream, AsyncioStream, BufferPool, NetworkStream
from client_core.engine import ProxyConfig

__all__ = ["ProxyError", "Target", "open_stream", "proxy_authorization"]


class ProxyError(Exception):
    """The proxy refused the tunnel, failed authentication or broke its protocol."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a connection goes and how: what the pool keys connections by.

    Attributes:
        scheme: ``http`` or ``https`` (``ws``/``wss`` map to them).
        host: The origin host.
        port: The origin port.
        unix_socket: A Unix socket path to connect to instead of ``host:port``.
        proxy: The proxy to go through, if any.
        server_name: The TLS server name (SNI and certificate check).
    """

    scheme: str
    host: str
    port: int
    unix_socket: str | None
    proxy: ProxyConfig | None
    server_name: str | None

    @property
    def is_secure(self) -> bool:
        """Whether the origin is spoken to over TLS."""
        return self.scheme == "https"

    @property
    def forward_proxy(self) -> bool:
        """Whether requests go to an HTTP proxy in absolute form (plain ``http`` origins)."""
        proxy = self.proxy
        return proxy is not None and proxy.type == "http" and not self.is_secure

    def describe(self) -> str:
        """Where the connection goes, for error messages."""
        where = self.unix_socket or f"{self.host}:{self.port}"
        if self.proxy is not None:
            where += f" via {self.proxy.type} proxy {self.proxy.host}:{self.proxy.port}"
        return where


def proxy_authorization(proxy: ProxyConfig) -> str:
    """The ``Proxy-Authorization`` header line for an HTTP proxy with credentials.

    Args:
        proxy: The proxy.

    Returns:
        The header line ending CRLF, or ``""`` when the proxy URL has no user.
    """
    if proxy.user is None:
        return ""
    token = f"{proxy.user}:{proxy.password or ''}".encode()
    return f"Proxy-Authorization: Basic {base64.b64encode(token).decode('ascii')}\r\n"


async def _open_plain(
    host: str | None, port: int, unix_socket: str | None, fast: bool, buffers: BufferPool
) -> NetworkStream:
    if fast:
        loop = asyncio.get_running_loop()
        protocol = AsyncioStream(loop, buffers)
        if unix_socket is not None:
            await loop.create_unix_connection(lambda: protocol, unix_socket)
        else:
            assert host is not None
            await loop.create_connection(lambda: protocol, host, port)
        return protocol
    if unix_socket is not None:
        return AnyioStream(await anyio.connect_unix(unix_socket), buffers)
    assert host is not None
    return AnyioStream(await anyio.connect_tcp(host, port), buffers)


async def _open_tls(
    host: str | None,
    port: int,
    unix_socket: str | None,
    fast: bool,
    buffers: BufferPool,
    context: ssl.SSLContext,
    server_hostname: str,
) -> NetworkStream:
    if fast:
        loop = asyncio.get_running_loop()
        protocol = AsyncioStream(loop, buffers)
        if unix_socket is not None:
            await loop.create_unix_connection(
                lambda: protocol, unix_socket, ssl=context, server_hostname=server_hostname
            )
        else:
            assert host is not None
            await loop.create_connection(
                lambda: protocol,
                host,
                port,
                ssl=context,
                server_hostname=server_hostname,
            )
        return protocol
    plain = await _open_plain(host, port, unix_socket, False, buffers)
    try:
        return await plain.start_tls(context, server_hostname, None)
    except BaseException:
        await plain.aclose()
        raise


async def open_stream(
    target: Target, *, fast: bool, buffers: BufferPool, context: ssl.SSLContext | None
) -> NetworkStream:
    """Open a stream ready for HTTP/1.1 to ``target``: connected, tunnelled, encrypted.

    The caller bounds the time with a cancel scope (the connect timeout).

    Args:
        target: Where to connect.
        fast: Use :class:`AsyncioStream` (the caller is on asyncio).
        buffers: The engine's pool of read buffers.
        context: The TLS context, needed for https origins and https proxies.

    Returns:
        The stream.

    Raises:
        OSError: Connecting failed (refused, unreachable, DNS).
        ssl.SSLError: The TLS handshake failed.
        ProxyError: The proxy refused or misbehaved.
    """
    proxy = target.proxy
    server_name = target.server_name or target.host
    if proxy is None or target.unix_socket is not None:
        if target.is_secure:
            assert context is not None
            return await _open_tls(
                target.host, target.port, target.unix_socket, fast, buffers, context, server_name
            )
        return await _open_plain(target.host, target.port, target.unix_socket, fast, buffers)
    if proxy.type == "http" and proxy.url.is_secure:
        assert context is not None
        stream = await _open_tls(proxy.host, proxy.port, None, fast, buffers, context, proxy.host)
    else:
        stream = await _open_plain(proxy.host, proxy.port, None, fast, buffers)
    try:
        if proxy.type == "http":
            if not target.is_secure:
                return stream  # forward proxy: requests carry absolute URLs
            await _http_tunnel(stream, target, proxy)
        elif proxy.socks_version == 5:
            await _socks5(stream, target, proxy)
        else:
            await _socks4(stream, target, proxy)
        if target.is_secure:
            assert context is not None
            stream = await stream.start_tls(context, server_name, None)
    except BaseException:
        await stream.aclose()
        raise
    return stream


async def _http_tunnel(stream: NetworkStream, target: Target, proxy: ProxyConfig) -> None:
    authority = f"[{target.host}]" if ":" in target.host else target.host
    authority = f"{authority}:{target.port}"
    head = (
        f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n{proxy_authorization(proxy)}\r\n"
    ).encode("latin-1")
    await stream.write(head, None)
    parser = ResponseParser()
    parser.start("CONNECT")
    while True:
        try:
            event = parser.next_event()
        except h11.RemoteProtocolError as exc:
            raise ProxyError(f"the proxy sent a malformed response to CONNECT: {exc}") from exc
        if event is h11.NEED_DATA:
            parser.feed(await stream.read(None))
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            if 200 <= event.status_code < 300:
                if parser.trailing_data:
                    raise ProxyError("the proxy sent data before the TLS handshake")
                return
            reason = event.reason.decode("latin-1", "replace")
            hint = " (check the proxy credentials)" if event.status_code == 407 else ""
            raise ProxyError(
                f"the proxy refused CONNECT {authority}: {event.status_code} {reason}{hint}"
            )
        raise ProxyError("the proxy closed the connection during CONNECT")


class _Reader:
    """Reads exact sizes from a stream during a proxy handshake."""

    __slots__ = ("_buffer", "_stream")

    def __init__(self, stream: NetworkStream) -> None:
        self._stream = stream
        self._buffer = b""

    async def exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            data = await self._stream.read(None)
            if not data:
                raise ProxyError("the SOCKS proxy closed the connection during the handshake")
            self._buffer += data
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def check_empty(self) -> None:
        if self._buffer:
            raise ProxyError("the SOCKS proxy sent unexpected data after its reply")


async def _socks5(stream: NetworkStream, target: Target, proxy: ProxyConfig) -> None:
    reader = _Reader(stream)
    with_password = proxy.user is not None
    try:
        await stream.write(_socks.socks5_greeting(with_password), None)
        method = _socks.socks5_method_reply(await reader.exactly(2), with_password)
        if method == _socks.USER_PASSWORD:
            await stream.write(
                _socks.socks5_auth_request(proxy.user or "", proxy.password or ""), None
            )
            _socks.socks5_auth_reply(await reader.exactly(2))
        host = target.host
        if not proxy.remote_dns:
            host = await _resolve(host, target.port)
        await stream.write(_socks.socks5_connect_request(host, target.port), None)
        rest = _socks.socks5_reply_head(await reader.exactly(5))
        await reader.exactly(rest)
        reader.check_empty()
    except _socks.SocksError as exc:
        raise ProxyError(str(exc)) from exc


async def _socks4(stream: NetworkStream, target: Target, proxy: ProxyConfig) -> None:
    reader = _Reader(stream)
    host = target.host
    if not proxy.remote_dns:
        host = await _resolve(host, target.port, socket.AF_INET)
    try:
        await stream.write(
            _socks.socks4_request(host, target.port, proxy.user, proxy.remote_dns), None
        )
        _socks.check_socks4_reply(await reader.exactly(_socks.socks4_reply_size()))
        reader.check_empty()
    except _socks.SocksError as exc:
        raise ProxyError(str(exc)) from exc


async def _resolve(host: str, port: int, family: int = 0) -> str:
    infos = await anyio.getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
    if not infos:
        raise OSError(f"cannot resolve {host!r}")
    return str(infos[0][4][0])
