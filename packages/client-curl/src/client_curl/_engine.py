"""``Curl``: the engine class, which is also its own factory."""

from __future__ import annotations

import os
import time
from typing import ClassVar, Final

import anyio
import pycurl

from client_core.engine import (
    DEFAULT,
    EngineCapability,
    HttpClientEngine,
    HttpRequestData,
    HttpResponseData,
)
from client_core.errors import (
    ConnectException,
    HttpClientError,
    InvalidRequestException,
    ProtocolException,
)
from client_core.http import Headers, HttpStatusCode, Url
from client_curl._cmulti import NativeDriver, available
from client_curl._config import CurlEngineConfig
from client_curl._errors import connect_timeout_error
from client_curl._head import HeadParser
from client_curl._multi import Driver
from client_curl._native import NativeError
from client_curl._options import Handle, Options, Route
from client_curl._resolver import Resolver
from client_curl._transfer import Transfer

__all__ = ["Curl"]

_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "QUERY"})
_BLANK: Final = b"\r\n"
_MAX_IDLE_HANDLES: Final = 256  # as the driver's own bound
_LIBCURL_FEATURES: Final[int] = pycurl.version_info()[4]


def _use_c_driver(cfg: CurlEngineConfig) -> bool:
    """Whether the engine runs the driver written in C (see ``CurlEngineConfig.driver``).

    Raises:
        ValueError: ``driver="c"`` where it was not built, or with Python callbacks in
            ``curl_options`` (which only the driver written in Python can call).
    """
    callbacks = [option for option, value in cfg.curl_options.items() if callable(value)]
    choice: str = cfg.driver
    if choice == "auto":
        choice = os.environ.get("CLIENT_CURL_DRIVER") or "auto"
        if choice not in ("auto", "c", "python"):
            raise ValueError(f'CLIENT_CURL_DRIVER must be "auto", "c" or "python", got {choice!r}')
    if choice == "python":
        return False
    if choice == "c":
        if not available():
            raise ValueError(
                'driver="c": this installation of client-curl was built without its C '
                "driver (no C compiler at install time)"
            )
        if callbacks:
            raise ValueError(
                f'driver="c" cannot call Python callbacks set in curl_options '
                f"(options {callbacks}); use the driver written in Python"
            )
        return True
    return available() and not callbacks


class Curl(HttpClientEngine[CurlEngineConfig]):
    """The curl engine: libcurl (through pycurl) driven by the event loop.

    HTTP/1.1, HTTP/2 (negotiated over TLS by default, multiplexed), HTTP/3 on request;
    HTTP, HTTPS and SOCKS proxies; Unix sockets. The class is its own factory:
    ``HttpClient(Curl)``, ``HttpClient(Curl, configure)`` or ``Curl.create(block, **options)``.
    It runs on asyncio and on trio; an engine serves one event loop at a time.

    Args:
        config: The configuration; a default one when ``None``.

    Raises:
        ValueError: An option is out of range.
    """

    config_class: ClassVar[type[CurlEngineConfig]] = CurlEngineConfig
    name: ClassVar[str] = "curl"
    capabilities: ClassVar[frozenset[EngineCapability]] = frozenset(
        {
            EngineCapability.TIMEOUT,
            EngineCapability.UNIX_SOCKET,
            EngineCapability.SOCKS_PROXY,
            EngineCapability.HTTP2,
            EngineCapability.INTERRUPT,
        }
        # HTTP/3 when the libcurl under pycurl was built with it (the PyPI wheels are).
        | ({EngineCapability.HTTP3} if _LIBCURL_FEATURES & pycurl.VERSION_HTTP3 else set())
    )

    def __init__(self, config: CurlEngineConfig | None = None) -> None:
        super().__init__(config)
        cfg = self.config
        cfg.validate()
        c_driver = _use_c_driver(cfg)
        self._options = Options(cfg, c_driver)
        try:  # every option set on every handle: let libcurl judge them once, now
            self._options.new_handle().close()
        except pycurl.error as exc:
            raise ValueError(f"libcurl rejected an option of the configuration: {exc}") from None
        except NativeError as exc:
            raise HttpClientError(f"the curl engine cannot run here: {exc}") from None
        self._free: list[Handle] = []
        self._driver = (NativeDriver if c_driver else Driver)(
            self._options.setup_multi, self._release, self._free, self._release_all
        )
        self._c_driver = c_driver
        self._resolver = Resolver(cfg.thread_count, cfg.dns_cache_timeout)
        self._released = False
        self._high_water = cfg.response_buffer_size
        self._connect_timeout = cfg.connect_timeout
        self._socket_timeout = cfg.socket_timeout
        self._unix_socket = cfg.unix_socket
        self._parser = HeadParser()
        self._last_url: Url | None = None
        self._last_route = Route("", None, None)

    # -- requests ---------------------------------------------------------------------

    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        """Send ``request`` and return the response once its head has arrived.

        Args:
            request: The request.

        Returns:
            The response; its body streams from the transfer (read it or close it).

        Raises:
            ClientClosedException: The engine is closed.
            ConnectException: The connection failed (refused, DNS, TLS, proxy).
            ConnectTimeoutException: No connection within the connect timeout.
            SocketTimeoutException: Nothing moved within the socket timeout.
            ProtocolException: The response is malformed or the connection was lost.
            InvalidRequestException: The request cannot be sent (URL scheme, body length).
        """
        if self._closed:
            self.check_open(request)
        driver = self._driver
        backend = driver.backend
        if backend is None or not backend.current():
            backend = driver.bind()
        options = self._options
        url = request.url
        if url is self._last_url:  # the same Url object again: the client caches them
            route = self._last_route
        else:
            route = options.route(url)
            self._last_url, self._last_route = url, route
        timeouts = request.timeouts
        connect_timeout = timeouts.connect
        if connect_timeout is DEFAULT:
            connect_timeout = self._connect_timeout
        socket_timeout = timeouts.socket
        if socket_timeout is DEFAULT:
            socket_timeout = self._socket_timeout
        unix_socket = request.unix_socket or self._unix_socket
        proxy = resolve = None
        if unix_socket is None:
            proxy = route.proxy
            if route.lookups is not None:
                interrupt = request.interrupt
                if interrupt is None:
                    resolve, connect_timeout = await self._lookups(
                        request, url, route.lookups, connect_timeout
                    )
                else:  # the one wait before the transfer exists: interruptible by a scope
                    with anyio.CancelScope() as scope:
                        interrupt.on_interrupt(lambda _: scope.cancel())
                        resolve, connect_timeout = await self._lookups(
                            request, url, route.lookups, connect_timeout
                        )
                    if interrupt.error is not None:
                        raise interrupt.error
                if self._closed:
                    self.check_open(request)
        free = self._free
        if free:
            handle = free.pop()
        else:
            try:
                handle = options.new_handle()
            except (pycurl.error, MemoryError, NativeError) as exc:
                raise HttpClientError(
                    f"{request.method} {url.redacted()}: libcurl could not make a handle: {exc}"
                ) from None
        transfer = Transfer(
            driver,
            backend,
            self._parser,
            handle,
            request,
            self._high_water,
            connect_timeout,
            socket_timeout,
        )
        upload = transfer.upload
        python_callbacks = not self._c_driver
        try:
            options.apply(
                handle,
                request,
                route.url_text,
                proxy,
                unix_socket,
                resolve,
                connect_timeout,
                transfer.on_write if python_callbacks else None,
                None if upload is None or not python_callbacks else transfer.on_read,
                request.method not in _IDEMPOTENT,
            )
            if upload is not None:
                await upload.pull(f"{request.method} {url.redacted()}")
                if self._closed:
                    self.check_open(request)
        except pycurl.error as exc:
            handle.dirty = True
            self._release(handle)
            if upload is not None:
                await upload.aclose()
            raise InvalidRequestException(
                f"{request.method} {url.redacted()}: libcurl rejected the request: {exc.args[-1]}"
            ) from None
        except BaseException:
            handle.dirty = True
            self._release(handle)
            if upload is not None:
                await upload.aclose()
            raise
        driver.start(transfer)
        if request.interrupt is not None:
            request.interrupt.on_interrupt(transfer.fail)
        head = None
        try:
            while True:
                lines = transfer.lines
                if (
                    transfer.done
                    or transfer.chunks
                    or (lines and lines[-1] == _BLANK and len(lines) != transfer.scanned)
                ):
                    head = transfer.take_head()
                    if head is not None or transfer.done:
                        break
                if upload is None:
                    await backend.waiter(transfer)
                else:
                    await transfer.wait()
        except BaseException:
            transfer.abort()
            if upload is not None:
                await upload.aclose()
            raise
        if head is None:
            driver.finished(transfer)
            if upload is not None:
                await upload.aclose()
            error = transfer.failure()
            if error is None:
                error = ProtocolException(
                    f"{request.method} {url.redacted()}: the transfer ended without a response"
                )
            transfer.error = None
            transfer.code = 0
            raise error
        return HttpResponseData(
            status=HttpStatusCode.from_value(head.status, head.reason or None),
            version=head.version,
            headers=Headers.from_wire_lazily(head.lenient_fields),
            body=transfer,
            extensions=transfer.extensions,
        )

    async def _lookups(
        self,
        request: HttpRequestData,
        url: Url,
        targets: list[tuple[str, int]],
        connect_timeout: float | None,
    ) -> tuple[list[str], float | None]:
        """Look the names up; return ``CURLOPT_RESOLVE`` entries for them.

        Returns:
            The entries and the connect timeout left for libcurl.
        """
        resolver = self._resolver
        entries: list[str] = []
        started = time.monotonic()
        for host, port in targets:
            entry = resolver.cached(host, port)
            if entry is None:
                try:
                    with anyio.fail_after(connect_timeout):
                        entry = await resolver.lookup(host, port)
                except TimeoutError:
                    raise connect_timeout_error(
                        str(request.method), url.redacted(), connect_timeout
                    ) from None
                except OSError as exc:
                    raise ConnectException(
                        f"{request.method} {url.redacted()}: cannot resolve the host "
                        f"{host} ({exc.strerror or exc})"
                    ) from exc
            entries.append(entry)
        if connect_timeout is not None:
            connect_timeout = max(0.001, connect_timeout - (time.monotonic() - started))
        return entries, connect_timeout

    # -- easy handles -----------------------------------------------------------------

    def _release(self, handle: Handle) -> None:
        """Take a handle back from a finished transfer."""
        if self._released or len(self._free) >= _MAX_IDLE_HANDLES:
            handle.close()
            return
        if handle.dirty:
            try:
                self._options.reset(handle)
            except Exception:  # pragma: no cover - defensive
                handle.close()
                return
        self._free.append(handle)

    # -- closing ----------------------------------------------------------------------

    def _close_now(self) -> None:
        if self._driver.is_idle:
            self._release_all()
        else:
            self._driver.closing = True  # the last transfer to end releases everything

    async def _shutdown(self) -> None:
        for transfer in list(self._driver.transfers):
            transfer.close_engine()
        self._release_all()

    def _release_all(self) -> None:
        if self._released:
            return
        self._released = True
        self._driver.close()
        self._resolver.reset()
        free = list(self._free)
        self._free.clear()  # the driver shares this list
        for handle in free:
            handle.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Curl http_version={self.config.http_version} {state}>"
