"""The CIO engine: requests through the pool, responses as streamed bodies, errors mapped."""

from __future__ import annotations

import asyncio
import os
import ssl
from typing import Any, ClassVar, Final

import anyio
import h11

from client_cio._config import CIOEngineConfig
from client_cio._connection import (
    BodyLengthError,
    BodySourceError,
    HTTP11Connection,
    PipelineBroken,
    Turn,
)
from client_cio._network import ProxyError, Target, open_stream, proxy_authorization
from client_cio._pool import ConnectionPool, PoolClosedError
from client_cio._protocol import ResponseHead, encode_request_head, frame_body_headers
from client_cio._streams import BufferPool
from client_core.engine import (
    EngineCapability,
    HttpClientEngine,
    HttpRequestData,
    HttpResponseData,
    ProxyConfig,
    ResponseBody,
    Timeouts,
    proxy_from_environment,
)
from client_core.errors import (
    ClientClosedException,
    ConnectException,
    ConnectTimeoutException,
    HttpClientError,
    InvalidRequestException,
    ProtocolException,
    SocketTimeoutException,
)
from client_core.http import Headers, HttpStatusCode, Url

__all__ = ["CIO"]

_PROXY_VARIABLES: Final = tuple(
    name
    for base in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
    for name in (base, base.upper())
)
_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"})
_TARGET_CACHE_SIZE: Final = 4096


def _on_asyncio() -> bool:
    return anyio.get_cancelled_exc_class() is asyncio.CancelledError


def _seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g}s"


class CIO(HttpClientEngine[CIOEngineConfig]):
    """The CIO engine: pure-Python HTTP/1.1 on anyio and h11, with a connection pool.

    The class is its own factory: ``HttpClient(CIO)``, ``HttpClient(CIO, configure)`` or
    ``CIO.create(block, **options)``. It runs on asyncio and on trio; on asyncio it drives
    sockets at the protocol level (see ``CIOEngineConfig.fast_path``).

    Args:
        config: The configuration; a default one when ``None``.
    """

    config_class: ClassVar[type[CIOEngineConfig]] = CIOEngineConfig
    capabilities: ClassVar[frozenset[EngineCapability]] = frozenset(
        {EngineCapability.TIMEOUT, EngineCapability.UNIX_SOCKET, EngineCapability.SOCKS_PROXY}
    )
    name: ClassVar[str] = "cio"

    def __init__(self, config: CIOEngineConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        cfg.validate()
        endpoint = cfg.endpoint
        self._pool = ConnectionPool(
            cfg.max_connections,
            endpoint.max_connections_per_route,
            endpoint.keep_alive_time,
            endpoint.pipeline_max_size if cfg.pipelining else 1,
        )
        self._targets: dict[tuple[Any, ...], Target] = {}
        self._buffers = BufferPool()
        self._environ: dict[str, str] | None = None
        if cfg.proxy is None and cfg.trust_env:
            self._environ = {k: os.environ[k] for k in _PROXY_VARIABLES if k in os.environ}

    @property
    def pool(self) -> ConnectionPool:
        """The connection pool (for introspection: counts of open and idle connections)."""
        return self._pool

    # -- routing ----------------------------------------------------------------------------

    def _target(self, request: HttpRequestData, fast: bool) -> Target:
        url = request.url
        unix_socket = request.unix_socket or self.config.unix_socket
        key = (url.scheme, url.host, url.port, unix_socket, fast)
        target = self._targets.get(key)
        if target is None:
            if len(self._targets) >= _TARGET_CACHE_SIZE:
                self._targets.clear()
            target = self._targets[key] = self._new_target(url, unix_socket)
        return target

    def _new_target(self, url: Url, unix_socket: str | None) -> Target:
        cfg = self.config
        proxy: ProxyConfig | None = cfg.proxy
        if proxy is None and self._environ and unix_socket is None:
            proxy = proxy_from_environment(url, self._environ)
        port = url.port
        return Target(
            scheme="https" if url.is_secure else "http",
            host=url.host,
            port=port if port is not None else (443 if url.is_secure else 80),
            unix_socket=unix_socket,
            proxy=None if unix_socket is not None else proxy,
            server_name=cfg.server_name,
        )

    def _ssl_context(self, target: Target) -> ssl.SSLContext | None:
        proxy = target.proxy
        if target.is_secure or (proxy is not None and proxy.url.is_secure):
            return self.config.create_ssl_context()
        return None

    # -- executing --------------------------------------------------------------------------

    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        """Send ``request`` and return once the response head has arrived.

        Args:
            request: The request.

        Returns:
            The response; its body streams from the connection, which goes back to the
            pool when the body is read to the end.

        Raises:
            ClientClosedException: The engine is closed.
            ConnectException: Connecting failed (refused, DNS, TLS, proxy).
            ConnectTimeoutException: Connecting took longer than the connect timeout.
            SocketTimeoutException: No byte moved within the socket timeout.
            ProtocolException: The response was malformed, oversized or truncated.
            InvalidRequestException: A streamed body did not match its declared length.
        """
        self.check_open(request)
        cfg = self.config
        fast = cfg.fast_path and _on_asyncio()
        target = self._target(request, fast)
        timeouts = request.timeouts
        endpoint = cfg.endpoint
        socket_timeout = Timeouts.pick(timeouts.socket, endpoint.socket_timeout)
        method = str(request.method)
        url = request.url
        body = request.body
        length = len(body) if isinstance(body, bytes) else request.content_length
        connection = request.headers.get("Connection")
        close = connection is not None and "close" in connection.lower()
        if target.forward_proxy:
            assert target.proxy is not None
            request_target = f"{target.scheme}://{url.authority}{url.request_target}"
            extra = proxy_authorization(target.proxy)
        else:
            request_target = url.request_target
            extra = ""
        head = encode_request_head(
            method,
            request_target,
            request.headers.items(),
            url.authority,
            frame_body_headers(method, length),
            extra,
        )
        retry = method in _IDEMPOTENT and isinstance(body, bytes)
        pipelined = retry and cfg.pipelining and not close
        fresh = False
        while True:
            conn = await self._acquire(target, request, timeouts, pipelined, fresh)
            turn = Turn()
            try:
                if pipelined:
                    assert isinstance(body, bytes)
                    await conn.send_pipelined(turn, head, body, socket_timeout)
                    await turn.wait()
                    event = await conn.receive_head(method, close, socket_timeout)
                else:
                    event = await self._exchange(
                        conn, head, body, length, method, close, socket_timeout
                    )
            except Exception as exc:
                self._pool.discard(conn)
                if retry and (
                    isinstance(exc, PipelineBroken) or (conn.reused and not conn.received)
                ):
                    retry = pipelined = False
                    fresh = True  # once, on a new connection
                    continue
                raise self._error(exc, request, socket_timeout) from exc
            except BaseException:
                if pipelined and not turn.queued:
                    self._pool.detach(conn)  # nothing written: the others go on
                else:
                    self._pool.discard(conn)
                raise
            break
        status = HttpStatusCode.from_value(event.status, event.reason.decode("latin-1"))
        extensions: dict[str, Any] = {}
        return HttpResponseData(
            status=status,
            version="HTTP/1.1" if event.http_version == b"1.1" else "HTTP/1.0",
            headers=Headers.from_raw(event.headers),
            body=CIOResponseBody(self, conn, request, socket_timeout, extensions),
            extensions=extensions,
        )

    async def _exchange(
        self,
        conn: HTTP11Connection,
        head: bytes,
        body: bytes | Any,
        length: int | None,
        method: str,
        close: bool,
        timeout: float | None,
    ) -> ResponseHead:
        try:
            await conn.send_request(head, body, length, timeout)
        except OSError:
            # The server may have answered early (413, 401 ...) and closed: read it.
            try:
                return await conn.receive_head(method, close, timeout)
            except Exception:
                pass
            raise
        return await conn.receive_head(method, close, timeout)

    async def _acquire(
        self,
        target: Target,
        request: HttpRequestData,
        timeouts: Timeouts,
        pipelined: bool,
        fresh: bool,
    ) -> HTTP11Connection:
        async def opener() -> HTTP11Connection:
            return await self._open(target, request, timeouts)

        try:
            return await self._pool.acquire(target, opener, pipelined, fresh)
        except PoolClosedError as exc:
            raise ClientClosedException(
                f"{request.method} {request.url.redacted()}: the {self.name} engine is closed"
            ) from exc

    async def _open(
        self, target: Target, request: HttpRequestData, timeouts: Timeouts
    ) -> HTTP11Connection:
        cfg = self.config
        timeout = Timeouts.pick(timeouts.connect, cfg.endpoint.connect_timeout)
        context = self._ssl_context(target)
        fast = cfg.fast_path and _on_asyncio()
        what = f"{request.method} {request.url.redacted()}"
        attempts = cfg.endpoint.connect_attempts
        for attempt in range(1, attempts + 1):
            try:
                with anyio.fail_after(timeout):
                    stream = await open_stream(
                        target, fast=fast, buffers=self._buffers, context=context
                    )
            except TimeoutError as exc:
                if attempt < attempts:
                    continue
                raise ConnectTimeoutException(
                    f"Connect timeout has expired [method={request.method}, "
                    f"url={request.url.redacted()}, connect_timeout={_seconds(timeout)}]"
                ) from exc
            except (OSError, ssl.SSLError, ProxyError, anyio.BrokenResourceError) as exc:
                if attempt < attempts:
                    continue
                raise ConnectException(
                    f"{what}: {_connect_failure(exc)} ({target.describe()})"
                ) from exc
            return HTTP11Connection(stream, target, cfg.max_response_head_size)
        raise AssertionError("unreachable")  # pragma: no cover

    def _error(
        self, exc: Exception, request: HttpRequestData, socket_timeout: float | None
    ) -> Exception:
        return translate_error(exc, request, socket_timeout, self.config.max_response_head_size)

    # -- closing ----------------------------------------------------------------------------

    def _close_now(self) -> None:
        self._pool.close_idle()

    async def _shutdown(self) -> None:
        await self._pool.aclose()


def _root_cause(exc: BaseException) -> BaseException:
    """Look through anyio's "All connection attempts failed" to the first real error."""
    seen = 0
    while seen < 5 and isinstance(exc, OSError) and exc.errno is None:
        cause = exc.__cause__
        if isinstance(cause, BaseExceptionGroup) and cause.exceptions:
            cause = cause.exceptions[0]
        if cause is None:
            break
        exc = cause
        seen += 1
    return exc


def _connect_failure(exc: BaseException) -> str:
    exc = _root_cause(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {exc.verify_message or exc}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc}"
    if isinstance(exc, ProxyError):
        return f"proxy failure: {exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot connect: {exc.strerror}"
    return f"cannot connect: {exc}"


def translate_error(
    exc: Exception, request: HttpRequestData, socket_timeout: float | None, max_head: int
) -> Exception:
    """Map what the exchange raised to a ``client_core.errors`` exception.

    Args:
        exc: The raw error.
        request: The request it happened to.
        socket_timeout: The socket timeout in force.
        max_head: The configured response head limit.

    Returns:
        The exception to raise (chained by the caller); a user's own error from a
        request body stream is returned unchanged.
    """
    what = f"{request.method} {request.url.redacted()}"
    if isinstance(exc, HttpClientError):
        return exc
    if isinstance(exc, BodySourceError):
        cause = exc.__cause__
        return cause if isinstance(cause, Exception) else exc
    if isinstance(exc, TimeoutError):
        return SocketTimeoutException(
            f"Socket timeout has expired [method={request.method}, "
            f"url={request.url.redacted()}, socket_timeout={_seconds(socket_timeout)}]"
        )
    if isinstance(exc, h11.RemoteProtocolError):
        text = str(exc)
        if "buffer" in text.lower() and "too long" in text.lower():
            text = f"the response head exceeds the limit of {max_head} bytes"
        return ProtocolException(f"{what}: malformed response: {text}")
    if isinstance(exc, PipelineBroken):
        return ProtocolException(f"{what}: {exc}")
    if isinstance(exc, BodyLengthError):
        return InvalidRequestException(f"{what}: {exc}")
    if isinstance(exc, h11.LocalProtocolError):
        return ProtocolException(f"{what}: {exc}")
    if isinstance(exc, EOFError):
        return ProtocolException(f"{what}: the response body is truncated: {exc}")
    if isinstance(exc, OSError | ssl.SSLError | anyio.BrokenResourceError):
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return ProtocolException(f"{what}: the connection was lost: {detail or type(exc).__name__}")
    return exc


class CIOResponseBody(ResponseBody):
    """A response body read from its connection; the connection returns to the pool at the end.

    Args:
        engine: The engine (for its pool and limits).
        conn: The connection the body comes from.
        request: The request (for error messages).
        timeout: The socket timeout.
        extensions: The response's extensions; ``"trailers"`` is set at the end when the
            response had trailers.
    """

    __slots__ = ("_conn", "_engine", "_extensions", "_request", "_timeout")

    def __init__(
        self,
        engine: CIO,
        conn: HTTP11Connection,
        request: HttpRequestData,
        timeout: float | None,
        extensions: dict[str, Any],
    ) -> None:
        self._engine = engine
        self._conn: HTTP11Connection | None = conn
        self._request = request
        self._timeout = timeout
        self._extensions = extensions

    def _end(self, conn: HTTP11Connection, event: h11.EndOfMessage) -> None:
        self._conn = None
        if event.headers:
            self._extensions["trailers"] = Headers.from_raw(event.headers.raw_items())
        pool = self._engine._pool
        if conn.finish():
            pool.release(conn)
        else:
            pool.discard(conn)

    def _abandon(self) -> None:
        conn = self._conn
        if conn is not None:
            self._conn = None
            self._engine._pool.discard(conn)

    def _close_early(self) -> None:
        """Closed before the end: keep the connection if the rest is already here."""
        conn = self._conn
        if conn is not None and conn.skip_buffered_body():
            self._conn = None
            pool = self._engine._pool
            if conn.finish():
                pool.release(conn)
            else:
                pool.discard(conn)
        else:
            self._abandon()

    def _fail(self, exc: Exception) -> Exception:
        self._abandon()
        engine = self._engine
        return translate_error(
            exc, self._request, self._timeout, engine.config.max_response_head_size
        )

    async def __anext__(self) -> bytes:
        conn = self._conn
        if conn is None:
            raise StopAsyncIteration
        try:
            piece = await conn.receive_data(self._timeout)
        except Exception as exc:
            raise self._fail(exc) from exc
        except BaseException:
            self._abandon()
            raise
        if type(piece) is h11.EndOfMessage:
            self._end(conn, piece)
            raise StopAsyncIteration
        return bytes(piece)  # type: ignore[arg-type]

    async def aclose(self) -> None:
        """Discard the rest of the body; an unfinished connection is closed.

        When the rest of a known-length body has already arrived, the connection goes
        back to the pool instead.
        """
        self._close_early()

    async def read_all(self, limit: int | None = None) -> bytes:
        """Read the rest of the body at once and release the connection.

        Args:
            limit: Fail when more than this many bytes arrive.

        Returns:
            The bytes.

        Raises:
            ProtocolException: The body exceeds ``limit``, or is malformed or truncated.
            SocketTimeoutException: No byte arrived within the socket timeout.
        """
        conn = self._conn
        if conn is None:
            return b""
        try:
            parts, end, size = await conn.receive_rest(self._timeout, limit)
            if limit is not None and size > limit:
                raise ProtocolException(
                    f"{self._request.method} {self._request.url.redacted()}: the "
                    f"response body exceeds the limit of {limit} bytes"
                )
            self._end(conn, end)
        except Exception as exc:
            raise self._fail(exc) from exc
        except BaseException:
            self._abandon()
            raise
        if len(parts) == 1:
            part = parts[0]
            return part if type(part) is bytes else bytes(part)
        return b"".join(parts)
