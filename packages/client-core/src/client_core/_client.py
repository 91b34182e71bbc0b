"""``HttpClient``: lifecycle, configuration, verbs, and the call pipeline."""

from __future__ import annotations

import asyncio
import json as _json
import math
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import anyio

if TYPE_CHECKING:
    import trio

from client_core._attributes import AttributeKey
from client_core._config import HttpClientConfig
from client_core._content import EmptyContent, FormDataContent, OutgoingContent, TextContent
from client_core._guard import (
    AsyncioDeadlines,
    AsyncioSend,
    SendInterrupted,
    TrioDeadlines,
    TrioSend,
)
from client_core._request import HttpRequestBuilder, headers_from, render_default_body
from client_core._response import HttpResponse
from client_core.engine import (
    DEFAULT,
    EngineCapability,
    HttpClientEngine,
    HttpClientEngineFactory,
    HttpRequestData,
    Interrupt,
    Timeouts,
    find_engine_factory,
)
from client_core.engine._base import TimeoutValue, set_interrupt
from client_core.engine._registry import _incompatibility
from client_core.errors import (
    ClientClosedException,
    ConnectException,
    EngineIncompatibleError,
    HttpClientError,
    HttpRequestTimeoutException,
    NoTransformationFoundException,
    ProtocolException,
    RequestCancelledException,
    SendCountExceedException,
    SocketTimeoutException,
    UnsupportedCapabilityException,
)
from client_core.http import ContentType, HttpMethod, Url
from client_core.plugins._api import NOT_HANDLED, ClientPlugin, Hooks, OnSend, Proceed

__all__ = ["HttpClient"]

_get_running_loop = asyncio.get_running_loop
_peek_running_loop = asyncio._get_running_loop  # None instead of raising (a C function)
_current_task = asyncio.current_task
_CancelledError = asyncio.CancelledError

T = TypeVar("T")
EngineSpec = HttpClientEngineFactory | HttpClientEngine[Any] | str | None
Configure = Callable[[HttpClientConfig], Any]
Block = Callable[[HttpRequestBuilder], Any]


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


class _Unset:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


_UNSET: Final = _Unset()


class CallState:
    """Per-call bookkeeping shared by every send of one call (redirects, retries)."""

    __slots__ = ("last_request", "max_sends", "request_timeout", "responses", "sends", "streaming")

    def __init__(self, streaming: bool, max_sends: int) -> None:
        self.streaming = streaming
        self.max_sends = max_sends
        self.sends = 0
        self.responses: list[HttpResponse] = []
        self.last_request: HttpRequestData | None = None
        self.request_timeout: float | None = None

    async def release(self, keep: HttpResponse | None = None) -> None:
        for response in self.responses:
            if response is not keep:
                await response.aclose()
        self.responses = [keep] if keep is not None else []


_URL_CACHE_SIZE: Final = 256
CALL_STATE: Final[AttributeKey[CallState]] = AttributeKey("CallState")


def _caller() -> str:
    frame = sys._getframe(2)
    while frame.f_back is not None and frame.f_globals.get("__name__", "").startswith(
        "client_core"
    ):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


class HttpClient:
    """An asynchronous HTTP client (Ktor's ``HttpClient``).

    Create it with an engine factory (``HttpClient(CIO)``), nothing (the engine is
    discovered from installed distributions), an engine name (``HttpClient("curl")``) or
    an engine instance (shared: the client does not close it), plus an optional configure
    block. Use it as ``async with``, or call :meth:`aclose`.

    One client is safe to use from many tasks at once; it works on asyncio and trio.

    Args:
        engine: Engine factory, engine instance, entry-point name, or ``None`` to discover.
            A configure function may be given here instead when no engine is named.
        configure: A function receiving the :class:`HttpClientConfig`.

    Raises:
        EngineNotFoundError: No engine is installed (or none by that name).
        EngineIncompatibleError: The engine was built for another engine-API version.
        TypeError: Engine options were given for an engine instance.
    """

    def __init__(self, engine: EngineSpec | Configure = None, configure: Configure | None = None):
        self._closed = True  # until fully built, so __del__ stays quiet on failure
        if (
            configure is None
            and callable(engine)
            and not isinstance(engine, HttpClientEngine)
            and not hasattr(engine, "create")
        ):
            engine, configure = None, engine
        config = HttpClientConfig()
        if configure is not None:
            configure(config)
        self.config = config
        self.engine: HttpClientEngine[Any]
        if isinstance(engine, HttpClientEngine):
            if config._engine_blocks:
                raise TypeError(
                    "engine(...) options cannot be applied to an engine instance; "
                    "configure the engine when creating it, or pass its factory"
                )
            self.engine = engine
            self._owns_engine = False
        else:
            factory: Any = (
                find_engine_factory(engine) if engine is None or isinstance(engine, str) else engine
            )
            api_version = getattr(factory, "engine_api_version", None)
            if not isinstance(api_version, str) or not callable(getattr(factory, "create", None)):
                raise TypeError(f"HttpClient() needs an engine or engine factory, got {engine!r}")
            reason = _incompatibility(api_version)
            if reason is not None:
                raise EngineIncompatibleError(f"{factory!r} {reason}")
            self.engine = factory.create(config._apply_engine)
            self._owns_engine = True
        self._hooks = Hooks()
        self._plugins: dict[str, Any] = {}
        self._chain_head: OnSend | None = None
        self._chain_rest: Proceed = self._send_once
        self._chain_version = -1
        self._deadlines: AsyncioDeadlines | None = None  # the asyncio send guard's timer
        self._trio_deadlines: TrioDeadlines | None = None  # scope-free trio sends
        self._interruptible = EngineCapability.INTERRUPT in self.engine.capabilities
        self._str_only_converters: set[Any] = set()  # body converters of str bodies alone
        self._only_str_converters = False  # every installed body converter is one of those
        self.response_charset_fallback = "utf-8"
        self._lazy_validation: Callable[[HttpResponse], Awaitable[None]] | None = None
        self._urls: dict[str, Url] = {}  # parsed absolute URLs, cleared when full
        self._install_plugins()
        self._in_flight = 0
        self._scopes: set[_Cancellable] = set()
        self._cancelled = False
        self._done: anyio.Event | None = None
        self._finished = False
        self._created_at = _caller()
        self._closed = False

    # -- plugins ---------------------------------------------------------------------------

    def _install_plugins(self) -> None:
        from client_core.plugins._plain_text import HttpPlainText
        from client_core.plugins._redirect import HttpRedirect
        from client_core.plugins._send import HttpSend
        from client_core.plugins._validator import HttpCallValidator

        config = self.config
        user = config._plugin_configs()
        by_name = {plugin.name: (plugin, cfg) for plugin, cfg in user}
        ordered: list[tuple[ClientPlugin[Any], Any]] = []

        def take(plugin: ClientPlugin[Any]) -> None:
            entry = by_name.pop(plugin.name, None)
            ordered.append(entry if entry is not None else (plugin, plugin.create_config()))

        take(HttpSend)
        take(HttpCallValidator)
        if config.follow_redirects or HttpRedirect.name in by_name:
            take(HttpRedirect)  # an explicit install wins over follow_redirects=False
        plain = by_name.pop(HttpPlainText.name, None)
        ordered.extend(by_name.values())
        if plain is not None:
            ordered.append(plain)
        elif config.use_default_transformers:
            ordered.append((HttpPlainText, HttpPlainText.create_config()))
        for plugin, cfg in ordered:
            self._plugins[plugin.name] = plugin.install(self, cfg)

    def plugin(self, plugin: ClientPlugin[Any]) -> Any:
        """Return the installed instance of ``plugin`` (Ktor's ``client.plugin(X)``).

        Args:
            plugin: The plugin.

        Returns:
            What the plugin's body returned when it was installed.

        Raises:
            LookupError: The plugin is not installed.
        """
        try:
            return self._plugins[plugin.name]
        except KeyError:
            raise LookupError(
                f"plugin {plugin.name} is not installed; install it in the client's configure block"
            ) from None

    def plugin_or_none(self, plugin: ClientPlugin[Any]) -> Any | None:
        """Return the installed instance of ``plugin``, or ``None``.

        Args:
            plugin: The plugin.

        Returns:
            The instance or ``None``.
        """
        return self._plugins.get(plugin.name)

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """True once :meth:`close`, :meth:`cancel` or :meth:`aclose` was called."""
        return self._closed

    def close(self) -> None:
        """Refuse new requests; in-flight ones finish. Non-blocking and idempotent.

        Resources are released once the last in-flight request ends; :meth:`join` waits
        for that.
        """
        if self._closed:
            return
        self._closed = True
        for hook in self._hooks.on_close:
            hook()
        if self._in_flight == 0:
            self._finish()

    def cancel(self) -> None:
        """Close and halt: in-flight requests fail with ``RequestCancelledException``."""
        self._cancelled = True
        self.close()
        for scope in list(self._scopes):
            scope.cancel()
        if self._owns_engine:
            self.engine.close()

    async def join(self) -> None:
        """Wait until the client is closed, in-flight requests ended, and resources freed."""
        if not self._finished:
            if self._done is None:
                self._done = anyio.Event()
            await self._done.wait()
        if self._owns_engine:
            await self.engine.aclose()

    async def aclose(self) -> None:
        """Close, then wait for in-flight requests and release every connection."""
        self.close()
        await self.join()

    def _finish(self) -> None:
        self._finished = True
        if self._deadlines is not None:
            self._deadlines.close()
        if self._trio_deadlines is not None:
            self._trio_deadlines.close()
        if self._owns_engine:
            self.engine.close()
        if self._done is not None:
            self._done.set()

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __del__(self, _warn: Callable[..., None] = warnings.warn) -> None:
        if not getattr(self, "_closed", True):
            _warn(
                f"HttpClient created at {self._created_at} was never closed; "
                "use 'async with HttpClient(...)' or 'await client.aclose()'",
                ResourceWarning,
                source=self,
                stacklevel=2,
            )

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<HttpClient engine={type(self.engine).__name__} {state}>"

    # -- requests --------------------------------------------------------------------------

    def _builder(
        self,
        method: str,
        url: str | Url | None,
        block: Block | None,
        params: Mapping[str, Any] | None = None,
        headers: Any = None,
        body: Any = _UNSET,
        json: Any = _UNSET,
        form: Any = _UNSET,
        content_type: ContentType | str | None = None,
        timeout: TimeoutValue | Timeouts = DEFAULT,
        expect_success: bool | None = None,
    ) -> HttpRequestBuilder:
        builder = HttpRequestBuilder(method)
        if url is not None:
            if type(url) is str:
                parsed = self._urls.get(url)
                if parsed is None and "://" in url:
                    parsed = Url(url)
                    if len(self._urls) >= _URL_CACHE_SIZE:
                        self._urls.clear()
                    self._urls[url] = parsed
                builder.set_url(parsed if parsed is not None else url)
            else:
                builder.set_url(url)
        if params:
            for name, value in params.items():
                builder.parameter(name, value)
        if headers:
            # Checked all at once: the builder is new, so an error leaves nothing behind.
            builder.headers.append_all(headers_from(headers))
        if json is not _UNSET:
            if body is not _UNSET or form is not _UNSET:
                raise TypeError("give at most one of body=, json= and form=")
            builder.body = TextContent(
                _json.dumps(json, separators=(",", ":"), ensure_ascii=False),
                ContentType.Application.JSON,
            )
        elif form is not _UNSET:
            if body is not _UNSET:
                raise TypeError("give at most one of body=, json= and form=")
            builder.body = FormDataContent(form)
        elif body is not _UNSET:
            builder.body = body
        if content_type is not None:
            builder.content_type(content_type)
        if timeout is not DEFAULT:
            if isinstance(timeout, Timeouts):
                builder.timeouts = timeout
            else:
                builder.timeout(timeout)
        if expect_success is not None:
            builder.expect_success = expect_success
        if block is not None:
            block(builder)
        return builder

    async def request(
        self,
        method: str,
        url: str | Url | None = None,
        block: Block | None = None,
        /,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Any = None,
        body: Any = _UNSET,
        json: Any = _UNSET,
        form: Any = _UNSET,
        content_type: ContentType | str | None = None,
        timeout: TimeoutValue | Timeouts = DEFAULT,
        expect_success: bool | None = None,
    ) -> HttpResponse:
        """Send a request and read its whole body.

        Args:
            method: The method, e.g. ``"GET"`` or ``HttpMethod.PATCH``.
            url: An absolute URL, or one relative to the ``default_request`` URL.
            block: A function receiving the :class:`HttpRequestBuilder` (Ktor's block).
            params: Query parameters to append (lists repeat a name; ``None`` skips).
            headers: Headers, as a mapping or pairs.
            body: ``bytes``, ``str``, an async iterable of bytes, or an object a
                converter can serialize.
            json: A value sent as JSON (``application/json``).
            form: Fields sent as ``application/x-www-form-urlencoded``.
            content_type: The body's ``Content-Type``.
            timeout: The request timeout in seconds (``None``: no limit), or a
                :class:`~client_core.engine.Timeouts`.
            expect_success: Override the client's ``expect_success`` for this call.

        Returns:
            The response, its body read.

        Raises:
            ClientClosedException: The client is closed.
            InvalidRequestException: A bad URL or header (before anything is sent).
            HttpClientError: Any failure of the call (see ``client_core.errors``).
        """
        builder = self._builder(
            method,
            url,
            block,
            params,
            headers,
            body,
            json,
            form,
            content_type,
            timeout,
            expect_success,
        )
        return await self._execute(builder, streaming=False)

    async def get(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpResponse:
        """Send a GET; see :meth:`request` for the arguments."""
        if kwargs:
            return await self.request(HttpMethod.GET, url, block, **kwargs)
        return await self._execute(self._builder(HttpMethod.GET, url, block), streaming=False)

    async def post(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpResponse:
        """Send a POST; see :meth:`request` for the arguments."""
        if kwargs:
            return await self.request(HttpMethod.POST, url, block, **kwargs)
        return await self._execute(self._builder(HttpMethod.POST, url, block), streaming=False)

    async def put(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpResponse:
        """Send a PUT; see :meth:`request` for the arguments."""
        if kwargs:
            return await self.request(HttpMethod.PUT, url, block, **kwargs)
        return await self._execute(self._builder(HttpMethod.PUT, url, block), streaming=False)

    async def patch(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpResponse:
        """Send a PATCH; see :meth:`request` for the arguments."""
        if kwargs:
            return await self.request(HttpMethod.PATCH, url, block, **kwargs)
        return await self._execute(self._builder(HttpMethod.PATCH, url, block), streaming=False)

    async def delete(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpResponse:
        """Send a DELETE; see :meth:`request` for the arguments."""
        if kwargs:
            return await self.request(HttpMethod.DELETE, url, block, **kwargs)
        return await self._execute(self._builder(HttpMethod.DELETE, url, block), streaming=False)

    async def head(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpResponse:
        """Send a HEAD; see :meth:`request` for the arguments."""
        if kwargs:
            return await self.request(HttpMethod.HEAD, url, block, **kwargs)
        return await self._execute(self._builder(HttpMethod.HEAD, url, block), streaming=False)

    async def options(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpResponse:
        """Send an OPTIONS; see :meth:`request` for the arguments."""
        if kwargs:
            return await self.request(HttpMethod.OPTIONS, url, block, **kwargs)
        return await self._execute(self._builder(HttpMethod.OPTIONS, url, block), streaming=False)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str | Url | None = None,
        block: Block | None = None,
        /,
        **kwargs: Any,
    ) -> AsyncIterator[HttpResponse]:
        """Send a request and stream the response body (``async with``).

        The response is released when the block exits; read the body inside it with
        ``response.body_as_channel()``. The request timeout covers the call until the
        response head arrives. Arguments as for :meth:`request`.

        Args:
            method: The method.
            url: The URL.
            block: A function receiving the :class:`HttpRequestBuilder`.
            **kwargs: As for :meth:`request`.

        Yields:
            The response, its body not read yet.
        """
        builder = self._builder(
            method,
            url,
            block,
            kwargs.pop("params", None),
            kwargs.pop("headers", None),
            kwargs.pop("body", _UNSET),
            kwargs.pop("json", _UNSET),
            kwargs.pop("form", _UNSET),
            kwargs.pop("content_type", None),
            kwargs.pop("timeout", DEFAULT),
            kwargs.pop("expect_success", None),
        )
        if kwargs:
            raise TypeError(f"stream() got unexpected keyword arguments: {sorted(kwargs)}")
        async with self.stream_builder(builder) as response:
            yield response

    @asynccontextmanager
    async def stream_builder(self, builder: HttpRequestBuilder) -> AsyncIterator[HttpResponse]:
        """Like :meth:`stream`, for a prepared :class:`HttpRequestBuilder`.

        Args:
            builder: The request.

        Yields:
            The response, its body not read yet.
        """
        self._enter(builder)
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        try:
            with scope:
                response = await self._execute(builder, streaming=True)
                try:
                    yield response
                finally:
                    await response.aclose()
        finally:
            self._scopes.discard(scope)
            self._leave()
        if scope.cancelled_caught:
            raise RequestCancelledException(
                f"{builder.method} {_url_text(builder)}: the client was cancelled while "
                "the response was being streamed"
            )

    async def execute(self, builder: HttpRequestBuilder) -> HttpResponse:
        """Send a prepared :class:`HttpRequestBuilder` and read the whole body.

        Args:
            builder: The request.

        Returns:
            The response, its body read.
        """
        return await self._execute(builder, streaming=False)

    def prepare_request(
        self,
        method: str,
        url: str | Url | None = None,
        block: Block | None = None,
        /,
        **kwargs: Any,
    ) -> HttpStatement:
        """Prepare a request to run later, any number of times (Ktor's ``prepareRequest``).

        Args:
            method: The method.
            url: The URL.
            block: A function receiving the :class:`HttpRequestBuilder`.
            **kwargs: As for :meth:`request`.

        Returns:
            The statement; run it with ``await statement.execute(handler)``.
        """
        from client_core._statement import HttpStatement

        builder = self._builder(
            method,
            url,
            block,
            kwargs.pop("params", None),
            kwargs.pop("headers", None),
            kwargs.pop("body", _UNSET),
            kwargs.pop("json", _UNSET),
            kwargs.pop("form", _UNSET),
            kwargs.pop("content_type", None),
            kwargs.pop("timeout", DEFAULT),
            kwargs.pop("expect_success", None),
        )
        if kwargs:
            raise TypeError(f"unexpected keyword arguments: {sorted(kwargs)}")
        return HttpStatement(self, builder)

    def prepare_get(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpStatement:
        """Prepare a GET; see :meth:`prepare_request`."""
        return self.prepare_request(HttpMethod.GET, url, block, **kwargs)

    def prepare_post(
        self, url: str | Url | None = None, block: Block | None = None, /, **kwargs: Any
    ) -> HttpStatement:
        """Prepare a POST; see :meth:`prepare_request`."""
        return self.prepare_request(HttpMethod.POST, url, block, **kwargs)

    # -- the call pipeline -----------------------------------------------------------------

    def _enter(self, builder: HttpRequestBuilder) -> None:
        if self._closed:
            raise ClientClosedException(
                f"{builder.method} {_url_text(builder)}: the client is closed"
            )
        self._in_flight += 1

    def _leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0 and self._closed and not self._finished:
            self._finish()

    async def _execute(self, builder: HttpRequestBuilder, *, streaming: bool) -> HttpResponse:
        # A streaming call is entered and left by stream_builder, around the whole block.
        # One guard per send (in _send_once) serves both the request timeout and cancel();
        # the call itself has none, since guards are the costliest thing on the hot path.
        # Between sends, cancel() is seen by the next send and by interruptible waits
        # (``sleep``).
        if not streaming:
            if self._closed:
                self._enter(builder)  # raises
            self._in_flight += 1
        try:
            state = CallState(streaming, self.config.max_send_count)
            attributes = builder.attributes._data  # the dict itself, on the hot path
            attributes[CALL_STATE] = state
            try:
                hooks = self._hooks
                for _, _, hook in hooks.on_request:
                    await hook(builder, builder.body)
                if self._chain_version != hooks.version:
                    self._rebuild_chain()
                body = builder.body
                if not isinstance(body, OutgoingContent):
                    if body is None and self._only_str_converters:
                        builder.body = EmptyContent()
                    else:
                        builder.body = await self._render_body(builder)
                # The request timeout is enforced per send in _send_once (each redirect hop
                # and retry attempt gets its own budget, as Ktor's HttpTimeout does).
                head = self._chain_head
                if head is None:
                    response = await self._send_once(builder)
                else:
                    response = await head(builder, self._chain_rest)
                if builder.expect_success and self._lazy_validation is not None:
                    await self._lazy_validation(response)
            except BaseException:
                await state.release()
                raise
            finally:
                # Break the cycle attributes -> state -> responses -> request -> attributes,
                # so a response (and its body) is freed by reference counting, not the GC.
                attributes.pop(CALL_STATE, None)
            if len(state.responses) > 1:
                await state.release(keep=response)
            state.responses = []
            return response
        finally:
            if not streaming:
                self._in_flight -= 1
                if self._in_flight == 0 and self._closed and not self._finished:
                    self._finish()

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``, unless the client is cancelled first (for plugins' delays).

        Args:
            seconds: How long to wait.

        Raises:
            RequestCancelledException: :meth:`cancel` was called before or during the wait.
        """
        if self._cancelled:
            raise RequestCancelledException("the client was cancelled")
        scope = anyio.CancelScope()
        self._scopes.add(scope)
        try:
            with scope:
                await anyio.sleep(seconds)
        finally:
            self._scopes.discard(scope)
        if scope.cancelled_caught:
            raise RequestCancelledException("the client was cancelled during a delay")

    async def _render_body(self, builder: HttpRequestBuilder) -> OutgoingContent:
        body = builder.body
        if not self._only_str_converters or isinstance(body, str):
            for _, _, hook in self._hooks.transform_request_body:
                content = await hook(builder, body, builder.body_type)
                if content is not None:
                    return content
        content = render_default_body(body, builder.headers)
        if content is None:
            raise NoTransformationFoundException(
                f"{builder.method} {_url_text(builder)}: no converter for a request body of "
                f"type {type(body).__name__}; send bytes, str, an async iterable of bytes, "
                "json=... or form=..., or install a converter plugin (transform_request_body)"
            )
        return content

    def _rebuild_chain(self) -> None:
        # The outermost interceptor is called directly with the rest of the chain; only
        # the inner ones need a closure each.
        handlers = [handler for _, _, handler in self._hooks.on_send]
        rest: Proceed = self._send_once
        for handler in reversed(handlers[1:]):
            rest = _link(handler, rest)
        self._chain_head = handlers[0] if handlers else None
        self._chain_rest = rest
        # A body that is not a str is rendered without asking converters when every one
        # installed is known to convert str bodies alone (HttpPlainText's).
        self._only_str_converters = all(
            hook in self._str_only_converters for _, _, hook in self._hooks.transform_request_body
        )
        self._chain_version = self._hooks.version

    async def _send_once(self, builder: HttpRequestBuilder) -> HttpResponse:
        state: CallState | None = builder.attributes._data.get(CALL_STATE)
        if state is None:
            raise RuntimeError("requests must be sent through HttpClient.execute()")
        state.sends += 1
        if state.sends > state.max_sends:
            raise SendCountExceedException(
                f"{builder.method} {_url_text(builder)}: max send count {state.max_sends} "
                "exceeded; consider raising HttpClientConfig.max_send_count"
            )
        if self._cancelled and self._closed:
            raise RequestCancelledException(
                f"{builder.method} {_url_text(builder)}: the client was cancelled"
            )
        data = builder.build()
        state.last_request = data
        engine = self.engine
        if data.required_capabilities:
            missing = data.required_capabilities - engine.capabilities
            if missing:
                names = ", ".join(sorted(c.value for c in missing))
                raise UnsupportedCapabilityException(
                    f"{data.method} {data.url.redacted()}: the {engine.name} engine does not "
                    f"support {names}"
                )
        timeout = data.timeouts.request
        if timeout is DEFAULT:
            timeout = getattr(engine.config, "request_timeout", None)
        state.request_timeout = timeout
        first = len(state.responses)
        response: HttpResponse | None
        # An asyncio task, or else trio (sniffio would cost more than the send's guard).
        loop: Any = _peek_running_loop()
        task: Any = None if loop is None else _current_task(loop)
        if task is None:
            response = await self._transmit_trio(data, state, timeout)
        else:
            # The asyncio guard, inline: it runs once per request (see _guard.py).
            deadlines = self._deadlines
            if deadlines is None or deadlines.loop is not loop:
                deadlines = self._deadlines_on(loop)
            send = AsyncioSend(task, math.inf if timeout is None else loop.time() + timeout)
            cancelling = task.cancelling()
            deadlines.add(send)
            try:
                response = await self._transmit(data, state)
            except BaseException as exc:
                deadlines.sends.discard(send)
                if not send.fired:
                    raise
                # Ours when no one else cancelled the task meanwhile (asyncio.Timeout's rule).
                ours = task.uncancel() <= cancelling and isinstance(exc, _CancelledError)
                if not (ours or isinstance(exc, TimeoutError)):
                    raise
                response = None
            else:
                deadlines.sends.discard(send)
                if send.fired:
                    task.uncancel()
        if response is None:  # cancelled by cancel(), or the deadline of this send expired
            for late in state.responses[first:]:
                await late.aclose()
            if self._cancelled:
                raise RequestCancelledException(
                    f"{data.method} {data.url.redacted()}: the client was cancelled while "
                    "the request was in flight"
                )
            raise HttpRequestTimeoutException(
                f"Request timeout has expired [method={data.method}, url={data.url.redacted()}, "
                f"request_timeout={timeout}s]"
            )
        return response

    def _deadlines_on(self, loop: asyncio.AbstractEventLoop) -> AsyncioDeadlines:
        old = self._deadlines
        if old is not None and not old.sends:
            old.close()
            self._scopes.discard(old)
        deadlines = self._deadlines = AsyncioDeadlines(loop)
        self._scopes.add(deadlines)
        return deadlines

    async def _transmit_trio(
        self, data: HttpRequestData, state: CallState, timeout: float | None
    ) -> HttpResponse | None:
        """One send under a ``trio.CancelScope``: the deadline, and what cancel() cancels.

        Returns ``None`` when the deadline expired or the client was cancelled. The native
        scope costs half of what anyio's portable one does.
        """
        trio_module: Any = sys.modules.get("trio")  # under trio: imported (no import here)
        if trio_module is None:
            raise RuntimeError("HttpClient runs in an asyncio task or under trio")
        if self._interruptible and type(data.body) is bytes:
            return await self._transmit_interruptible(data, state, timeout, trio_module)
        scope: trio.CancelScope = trio_module.CancelScope(
            deadline=math.inf if timeout is None else trio_module.current_time() + timeout
        )
        scopes = self._scopes
        scopes.add(scope)
        try:
            with scope:
                return await self._transmit(data, state)
        finally:
            scopes.discard(scope)
        return None  # the scope swallowed its own cancellation

    async def _transmit_interruptible(
        self, data: HttpRequestData, state: CallState, timeout: float | None, trio_module: Any
    ) -> HttpResponse | None:
        """One send on trio with no cancel scope: the engine honours an ``Interrupt``.

        Returns ``None`` when the deadline passed or the client was cancelled, as
        :meth:`_transmit_trio` does.
        """
        deadlines = self._trio_deadlines
        if deadlines is None or not deadlines.current():
            deadlines = self._trio_deadlines_on(trio_module)
        interrupt = Interrupt()
        send = TrioSend(
            interrupt, math.inf if timeout is None else trio_module.current_time() + timeout
        )
        set_interrupt(data, interrupt)
        deadlines.add(send)
        try:
            response = await self._transmit(data, state)
        except SendInterrupted as exc:
            if exc is not interrupt.error:
                raise
            return None
        finally:
            deadlines.sends.discard(send)
        if interrupt.error is not None:  # it passed while a hook ran: too late all the same
            return None
        return response

    def _trio_deadlines_on(self, trio_module: Any) -> TrioDeadlines:
        old = self._trio_deadlines
        if old is not None:
            old.close()
            self._scopes.discard(old)
        deadlines = self._trio_deadlines = TrioDeadlines(trio_module)
        self._scopes.add(deadlines)
        return deadlines

    async def _transmit(self, data: HttpRequestData, state: CallState) -> HttpResponse:
        engine = self.engine
        request_time = time.time()
        try:
            response_data = await engine.execute(data)
        except HttpClientError:
            raise
        except TimeoutError as exc:
            raise SocketTimeoutException(
                f"{data.method} {data.url.redacted()}: {str(exc) or 'timed out'}"
            ) from exc
        except OSError as exc:
            raise ConnectException(
                f"{data.method} {data.url.redacted()}: {str(exc) or type(exc).__name__}"
            ) from exc
        except (anyio.BrokenResourceError, anyio.EndOfStream, EOFError) as exc:
            raise ProtocolException(
                f"{data.method} {data.url.redacted()}: connection lost ({type(exc).__name__})"
            ) from exc
        response = HttpResponse(
            self, data, response_data, request_time=request_time, response_time=time.time()
        )
        state.responses.append(response)
        for _, _, hook in self._hooks.on_response:
            await hook(response)
        if not state.streaming:
            await response._read_all(self.config.body_limit)
        return response

    async def _transform_body(self, response: HttpResponse, data: bytes, type_: Any) -> Any:
        for _, _, hook in self._hooks.transform_response_body:
            result = await hook(response, data, type_)
            if result is not NOT_HANDLED:
                return result
        if type_ is str:
            return await response.body_as_text()
        if type_ is bytearray:
            return bytearray(data)
        raise NoTransformationFoundException(
            f"{response.request.method} {response.request.url.redacted()}: no converter "
            f"turns the response body into {getattr(type_, '__name__', type_)!s}; read "
            "bytes or str, or install a converter plugin (transform_response_body)"
        )


def _link(
    handler: Callable[[HttpRequestBuilder, Proceed], Awaitable[HttpResponse]], proceed: Proceed
) -> Proceed:
    async def step(builder: HttpRequestBuilder) -> HttpResponse:
        return await handler(builder, proceed)

    return step


def _url_text(builder: HttpRequestBuilder) -> str:
    if builder.relative_url is not None:
        return builder.relative_url
    try:
        return builder.build_url().redacted()
    except HttpClientError:
        return "<invalid URL>"


from client_core._statement import HttpStatement  # noqa: E402  (cycle: statement uses client)
