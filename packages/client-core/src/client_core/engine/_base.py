"""The engine SPI: what an engine receives, returns, and how it is built and closed."""

from __future__ import annotations

import abc
import enum
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Final, Generic, Literal, Protocol, TypeVar

from client_core._attributes import Attributes
from client_core.engine._config import HttpClientEngineConfig, apply_config
from client_core.errors import ClientClosedException
from client_core.http import Headers, HttpMethod, HttpStatusCode, Url

__all__ = [
    "DEFAULT",
    "ENGINE_API_VERSION",
    "BytesResponseBody",
    "EngineCapability",
    "HttpClientEngine",
    "HttpClientEngineFactory",
    "HttpRequestData",
    "HttpResponseData",
    "Interrupt",
    "RequestBody",
    "ResponseBody",
    "Timeouts",
]

ENGINE_API_VERSION: Final = "1.0"
"""The engine-API version of this core, ``MAJOR.MINOR``.

An engine is compatible when its ``engine_api_version`` has the same major and a minor no
greater than this one.
"""

C = TypeVar("C", bound=HttpClientEngineConfig)

RequestBody = bytes | AsyncIterable[bytes]
"""A request body as engines see it: bytes (maybe empty) or a one-shot async byte stream."""


class EngineCapability(enum.Enum):
    """Something a request may need that not every engine can do."""

    TIMEOUT = "HttpTimeout"
    WEBSOCKET = "WebSocket"
    SSE = "SSE"
    UNIX_SOCKET = "UnixSocket"
    HTTP2 = "HTTP/2"
    HTTP3 = "HTTP/3"
    SOCKS_PROXY = "SOCKS proxy"
    INTERRUPT = "interrupt"
    """The engine honours :class:`Interrupt` (so the client needs no cancel scope per
    send on trio); declared, never required by a request."""


class Interrupt:
    """How the client ends one send early: its request deadline, or ``HttpClient.cancel()``.

    On trio the client would otherwise enter a ``trio.CancelScope`` for every request it
    sends, one of the costliest things on its path. An engine that declares
    :attr:`EngineCapability.INTERRUPT` gets an ``Interrupt`` with each request whose body
    is bytes (``HttpRequestData.interrupt``) and, before its first wait, registers a
    callback with :meth:`on_interrupt`. When the client calls it with an error, every
    wait of that request, in ``execute`` and in the response body, must end by raising
    that very error. Other engines never see one.

    Attributes:
        error: The error the send was interrupted with; ``None`` until then.
    """

    __slots__ = ("_callback", "error")

    def __init__(self) -> None:
        self._callback: Callable[[BaseException], object] | None = None
        self.error: BaseException | None = None

    def on_interrupt(self, callback: Callable[[BaseException], object]) -> None:
        """Register ``callback`` (it replaces an earlier one); run it now if interrupted.

        Args:
            callback: Called with the error, on the event loop's thread; must not block
                or raise.
        """
        self._callback = callback
        error = self.error
        if error is not None:
            callback(error)

    def interrupt(self, error: BaseException) -> None:
        """End the send with ``error`` (the client calls this; later calls do nothing).

        Args:
            error: What the engine raises from the interrupted waits.
        """
        if self.error is None:
            self.error = error
            callback = self._callback
            if callback is not None:
                callback(error)


class _Default(enum.Enum):
    TOKEN = "DEFAULT"

    def __repr__(self) -> str:
        return "DEFAULT"


DEFAULT: Final = _Default.TOKEN
"""Sentinel for "not set here: use the engine's configured default"."""

TimeoutValue = float | None | Literal[_Default.TOKEN]


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Per-request timeouts in seconds. ``None`` is no limit; ``DEFAULT`` the engine's own.

    Attributes:
        request: One send of the call (each redirect hop and retry attempt), including
            reading the body of a non-streaming call. The core enforces it.
        connect: Establishing a connection (TCP, TLS, proxy handshake).
        socket: The longest time without any byte moving while sending or receiving.
    """

    request: TimeoutValue = DEFAULT
    connect: TimeoutValue = DEFAULT
    socket: TimeoutValue = DEFAULT

    def __post_init__(self) -> None:
        for name in ("request", "connect", "socket"):
            value = getattr(self, name)
            if value is DEFAULT or value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(
                    f"{name} timeout must be a non-negative number of seconds, None or "
                    f"DEFAULT, got {value!r}"
                )

    @staticmethod
    def pick(value: TimeoutValue, default: float | None) -> float | None:
        """Return ``value`` unless it is ``DEFAULT``, else ``default``.

        Args:
            value: A per-request timeout.
            default: The engine's configured timeout.

        Returns:
            The effective timeout in seconds, or ``None`` for no limit.
        """
        return default if value is DEFAULT else value


NO_TIMEOUTS: Final = Timeouts()


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequestData:
    """A request, fully built, as an engine receives it.

    ``headers`` never contain ``Content-Length`` or ``Transfer-Encoding``: the engine frames
    the body from ``content_length`` (``None`` for a stream of unknown length). Every other
    header (``Content-Type``, ``Accept-Encoding``, ``User-Agent`` ...) is sent as given; the
    engine adds ``Host`` when absent.

    Attributes:
        method: The request method.
        url: The absolute URL (scheme http, https, ws or wss).
        headers: Headers to send.
        body: ``b""`` for none, bytes, or a one-shot async byte stream.
        content_length: The body length when known.
        timeouts: Timeouts for this request.
        attributes: Per-call attributes (shared with plugins).
        required_capabilities: What this request needs from the engine.
        unix_socket: Connect to this Unix domain socket path instead of the URL's host.
        interrupt: Set by the client for engines with :attr:`EngineCapability.INTERRUPT`
            (see :class:`Interrupt`); ``None`` otherwise.
    """

    method: HttpMethod
    url: Url
    headers: Headers
    body: RequestBody = b""
    content_length: int | None = 0
    timeouts: Timeouts = NO_TIMEOUTS
    attributes: Attributes = field(default_factory=Attributes)
    required_capabilities: frozenset[EngineCapability] = frozenset()
    unix_socket: str | None = None
    interrupt: Interrupt | None = None

    @property
    def is_streaming_body(self) -> bool:
        """True when the body is an async stream rather than bytes."""
        return not isinstance(self.body, bytes)


_REQUEST_FIELDS: Final = (
    "method",
    "url",
    "headers",
    "body",
    "content_length",
    "timeouts",
    "attributes",
    "required_capabilities",
    "unix_socket",
    "interrupt",
)
_new_object = object.__new__
(
    _set_method,
    _set_url,
    _set_headers,
    _set_body,
    _set_content_length,
    _set_timeouts,
    _set_attributes,
    _set_capabilities,
    _set_unix_socket,
    set_interrupt,
) = (getattr(HttpRequestData, name).__set__ for name in _REQUEST_FIELDS)


def request_data(
    method: HttpMethod,
    url: Url,
    headers: Headers,
    body: RequestBody,
    content_length: int | None,
    timeouts: Timeouts,
    attributes: Attributes,
    required_capabilities: frozenset[EngineCapability],
    unix_socket: str | None,
    interrupt: Interrupt | None = None,
) -> HttpRequestData:
    """Build an :class:`HttpRequestData` with every field given, at a third of the cost.

    The dataclass's frozen ``__init__`` sets each field through ``object.__setattr__``;
    this sets the slots directly. The result is the same object (no field is checked).
    """
    data: HttpRequestData = _new_object(HttpRequestData)
    _set_method(data, method)
    _set_url(data, url)
    _set_headers(data, headers)
    _set_body(data, body)
    _set_content_length(data, content_length)
    _set_timeouts(data, timeouts)
    _set_attributes(data, attributes)
    _set_capabilities(data, required_capabilities)
    _set_unix_socket(data, unix_socket)
    set_interrupt(data, interrupt)
    return data


class ResponseBody(abc.ABC):
    """A response body as an async stream of non-empty ``bytes`` chunks.

    Closing it (or reading it to the end) releases what the engine holds for it: the
    connection goes back to the pool when the body was read fully, and is discarded when it
    was closed early. ``aclose()`` is idempotent and must never raise for a body that was
    already read.
    """

    __slots__ = ()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    @abc.abstractmethod
    async def __anext__(self) -> bytes:
        """Return the next chunk, or raise ``StopAsyncIteration`` at the end."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the body's resources; unread data is discarded."""

    async def read_all(self, limit: int | None = None) -> bytes:
        """Read the rest of the body and close it.

        Engines override this when they can do better than joining chunks.

        Args:
            limit: Fail when more than this many bytes arrive (``None``: no limit).

        Returns:
            The remaining bytes.

        Raises:
            ProtocolException: The body exceeds ``limit`` or is truncated.
        """
        from client_core.errors import ProtocolException

        parts: list[bytes] = []
        size = 0
        try:
            async for chunk in self:
                size += len(chunk)
                if limit is not None and size > limit:
                    raise ProtocolException(f"response body exceeds the limit of {limit} bytes")
                parts.append(chunk)
        finally:
            await self.aclose()
        return b"".join(parts)


class BytesResponseBody(ResponseBody):
    """A response body already in memory.

    Args:
        data: The whole body.
    """

    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data or None

    async def __anext__(self) -> bytes:
        data = self._data
        if data is None:
            raise StopAsyncIteration
        self._data = None
        return data

    async def aclose(self) -> None:
        self._data = None

    async def read_all(self, limit: int | None = None) -> bytes:
        """Return the remaining bytes."""
        data = self._data or b""
        self._data = None
        if limit is not None and len(data) > limit:
            from client_core.errors import ProtocolException

            raise ProtocolException(f"response body exceeds the limit of {limit} bytes")
        return data


@dataclass(slots=True, kw_only=True)
class HttpResponseData:
    """A response as an engine returns it.

    Attributes:
        status: The status code.
        version: ``"HTTP/1.0"``, ``"HTTP/1.1"``, ``"HTTP/2"`` or ``"HTTP/3"``.
        headers: Response headers as received.
        body: The body stream; for HEAD, 1xx, 204 and 304 an empty one.
        extensions: Engine-specific extras (e.g. ``"trailers"``: a ``Headers``).
    """

    status: HttpStatusCode
    version: str
    headers: Headers
    body: ResponseBody
    extensions: dict[str, Any] = field(default_factory=dict)


class HttpClientEngineFactory(Protocol):
    """What ``HttpClient(factory)`` and the registry accept: something that builds engines.

    Engine classes are factories themselves through the ``create`` classmethod of
    :class:`HttpClientEngine`.
    """

    engine_api_version: str

    def create(
        self, block: Callable[[Any], Any] | None = None, /, **config: Any
    ) -> HttpClientEngine[Any]:
        """Build an engine from a configuration block and options."""
        ...


class HttpClientEngine(abc.ABC, Generic[C]):
    """Base class of engines: executes :class:`HttpRequestData`, owns connections.

    Subclasses set ``config_class`` and ``capabilities``, implement :meth:`execute`, and
    override :meth:`_shutdown` (and :meth:`_close_now` when they hold resources that can be
    released without awaiting). The class itself is the engine's factory:
    ``HttpClient(MyEngine)`` calls ``MyEngine.create(block, **options)``.

    Args:
        config: The engine configuration; a default one when ``None``.
    """

    config_class: ClassVar[type[HttpClientEngineConfig]] = HttpClientEngineConfig
    engine_api_version: ClassVar[str] = ENGINE_API_VERSION
    capabilities: ClassVar[frozenset[EngineCapability]] = frozenset()
    name: ClassVar[str] = "engine"

    def __init__(self, config: C | None = None) -> None:
        self.config: C = config if config is not None else self.config_class()  # type: ignore[assignment]
        self._closed = False
        self._shut_down = False

    @classmethod
    def create(
        cls, block: Callable[[Any], Any] | None = None, /, **config: Any
    ) -> HttpClientEngine[Any]:
        """Build an engine: a default configuration, ``config`` options, then ``block``.

        Args:
            block: A function receiving the configuration to change it.
            **config: Configuration attributes to set.

        Returns:
            The new engine.

        Raises:
            TypeError: An option is not an attribute of the engine's configuration.
        """
        cfg = apply_config(cls.config_class(), block, config)
        return cls(cfg)  # type: ignore[arg-type]

    @property
    def is_closed(self) -> bool:
        """True once :meth:`close` or :meth:`aclose` was called."""
        return self._closed

    def check_open(self, request: HttpRequestData) -> None:
        """Raise when the engine is closed.

        Args:
            request: The request about to be executed.

        Raises:
            ClientClosedException: The engine was closed.
        """
        if self._closed:
            raise ClientClosedException(
                f"{request.method} {request.url.redacted()}: the {self.name} engine is closed"
            )

    @abc.abstractmethod
    async def execute(self, request: HttpRequestData) -> HttpResponseData:
        """Send ``request`` and return the response once its head has arrived.

        The caller owns the returned body and must read it to the end or close it.

        Args:
            request: The request.

        Returns:
            The response, its body still streaming.

        Raises:
            client_core.errors.HttpClientError: Any failure, translated.
        """

    def close(self) -> None:
        """Refuse new requests and release idle resources now, without blocking.

        In-flight requests may finish; :meth:`aclose` waits for everything to be released.
        Idempotent.
        """
        if not self._closed:
            self._closed = True
            self._close_now()

    async def aclose(self) -> None:
        """Close the engine and release every connection and socket. Idempotent."""
        self.close()
        if not self._shut_down:
            self._shut_down = True
            await self._shutdown()

    def _close_now(self) -> None:
        """Release what can be released synchronously (idle connections)."""

    async def _shutdown(self) -> None:
        """Release everything; called once by :meth:`aclose`."""

    async def __aenter__(self) -> HttpClientEngine[C]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {state}>"


def describe_options(config: HttpClientEngineConfig) -> Mapping[str, Any]:
    """Return the public options of ``config`` as a mapping (for docs and ``repr``).

    Args:
        config: An engine configuration.

    Returns:
        Option name to value, private fields left out.
    """
    return {k: v for k, v in vars(config).items() if not k.startswith("_")}
