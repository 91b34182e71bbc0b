"""Building responses for handlers: ``respond`` and its shortcuts, and streamed bodies."""

from __future__ import annotations

import json as _json
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from typing import Any, Final, TypeAlias, cast

import anyio

from client_core.engine import BytesResponseBody, HttpResponseData, ResponseBody
from client_core.errors import SocketTimeoutException
from client_core.http import ContentType, Headers, HttpHeaders, HttpStatusCode

__all__ = [
    "Content",
    "HeadersLike",
    "respond",
    "respond_bad_request",
    "respond_error",
    "respond_json",
    "respond_ok",
    "respond_redirect",
]

Content: TypeAlias = str | bytes | bytearray | memoryview | Sequence[bytes] | AsyncIterable[bytes]
"""What ``respond`` sends: text (UTF-8), bytes, a list of chunks, or an async byte stream."""

HeadersLike: TypeAlias = (
    "Headers | Mapping[str, str | int | Sequence[str | int]] | Iterable[tuple[str, str | int]]"
)
"""Response headers: ``Headers``, a mapping (a list value repeats the header) or pairs."""

VERSIONS: Final = frozenset({"HTTP/1.0", "HTTP/1.1", "HTTP/2", "HTTP/3"})


class StreamedResponseBody(ResponseBody):
    """A response body produced chunk by chunk, optionally sleeping between chunks.

    Empty chunks are skipped (a :class:`~client_core.engine.ResponseBody` never yields
    one). Closing it closes the source stream when that has an ``aclose()`` (an async
    generator), so abandoning the body releases what the source holds.

    Args:
        source: A sequence of chunks, or an async iterable of chunks (read once).
        chunk_delay: Seconds to sleep before every chunk but the first (``None``: none);
            for an async iterable, also before asking it for the next chunk after the last.
    """

    __slots__ = ("_closed", "_delay", "_index", "_iterator", "_sequence", "_source", "_started")

    def __init__(
        self,
        source: Sequence[bytes] | AsyncIterable[bytes],
        chunk_delay: float | None = None,
    ) -> None:
        self._source = source
        self._sequence: Sequence[bytes] | None = (
            source if not isinstance(source, AsyncIterable) else None
        )
        self._iterator: AsyncIterator[bytes] | None = None
        self._index = 0
        self._delay = chunk_delay
        self._started = False
        self._closed = False

    async def __anext__(self) -> bytes:
        while True:
            if self._closed:
                raise StopAsyncIteration
            if self._started and self._delay and not self._exhausted():
                await anyio.sleep(self._delay)
            self._started = True
            chunk = await self._next_raw()
            if chunk is None:
                await self.aclose()
                raise StopAsyncIteration
            if chunk:
                return chunk

    def _exhausted(self) -> bool:
        """True when a sequence source has no chunk left (a stream cannot tell ahead)."""
        return self._sequence is not None and self._index >= len(self._sequence)

    async def _next_raw(self) -> bytes | None:
        sequence = self._sequence
        if sequence is not None:
            if self._index >= len(sequence):
                return None
            chunk: object = sequence[self._index]
            self._index += 1
        else:
            iterator = self._iterator
            if iterator is None:
                assert isinstance(self._source, AsyncIterable)
                iterator = self._iterator = aiter(self._source)
            try:
                chunk = await anext(iterator)
            except StopAsyncIteration:
                return None
        if isinstance(chunk, bytes):
            return chunk
        if isinstance(chunk, bytearray | memoryview):
            return bytes(chunk)
        raise TypeError(
            f"a response body chunk must be bytes, got {type(chunk).__name__}: {chunk!r:.60}"
        )

    async def aclose(self) -> None:
        """Stop streaming; the source stream is closed when it can be. Idempotent."""
        if self._closed:
            return
        self._closed = True
        iterator = self._iterator if self._iterator is not None else self._source
        close = getattr(iterator, "aclose", None)
        if close is not None and self._sequence is None:
            with anyio.CancelScope(shield=True):
                await close()


class SocketTimeoutBody(ResponseBody):
    """Wraps a body so that waiting longer than ``timeout`` for a chunk fails.

    Args:
        body: The body to wrap; closed when this one is.
        timeout: The longest wait for one chunk, in seconds.
        what: ``"METHOD URL"`` for the error message.
    """

    __slots__ = ("_body", "_timeout", "_what")

    def __init__(self, body: ResponseBody, timeout: float, what: str) -> None:
        self._body = body
        self._timeout = timeout
        self._what = what

    async def __anext__(self) -> bytes:
        with anyio.move_on_after(self._timeout) as scope:
            return await self._body.__anext__()
        if scope.cancelled_caught:
            await self.aclose()
            raise SocketTimeoutException(
                f"{self._what}: socket timeout has expired: no data received for "
                f"{self._timeout}s while reading the response body"
            )
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Close the wrapped body. Idempotent."""
        await self._body.aclose()


def _status(status: int | HttpStatusCode) -> HttpStatusCode:
    if isinstance(status, HttpStatusCode):
        return status
    if not isinstance(status, int) or isinstance(status, bool):
        raise TypeError(f"status must be an int or HttpStatusCode, got {status!r}")
    return HttpStatusCode.from_value(status)


def _headers(headers: HeadersLike | None) -> Headers:
    if headers is None:
        return Headers.EMPTY
    if isinstance(headers, Headers):
        return headers
    return Headers(headers)


def _body(content: Content, chunk_delay: float | None) -> tuple[ResponseBody, int | None]:
    """Return the body for ``content`` and its length when it is known up front."""
    if isinstance(content, str):
        data = content.encode("utf-8")
        return BytesResponseBody(data), len(data)
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        return BytesResponseBody(data), len(data)
    if isinstance(content, AsyncIterable):
        return StreamedResponseBody(content, chunk_delay), None
    if isinstance(content, Sequence):
        chunks: list[bytes] = []
        for index, chunk in enumerate(cast(Sequence[object], content)):
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(
                    f"content[{index}] must be bytes, got {type(chunk).__name__}: {chunk!r:.60}"
                )
            chunks.append(bytes(chunk))
        return StreamedResponseBody(chunks, chunk_delay), sum(len(c) for c in chunks)
    raise TypeError(
        "content must be str, bytes, a list of bytes chunks or an async iterable of bytes, "
        f"got {type(content).__name__}"
    )


def respond(
    content: Content = b"",
    status: int | HttpStatusCode = HttpStatusCode.OK,
    headers: HeadersLike | None = None,
    *,
    version: str = "HTTP/1.1",
    chunk_delay: float | None = None,
) -> HttpResponseData:
    """Build a response for a handler to return (Ktor's ``respond``).

    ``Content-Length`` is added when the length is known (text, bytes, a list of chunks)
    and ``headers`` does not set it or ``Transfer-Encoding``, as a server would.

    Args:
        content: The body: ``str`` (sent as UTF-8), ``bytes``, a list of ``bytes`` chunks
            streamed one by one, or an async iterable of ``bytes`` (read once).
        status: The status code; unknown codes are allowed.
        headers: Response headers.
        version: The protocol version reported: ``"HTTP/1.0"``, ``"HTTP/1.1"``,
            ``"HTTP/2"`` or ``"HTTP/3"``.
        chunk_delay: Seconds to sleep between streamed chunks, to test timeouts and
            progress; only for a list of chunks or an async iterable.

    Returns:
        The response; build a new one for every request.

    Raises:
        TypeError: ``content``, ``status`` or a header has an unsupported type.
        ValueError: ``status`` is outside 100..999, ``version`` is unknown, or
            ``chunk_delay`` is negative.
        InvalidHeaderException: A header name or value is invalid.

    Example::

        engine = MockEngine(lambda request: respond("hi", headers={"Content-Type": "text/plain"}))
    """
    code = _status(status)
    if version not in VERSIONS:
        raise ValueError(f"version must be one of {sorted(VERSIONS)}, got {version!r}")
    if chunk_delay is not None and (
        not isinstance(chunk_delay, int | float) or isinstance(chunk_delay, bool) or chunk_delay < 0
    ):
        raise ValueError(f"chunk_delay must be a non-negative number or None, got {chunk_delay!r}")
    response_headers = _headers(headers)
    body, length = _body(content, chunk_delay)
    if (
        length is not None
        and HttpHeaders.CONTENT_LENGTH not in response_headers
        and HttpHeaders.TRANSFER_ENCODING not in response_headers
    ):
        response_headers = response_headers.with_header(HttpHeaders.CONTENT_LENGTH, length)
    return HttpResponseData(status=code, version=version, headers=response_headers, body=body)


def respond_ok(content: Content = "", headers: HeadersLike | None = None) -> HttpResponseData:
    """Build a ``200 OK`` response.

    Args:
        content: The body (see :func:`respond`).
        headers: Response headers.

    Returns:
        The response.
    """
    return respond(content, HttpStatusCode.OK, headers)


def respond_error(
    status: int | HttpStatusCode = HttpStatusCode.INTERNAL_SERVER_ERROR,
    content: Content = "",
    headers: HeadersLike | None = None,
) -> HttpResponseData:
    """Build an error response, ``500 Internal Server Error`` by default.

    Args:
        status: The status code.
        content: The body (see :func:`respond`).
        headers: Response headers.

    Returns:
        The response.
    """
    return respond(content, status, headers)


def respond_bad_request(
    content: Content = "", headers: HeadersLike | None = None
) -> HttpResponseData:
    """Build a ``400 Bad Request`` response.

    Args:
        content: The body (see :func:`respond`).
        headers: Response headers.

    Returns:
        The response.
    """
    return respond(content, HttpStatusCode.BAD_REQUEST, headers)


def respond_json(
    value: Any,
    status: int | HttpStatusCode = HttpStatusCode.OK,
    headers: HeadersLike | None = None,
) -> HttpResponseData:
    """Build a response whose body is ``value`` as JSON (``application/json``).

    Args:
        value: Anything :func:`json.dumps` accepts.
        status: The status code.
        headers: More response headers; a ``Content-Type`` here wins.

    Returns:
        The response.

    Raises:
        TypeError: ``value`` is not JSON-serializable.
    """
    response_headers = _headers(headers)
    if HttpHeaders.CONTENT_TYPE not in response_headers:
        response_headers = response_headers.with_header(
            HttpHeaders.CONTENT_TYPE, str(ContentType.Application.JSON)
        )
    text = _json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return respond(text, status, response_headers)


def respond_redirect(
    location: str,
    status: int | HttpStatusCode = HttpStatusCode.FOUND,
    headers: HeadersLike | None = None,
) -> HttpResponseData:
    """Build a redirect: ``302 Found`` with a ``Location`` header and no body.

    Args:
        location: Where to go, absolute or relative to the request URL.
        status: The status code (301, 302, 303, 307 or 308).
        headers: More response headers.

    Returns:
        The response.
    """
    response_headers = _headers(headers).with_header(HttpHeaders.LOCATION, location)
    return respond(b"", status, response_headers)
