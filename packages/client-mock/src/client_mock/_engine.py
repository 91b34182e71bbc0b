"""``MockEngine``: answers requests from routes and handlers, and records them."""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import anyio
import anyio.lowlevel

from client_core.engine import (
    BytesResponseBody,
    EngineCapability,
    HttpClientEngine,
    HttpClientEngineConfig,
    HttpRequestData,
    HttpResponseData,
    Timeouts,
    apply_config,
)
from client_core.errors import InvalidRequestException, SocketTimeoutException
from client_core.http import HttpMethod, HttpStatusCode, Url
from client_mock._errors import UnhandledRequestError
from client_mock._request import MockRequest
from client_mock._responses import SocketTimeoutBody
from client_mock._routes import Handler, ParamsLike, Route

__all__ = ["MockEngine", "MockEngineConfig"]

_NO_BODY_STATUSES: Final = frozenset({HttpStatusCode.NO_CONTENT, HttpStatusCode.NOT_MODIFIED})


@dataclass(kw_only=True)
class MockEngineConfig(HttpClientEngineConfig):
    """Configuration of :class:`MockEngine` (Ktor's ``MockEngineConfig``).

    Network settings inherited from :class:`~client_core.engine.HttpClientEngineConfig`
    (proxy, TLS, threads) are accepted and ignored.

    Attributes:
        request_handlers: Handlers answering requests no route matched, in order.
        reuse_handlers: ``True`` (the default): the handlers take turns for ever, a single
            handler answering every request. ``False``: each handler answers once, in
            order, and a request after the last fails with
            :class:`~client_mock.UnhandledRequestError`.
        routes: Routes checked before the handlers, in order of registration.
        request_history: Every request received, its body read (:class:`MockRequest`).
        response_history: Every response returned, in order.
        socket_timeout: The default socket (inactivity) timeout in seconds, used when a
            request does not set one: the longest wait for a handler's answer or for the
            next chunk of a streamed body. ``None``: no limit.
        request_timeout: The default timeout for a whole call, enforced by the client
            when a request does not set one. ``None``: no limit.
    """

    request_handlers: list[Handler] = field(default_factory=list)
    reuse_handlers: bool = True
    routes: list[Route] = field(default_factory=list)
    request_history: list[MockRequest] = field(default_factory=list)
    response_history: list[HttpResponseData] = field(default_factory=list)
    socket_timeout: float | None = None
    request_timeout: float | None = None

    def add_handler(self, handler: Handler) -> None:
        """Add a handler after the existing ones (Ktor's ``addHandler``).

        Args:
            handler: ``(MockRequest) -> HttpResponseData``, sync or async; build the
                response with :func:`~client_mock.respond`. It may raise any exception,
                e.g. ``ConnectException`` to simulate a refused connection.

        Raises:
            TypeError: ``handler`` is not callable.
        """
        if not callable(handler):
            raise TypeError(f"a handler must be callable, got {handler!r}")
        self.request_handlers.append(handler)

    def route(
        self,
        method: str | None = None,
        url: str | Url | None = None,
        *,
        url_prefix: str | Url | None = None,
        url_regex: str | re.Pattern[str] | None = None,
        params: ParamsLike | None = None,
        headers: Mapping[str, str | int | Sequence[str | int]] | None = None,
        assert_called: bool = True,
    ) -> Route:
        """Register a route; see :class:`~client_mock.Route` for how it matches.

        Args:
            method: The method to match, or ``None`` for any.
            url: The exact URL to match.
            url_prefix: A URL prefix to match.
            url_regex: A regular expression the URL must contain a match of.
            params: Query parameters to match.
            headers: Headers to match.
            assert_called: Whether the ``mock_engine`` fixture requires a call.

        Returns:
            The route; say what it answers with ``.respond(...)``, ``.mock(handler)`` or
            ``.raise_(exc)``.

        Raises:
            ValueError: More than one URL criterion is given.
            InvalidUrlException: ``url`` or ``url_prefix`` is invalid.
        """
        new = Route(
            method,
            url,
            url_prefix=url_prefix,
            url_regex=url_regex,
            params=params,
            headers=headers,
            assert_called=assert_called,
        )
        self.routes.append(new)
        return new


class MockEngine(HttpClientEngine[MockEngineConfig]):
    """An engine that answers from routes and handlers instead of the network.

    A request first goes to the routes, in order of registration; the first that matches
    answers. Otherwise the next handler in the queue answers (see
    ``MockEngineConfig.reuse_handlers``). Nothing left: :class:`UnhandledRequestError`.

    The request body is read before anything answers, so handlers see ``bytes``
    (:class:`MockRequest`). Exceptions raised by handlers reach the caller unchanged.
    A socket timeout (``timeout`` per request, or ``socket_timeout`` in the config) bounds
    the wait for an async handler and for each chunk of a streamed body, like a real
    engine: :class:`~client_core.errors.SocketTimeoutException`.

    The class is its own factory, so ``HttpClient(MockEngine)`` and the ``mock`` entry
    point work too; pass an instance to keep a handle on the histories::

        engine = MockEngine(lambda request: respond("hi"))
        async with HttpClient(engine) as client:
            assert await (await client.get("https://example.com/")).text() == "hi"
        assert engine.request_history[0].url == Url("https://example.com/")

    Args:
        handler: The first handler, or a :class:`MockEngineConfig` (what ``create`` passes).
        *handlers: More handlers.
        config: The configuration; a default one when ``None``.
        **config_options: ``MockEngineConfig`` attributes to set, e.g.
            ``reuse_handlers=False``.

    Raises:
        TypeError: A handler is not callable, or an option is unknown.
    """

    config_class = MockEngineConfig
    capabilities = frozenset(
        {EngineCapability.TIMEOUT, EngineCapability.UNIX_SOCKET, EngineCapability.HTTP2}
    )
    name = "mock"

    def __init__(
        self,
        handler: Handler | MockEngineConfig | None = None,
        *handlers: Handler,
        config: MockEngineConfig | None = None,
        **config_options: Any,
    ) -> None:
        if isinstance(handler, MockEngineConfig):
            if config is not None:
                raise TypeError("give the configuration once: positionally or as config=")
            config, handler = handler, None
        config = config if config is not None else MockEngineConfig()
        apply_config(config, None, config_options)
        super().__init__(config)
        for each in (handler, *handlers) if handler is not None else handlers:
            config.add_handler(each)
        self._next_handler = 0
        self._served: dict[int, HttpResponseData] = {}

    # -- inspection ------------------------------------------------------------------------

    @property
    def request_history(self) -> list[MockRequest]:
        """Every request received, in order (the config's list)."""
        return self.config.request_history

    @property
    def response_history(self) -> list[HttpResponseData]:
        """Every response returned, in order (the config's list)."""
        return self.config.response_history

    @property
    def routes(self) -> list[Route]:
        """The registered routes (the config's list)."""
        return self.config.routes

    @property
    def remaining_handlers(self) -> int | None:
        """How many handler answers are left: ``None`` when handlers are reused."""
        if self.config.reuse_handlers and self.config.request_handlers:
            return None
        return max(0, len(self.config.request_handlers) - self._next_handler)

    def add_handler(self, handler: Handler) -> None:
        """Add a handler after the existing ones; see ``MockEngineConfig.add_handler``.

        Args:
            handler: ``(MockRequest) -> HttpResponseData``, sync or async.

        Raises:
            TypeError: ``handler`` is not callable.
        """
        self.config.add_handler(handler)

    def route(
        self,
        method: str | None = None,
        url: str | Url | None = None,
        *,
        url_prefix: str | Url | None = None,
        url_regex: str | re.Pattern[str] | None = None,
        params: ParamsLike | None = None,
        headers: Mapping[str, str | int | Sequence[str | int]] | None = None,
        assert_called: bool = True,
    ) -> Route:
        """Register a route; see :class:`~client_mock.Route` for how it matches.

        Example::

            engine.route("GET", "https://api.example.com/users", params={"page": 2}).respond(
                '[]', headers={"Content-Type": "application/json"}
            )

        Args:
            method: The method to match, or ``None`` for any.
            url: The exact URL to match.
            url_prefix: A URL prefix to match.
            url_regex: A regular expression the URL must contain a match of.
            params: Query parameters to match.
            headers: Headers to match.
            assert_called: Whether the ``mock_engine`` fixture requires a call.

        Returns:
            The route; say what it answers with ``.respond(...)``, ``.mock(handler)`` or
            ``.raise_(exc)``.

        Raises:
            ValueError: More than one URL criterion is given.
            InvalidUrlException: ``url`` or ``url_prefix`` is invalid.
        """
        return self.config.route(
            method,
            url,
            url_prefix=url_prefix,
            url_regex=url_regex,
            params=params,
            headers=headers,
            assert_called=assert_called,
        )

    def uncalled_routes(self) -> list[Route]:
        """Return the routes no request matched that were registered with ``assert_called``.

        Returns:
            The routes, in order of registration.
        """
        return [r for r in self.config.routes if r.assert_called and not r.called]

    # -- execution -------------------------------------------------------------------------

    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        """Answer ``request`` from the first matching route, else the next handler.

        Args:
            request: The request.

        Returns:
            The handler's response; for ``HEAD`` and for 1xx, 204 and 304 responses the
            body is dropped, as an HTTP engine would.

        Raises:
            ClientClosedException: The engine is closed.
            UnhandledRequestError: No route matched and no handler is left.
            SocketTimeoutException: An async handler, the request body, or a chunk of
                the response body took longer than the socket timeout.
            InvalidRequestException: The body length differs from ``content_length``.
            Exception: Whatever a handler raised, unchanged.
        """
        self.check_open(request)
        # A real engine yields to the event loop before anything reaches the network, so
        # cancellation and expired deadlines take effect here as they would there.
        await anyio.lowlevel.checkpoint()
        what = f"{request.method} {request.url.redacted()}"
        socket_timeout = Timeouts.pick(request.timeouts.socket, self.config.socket_timeout)
        body = await self._read_body(request, socket_timeout, what)
        mock_request = MockRequest.of(request, body)
        self.config.request_history.append(mock_request)
        handler = self._select(mock_request)
        response = await self._answer(handler, mock_request, socket_timeout, what)
        if (
            request.method == HttpMethod.HEAD
            or response.status.is_informational()
            or response.status in _NO_BODY_STATUSES
        ):
            await response.body.aclose()
            response.body = BytesResponseBody(b"")
        elif socket_timeout is not None and not isinstance(response.body, BytesResponseBody):
            response.body = SocketTimeoutBody(response.body, socket_timeout, what)
        self.config.response_history.append(response)
        return response

    async def _read_body(
        self, request: HttpRequestData, socket_timeout: float | None, what: str
    ) -> bytes:
        body = request.body
        if isinstance(body, bytes):
            data = body
        else:
            parts: list[bytes] = []
            iterator = aiter(body)
            while True:
                with anyio.move_on_after(socket_timeout) as scope:
                    try:
                        chunk = await anext(iterator)
                    except StopAsyncIteration:
                        break
                    parts.append(bytes(chunk))
                if scope.cancelled_caught:
                    raise SocketTimeoutException(
                        f"{what}: socket timeout has expired: the request body sent no data "
                        f"for {socket_timeout}s"
                    )
            data = b"".join(parts)
        declared = request.content_length
        if declared is not None and declared != len(data):
            raise InvalidRequestException(
                f"{what}: the request body is {len(data)} bytes but its declared length "
                f"(Content-Length) is {declared}"
            )
        return data

    def _select(self, request: MockRequest) -> Handler:
        for candidate in self.config.routes:
            if candidate.matches(request):
                candidate.calls.append(request)
                return candidate.handler
        handlers = self.config.request_handlers
        index = self._next_handler
        if index < len(handlers):
            self._next_handler = index + 1
            if self.config.reuse_handlers:
                self._next_handler %= len(handlers)
            return handlers[index]
        raise UnhandledRequestError(self._unhandled_message(request))

    def _unhandled_message(self, request: MockRequest) -> str:
        config = self.config
        count = len(config.request_handlers)
        if count == 0:
            handlers = "no handlers were added"
        else:
            handlers = (
                f"0 of {count} handler{'s' if count != 1 else ''} remain "
                "(reuse_handlers=False: each answers once)"
            )
        lines = [
            f"{request.method} {request.url.redacted()}: the mock engine has no answer for "
            f"this request: no route matched and {handlers}.",
        ]
        if config.routes:
            lines.append("Registered routes:")
            lines.extend(
                f"  - {r.describe()} (called {r.call_count} time{'s' if r.call_count != 1 else ''})"
                for r in config.routes
            )
        else:
            lines.append("Registered routes: none.")
        lines.append(
            "Add a route with engine.route(...).respond(...) or a handler with "
            "engine.add_handler(...)."
        )
        return "\n".join(lines)

    async def _answer(
        self, handler: Handler, request: MockRequest, socket_timeout: float | None, what: str
    ) -> HttpResponseData:
        result: Any = None
        with anyio.move_on_after(socket_timeout) as scope:
            result = handler(request)
            if inspect.isawaitable(result):
                result = await _awaited(result)
        if scope.cancelled_caught:
            raise SocketTimeoutException(
                f"{what}: socket timeout has expired: no response within {socket_timeout}s"
            )
        if not isinstance(result, HttpResponseData):
            raise TypeError(
                f"{what}: the mock handler {_name(handler)} returned "
                f"{type(result).__name__}, not HttpResponseData; build the response with "
                "respond(...)"
            )
        if self._served.get(id(result)) is result:
            raise RuntimeError(
                f"{what}: the mock handler {_name(handler)} returned a response that was "
                "already used for an earlier request; its body is consumed. Call "
                "respond(...) inside the handler to build a new response every time"
            )
        self._served[id(result)] = result
        return result


async def _awaited(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _name(handler: Any) -> str:
    name = getattr(handler, "__qualname__", None) or repr(handler)
    return str(name)
