"""``BodyProgress``: upload and download progress callbacks (Ktor's ``onUpload``/``onDownload``).

Also home of the two body observers other plugins reuse (``Logging`` tees bodies with them):
:class:`ObservedContent` for request bodies and :class:`ObservedBody` for response bodies.
Both pass every chunk through unchanged, as the engine or the reader pulls it; they never
read ahead, buffer, or consume a stream on their own.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from client_core._attributes import AttributeKey
from client_core._content import OutgoingContent
from client_core.engine import ResponseBody
from client_core.http import HttpHeaders, HttpMethod
from client_core.plugins._api import HookOrder, PluginBuilder, Proceed, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = [
    "BodyProgress",
    "BodyProgressConfig",
    "ObservedBody",
    "ObservedContent",
    "ProgressListener",
    "on_download",
    "on_upload",
]

ProgressListener = Callable[[int, "int | None"], "Awaitable[None] | None"]
"""``(bytes_so_far, total_or_None)``, sync or async."""

ChunkObserver = Callable[[bytes], "Awaitable[None] | None"]
EndObserver = Callable[[bool], None]

UPLOAD_ORDER: Final = HookOrder.LAST
"""Upload observation wraps the body last, closest to the engine (after compression)."""
DOWNLOAD_ORDER: Final = 20
"""Download observation wraps the raw body first (before ContentEncoding decodes it)."""

_PIECE: Final = 64 * 1024
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_UPLOAD: Final[AttributeKey[ProgressListener | None]] = AttributeKey("BodyProgress.upload")
_DOWNLOAD: Final[AttributeKey[ProgressListener | None]] = AttributeKey("BodyProgress.download")


class _ObservedStream:
    """An async byte stream over bytes or another stream that reports each chunk."""

    __slots__ = ("_data", "_ended", "_it", "_on_chunk", "_on_end", "_source")

    def __init__(
        self,
        source: bytes | AsyncIterable[bytes],
        on_chunk: ChunkObserver | None,
        on_end: EndObserver | None,
    ) -> None:
        self._source = source
        self._data = memoryview(source) if isinstance(source, bytes) else None
        self._it: AsyncIterator[bytes] | None = None
        self._on_chunk = on_chunk
        self._on_end = on_end
        self._ended = False

    def __aiter__(self) -> _ObservedStream:
        return self

    async def __anext__(self) -> bytes:
        data = self._data
        if data is not None:
            if not data:
                self._end(True)
                raise StopAsyncIteration
            chunk = bytes(data[:_PIECE])
            self._data = data[_PIECE:]
        else:
            it = self._it
            if it is None:
                source = self._source
                assert not isinstance(source, bytes)
                it = self._it = source.__aiter__()
            try:
                chunk = await it.__anext__()
            except StopAsyncIteration:
                self._end(True)
                raise
            except BaseException:
                self._end(False)
                raise
        if self._on_chunk is not None:
            result = self._on_chunk(chunk)
            if result is not None:
                await result
        return chunk

    def _end(self, complete: bool) -> None:
        if not self._ended:
            self._ended = True
            if self._on_end is not None:
                self._on_end(complete)

    async def aclose(self) -> None:
        """Close the source stream when it can be closed. Idempotent."""
        self._end(False)
        target: object = self._it
        if target is None and not isinstance(self._source, bytes):
            target = self._source  # closed before the first read
        close = getattr(target, "aclose", None)
        if close is not None:
            await close()


class ObservedContent(OutgoingContent):
    """A request body that reports each chunk as the engine pulls it.

    The wrapped body is sent unchanged; a body in memory is handed to the engine in
    64 KiB pieces so that its progress can be observed. Resending it (a redirect or a
    retry) is possible exactly when the wrapped body allows it.

    Args:
        inner: The rendered body.
        on_chunk: Called (sync or async) with each chunk before the engine gets it.
        on_end: Called once with ``True`` when the body was sent to its end, ``False``
            when its stream failed or was closed early.
    """

    __slots__ = ("_on_chunk", "_on_end", "inner")

    def __init__(
        self,
        inner: OutgoingContent,
        on_chunk: ChunkObserver | None = None,
        on_end: EndObserver | None = None,
    ) -> None:
        super().__init__(inner.content_type, inner.content_length)
        self.inner = inner
        self._on_chunk = on_chunk
        self._on_end = on_end

    @property
    def is_one_shot(self) -> bool:
        """Whether the wrapped body can be sent only once."""
        return self.inner.is_one_shot

    @property
    def started(self) -> bool:
        """Whether a one-shot wrapped body was already taken by an engine."""
        return bool(getattr(self.inner, "started", False))

    def wire_body(self) -> AsyncIterable[bytes]:
        """Return the observed stream of the wrapped body.

        Raises:
            RequestBodyReplayException: The wrapped one-shot body was already sent.
        """
        return _ObservedStream(self.inner.wire_body(), self._on_chunk, self._on_end)


class ObservedBody(ResponseBody):
    """A response body that reports each chunk as the reader pulls it.

    Args:
        inner: The body to observe; closed when this one is.
        on_chunk: Called (sync or async) with each chunk before the reader gets it.
        on_end: Called once with ``True`` at the end of the body, ``False`` when the body
            failed or was closed before its end.
    """

    __slots__ = ("_stream",)

    def __init__(
        self,
        inner: ResponseBody,
        on_chunk: ChunkObserver | None = None,
        on_end: EndObserver | None = None,
    ) -> None:
        self._stream = _ObservedStream(inner, on_chunk, on_end)

    async def __anext__(self) -> bytes:
        return await self._stream.__anext__()

    async def aclose(self) -> None:
        """Close the wrapped body. Idempotent."""
        await self._stream.aclose()


class _Counter:
    """Turns chunks into ``listener(bytes_so_far, total)`` calls."""

    __slots__ = ("listener", "sent", "total")

    def __init__(self, listener: ProgressListener, total: int | None) -> None:
        self.listener = listener
        self.total = total
        self.sent = 0

    def __call__(self, chunk: bytes) -> Awaitable[None] | None:
        self.sent += len(chunk)
        result = self.listener(self.sent, self.total)
        return result if inspect.isawaitable(result) else None


@dataclass
class BodyProgressConfig:
    """Configuration of :data:`BodyProgress`: listeners for every request of the client.

    A request's own listener (:func:`on_upload`, :func:`on_download`) replaces the
    client's for that request.

    Attributes:
        on_upload: ``(bytes_sent, total_or_None)`` while request bodies are sent, or
            ``None``.
        on_download: ``(bytes_received, total_or_None)`` while response bodies are read,
            or ``None``.
    """

    on_upload: ProgressListener | None = None
    on_download: ProgressListener | None = None


def on_upload(request: HttpRequestBuilder, listener: ProgressListener | None) -> None:
    """Report the progress of sending this request's body (Ktor's ``onUpload``).

    ``listener(bytes_sent, total)`` is called (sync or async) each time the engine takes
    a chunk; ``total`` is the body's length, or ``None`` for a stream of unknown length.
    Needs ``BodyProgress`` installed.

    Args:
        request: The request builder.
        listener: The listener, or ``None`` for none on this request (not even the
            client's).
    """
    request.attributes[_UPLOAD] = listener


def on_download(request: HttpRequestBuilder, listener: ProgressListener | None) -> None:
    """Report the progress of receiving this request's response body (``onDownload``).

    ``listener(bytes_received, total)`` is called (sync or async) for each chunk read,
    as the body is read: while the call reads it for ``client.get(...)``, or as you
    iterate ``body_as_channel()`` inside ``client.stream(...)``. Bytes are counted as they
    arrive on the wire, before ``ContentEncoding`` decodes them; ``total`` is the
    ``Content-Length``, or ``None``. Needs ``BodyProgress`` installed.

    Args:
        request: The request builder.
        listener: The listener, or ``None`` for none on this request (not even the
            client's).
    """
    request.attributes[_DOWNLOAD] = listener


def _content_length(response: HttpResponse) -> int | None:
    value = response.headers.get(HttpHeaders.CONTENT_LENGTH)
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def _install(plugin: PluginBuilder[BodyProgressConfig]) -> None:
    config = plugin.config

    async def observe_upload(request: HttpRequestBuilder, proceed: Proceed) -> HttpResponse:
        listener = request.attributes.get(_UPLOAD, config.on_upload)
        body = request.body
        if listener is None or not isinstance(body, OutgoingContent) or body.content_length == 0:
            return await proceed(request)
        request.body = ObservedContent(body, _Counter(listener, body.content_length))
        try:
            return await proceed(request)
        finally:
            request.body = body

    async def observe_download(response: HttpResponse) -> None:
        listener = response.request.attributes.get(_DOWNLOAD, config.on_download)
        if (
            listener is None
            or response.request.method == HttpMethod.HEAD
            or response.status.value in _NO_BODY_STATUSES
        ):
            return
        counter = _Counter(listener, _content_length(response))
        response.wrap_body(lambda body: ObservedBody(body, counter))

    plugin.on_send(observe_upload, order=UPLOAD_ORDER)
    plugin.on_response(observe_download, order=DOWNLOAD_ORDER)


BodyProgress = create_client_plugin("BodyProgress", BodyProgressConfig, _install)
"""Calls progress listeners while request and response bodies move (wire bytes)."""
