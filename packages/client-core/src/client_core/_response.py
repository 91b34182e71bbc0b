"""The response users see (Ktor's ``HttpResponse``)."""

from __future__ import annotations

import codecs
import json as _json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, overload

import anyio

from client_core.engine import HttpRequestData, HttpResponseData, ResponseBody
from client_core.errors import (
    HttpClientError,
    ProtocolException,
    ResponseBodyConsumedException,
    SocketTimeoutException,
)
from client_core.http import ContentType, Headers, HttpHeaders, HttpStatusCode

if TYPE_CHECKING:
    from client_core._client import HttpClient

__all__ = ["HttpResponse"]

T = TypeVar("T")


def charset_of(headers: Headers) -> str | None:
    """Return the charset named by ``Content-Type``, if any, when Python knows it.

    Args:
        headers: Response headers.

    Returns:
        A codec name, or ``None``.
    """
    value = headers.get(HttpHeaders.CONTENT_TYPE)
    if not value:
        return None
    try:
        charset = ContentType.parse(value).charset
    except ValueError:
        return None
    if charset is None:
        return None
    try:
        codecs.lookup(charset)
    except LookupError:
        return None
    return charset


class HttpResponse:
    """A response: status, headers, and a body read once and cached.

    For calls made with the verbs (``client.get`` ...) the body was read before the call
    returned, so every body method can be called any number of times. Inside
    ``client.stream(...)`` the body is streamed: read it once, with :meth:`body_as_channel`,
    or read it whole with :meth:`body` (then it is cached).

    Attributes:
        call_client: The client that made the call.
        request: The request as it was sent (method, URL, headers, attributes).
        status: The status code.
        version: The protocol version, e.g. ``"HTTP/1.1"``.
        headers: The response headers.
        redirect_history: The redirect responses followed to reach this one, oldest
            first (their bodies are released).
        request_time: ``time.time()`` when the request started.
        response_time: ``time.time()`` when the response head arrived.
        extensions: Engine-specific extras.
    """

    __slots__ = (
        "_content",
        "_stream",
        "_streamed",
        "call_client",
        "extensions",
        "headers",
        "redirect_history",
        "request",
        "request_time",
        "response_time",
        "status",
        "version",
    )

    def __init__(
        self,
        client: HttpClient,
        request: HttpRequestData,
        data: HttpResponseData,
        *,
        request_time: float,
        response_time: float,
    ) -> None:
        self.call_client = client
        self.request = request
        self.status: HttpStatusCode = data.status
        self.version = data.version
        self.headers: Headers = data.headers
        self.extensions = data.extensions
        self.request_time = request_time
        self.response_time = response_time
        self._stream: ResponseBody | None = data.body
        self._content: bytes | None = None
        self._streamed = False
        self.redirect_history: list[HttpResponse] = []

    # -- plugin-facing ---------------------------------------------------------------------

    def wrap_body(self, wrapper: Callable[[ResponseBody], ResponseBody]) -> None:
        """Replace the body stream with ``wrapper(stream)`` (decoders, progress, logging).

        Args:
            wrapper: Receives the current stream and returns the new one, which must close
                the old one when closed.

        Raises:
            ResponseBodyConsumedException: The body was already read.
        """
        if self._stream is None or self._streamed:
            raise ResponseBodyConsumedException(self._consumed_message())
        self._stream = wrapper(self._stream)

    @property
    def is_body_read(self) -> bool:
        """True once the whole body is cached in memory."""
        return self._content is not None

    # -- reading ---------------------------------------------------------------------------

    def _consumed_message(self) -> str:
        return (
            f"{self.request.method} {self.request.url.redacted()}: the streamed response body "
            "was already consumed; read it once, or call body() to keep it in memory"
        )

    async def _read_all(self, limit: int | None = None) -> bytes:
        if self._content is not None:
            return self._content
        stream = self._stream
        if stream is None or self._streamed:
            raise ResponseBodyConsumedException(self._consumed_message())
        self._streamed = True
        try:
            data = await stream.read_all(limit)
        except ProtocolException as exc:
            what = f"{self.request.method} {self.request.url.redacted()}"
            if str(exc).startswith(what):
                raise
            raise type(exc)(f"{what}: {exc}") from exc
        except HttpClientError:
            raise  # already ours (ConnectException is also an OSError)
        except _RAW_ERRORS as exc:
            raise translate_body_error(self.request, exc) from exc
        self._content = data
        self._stream = None
        return data

    @overload
    async def body(self) -> bytes: ...
    @overload
    async def body(self, type_: type[T]) -> T: ...
    async def body(self, type_: Any = bytes) -> Any:
        """Return the body, read and cached; converted to ``type_`` when given.

        ``bytes`` and ``str`` work out of the box; other types need a converter
        (``ContentNegotiation``).

        Args:
            type_: The wanted type.

        Returns:
            The body as ``type_``.

        Raises:
            ResponseBodyConsumedException: The streamed body was already consumed.
            NoTransformationFoundException: No converter produces ``type_``.
        """
        data = await self._read_all()
        if type_ is bytes:
            return data
        return await self.call_client._transform_body(self, data, type_)

    async def body_as_text(self, charset: str | None = None) -> str:
        """Return the body decoded as text.

        The charset is ``charset``, else the one in ``Content-Type``, else UTF-8; bytes
        that do not decode are replaced rather than failing.

        Args:
            charset: A charset that overrides the response's.

        Returns:
            The text.
        """
        data = await self._read_all()
        fallback = self.call_client.response_charset_fallback
        return data.decode(charset or charset_of(self.headers) or fallback, "replace")

    def body_as_channel(self) -> AsyncIterator[bytes]:
        """Return the body as an async stream of chunks (Ktor's ``bodyAsChannel``).

        Returns:
            An async iterator of ``bytes``; a cached body comes as one chunk.

        Raises:
            ResponseBodyConsumedException: The streamed body was already consumed.
        """
        if self._content is not None:
            return _OneChunk(self._content)
        stream = self._stream
        if stream is None or self._streamed:
            raise ResponseBodyConsumedException(self._consumed_message())
        self._streamed = True
        return _GuardedChannel(stream, self.request)

    async def read(self) -> bytes:
        """Alias of :meth:`body`."""
        return await self._read_all()

    async def text(self, charset: str | None = None) -> str:
        """Alias of :meth:`body_as_text`.

        Args:
            charset: A charset that overrides the response's.

        Returns:
            The text.
        """
        return await self.body_as_text(charset)

    async def json(self, **loads_kwargs: Any) -> Any:
        """Return the body parsed as JSON with :func:`json.loads`.

        Args:
            **loads_kwargs: Passed to :func:`json.loads`.

        Returns:
            The parsed value.

        Raises:
            json.JSONDecodeError: The body is not JSON (a ``ValueError``).
        """
        return _json.loads(await self._read_all(), **loads_kwargs)

    async def excerpt(self, limit: int = 1024) -> str:
        """A bounded, leniently decoded start of the body, for error messages.

        Reads at most ``limit`` more bytes of a streamed body, then closes it.

        Args:
            limit: The most bytes to return.

        Returns:
            The excerpt ("" when the body was already consumed).
        """
        if self._content is None:
            stream = self._stream
            if stream is None or self._streamed:
                return ""
            self._streamed = True
            parts: list[bytes] = []
            size = 0
            try:
                async for chunk in stream:
                    parts.append(chunk)
                    size += len(chunk)
                    if size > limit:
                        break
            finally:
                await self.aclose()
            data = b"".join(parts)
            if size <= limit:
                self._content = data
        else:
            data = self._content
        return data[:limit].decode(charset_of(self.headers) or "utf-8", "replace")

    async def aclose(self) -> None:
        """Release the connection; unread body data is discarded. Idempotent."""
        stream = self._stream
        if stream is not None:
            self._stream = None
            self._streamed = True
            with anyio.CancelScope(shield=True):
                await stream.aclose()

    async def discard(self) -> None:
        """Alias of :meth:`aclose`, for plugins dropping an intermediate response."""
        await self.aclose()

    def __repr__(self) -> str:
        return f"<HttpResponse [{self.status}] {self.request.method} {self.request.url.redacted()}>"


_RAW_ERRORS = (OSError, EOFError, anyio.BrokenResourceError, anyio.EndOfStream)


def translate_body_error(request: HttpRequestData, exc: BaseException) -> HttpClientError:
    """Our error for a raw transport error an engine let through while reading a body.

    Engines translate their own errors; this is the core's safety net, so that nothing raw
    from ``OSError`` or anyio reaches the user.

    Args:
        request: The request whose body failed.
        exc: The raw error.

    Returns:
        ``SocketTimeoutException`` for a timeout, ``ProtocolException`` otherwise.
    """
    what = f"{request.method} {request.url.redacted()}"
    if isinstance(exc, TimeoutError):
        return SocketTimeoutException(f"{what}: reading the body timed out")
    return ProtocolException(
        f"{what}: the connection failed while reading the body ({type(exc).__name__}: {exc})"
    )


class _GuardedChannel:
    """The body stream as users iterate it, with the core's error safety net."""

    __slots__ = ("_request", "_stream")

    def __init__(self, stream: ResponseBody, request: HttpRequestData) -> None:
        self._stream = stream
        self._request = request

    def __aiter__(self) -> _GuardedChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self._stream.__anext__()
        except HttpClientError:
            raise  # already ours (ConnectException is also an OSError)
        except _RAW_ERRORS as exc:
            raise translate_body_error(self._request, exc) from exc

    async def aclose(self) -> None:
        """Release the body early; unread data is discarded."""
        with anyio.CancelScope(shield=True):
            await self._stream.aclose()


class _OneChunk:
    __slots__ = ("_data",)

    def __init__(self, data: bytes) -> None:
        self._data: bytes | None = data or None

    def __aiter__(self) -> _OneChunk:
        return self

    async def __anext__(self) -> bytes:
        data = self._data
        if data is None:
            raise StopAsyncIteration
        self._data = None
        return data


ResponseHandler = Callable[[HttpResponse], Awaitable[T]]
