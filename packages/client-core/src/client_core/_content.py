"""Request bodies as the pipeline renders them (Ktor's ``OutgoingContent``)."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
from typing import Any

from client_core.errors import RequestBodyReplayException
from client_core.http import ContentType

__all__ = [
    "ByteArrayContent",
    "EmptyContent",
    "FormDataContent",
    "OutgoingContent",
    "StreamContent",
    "TextContent",
]


class OutgoingContent:
    """Base of rendered request bodies.

    Attributes:
        content_type: The body's media type, sent as ``Content-Type`` unless the request
            sets one.
        content_length: The body's length in bytes, when known.
    """

    __slots__ = ("content_length", "content_type")

    def __init__(
        self, content_type: ContentType | None = None, content_length: int | None = None
    ) -> None:
        self.content_type = content_type
        self.content_length = content_length

    @property
    def is_one_shot(self) -> bool:
        """True when the body can be sent only once (a stream)."""
        return False

    def wire_body(self) -> bytes | AsyncIterable[bytes]:
        """What the engine sends: bytes, or an async byte stream.

        Raises:
            RequestBodyReplayException: A one-shot stream was already sent.
        """
        return b""


class EmptyContent(OutgoingContent):
    """No body."""

    __slots__ = ()

    def __init__(self) -> None:
        self.content_type = None
        self.content_length = 0


class ByteArrayContent(OutgoingContent):
    """A body in memory.

    Args:
        data: The bytes.
        content_type: Optional media type.
    """

    __slots__ = ("data",)

    def __init__(self, data: bytes, content_type: ContentType | None = None) -> None:
        super().__init__(content_type, len(data))
        self.data = data

    def wire_body(self) -> bytes:
        """Return the bytes."""
        return self.data


class TextContent(ByteArrayContent):
    """Text encoded with the charset of its content type (UTF-8 when it names none).

    Args:
        text: The text.
        content_type: The media type; ``text/plain; charset=UTF-8`` by default.
    """

    __slots__ = ("text",)

    def __init__(self, text: str, content_type: ContentType | None = None) -> None:
        if content_type is None:
            content_type = ContentType.Text.PLAIN.with_charset("UTF-8")
        charset = content_type.charset
        if charset is None and content_type.content_type == "text":
            content_type = content_type.with_charset("UTF-8")
        super().__init__(text.encode(charset or "utf-8"), content_type)
        self.text = text


class FormDataContent(ByteArrayContent):
    """An ``application/x-www-form-urlencoded`` form.

    Args:
        fields: A mapping or (name, value) pairs; lists in a mapping repeat the field.
    """

    __slots__ = ()

    def __init__(self, fields: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> None:
        pairs: list[tuple[str, str]] = []
        items = fields.items() if isinstance(fields, Mapping) else fields
        for name, value in items:
            values = value if isinstance(value, list | tuple) else [value]
            pairs.extend((str(name), _form_value(v)) for v in values)
        data = urllib.parse.urlencode(pairs).encode("ascii")
        super().__init__(data, ContentType.Application.FORM_URL_ENCODED)


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class StreamContent(OutgoingContent):
    """A body streamed from an async iterable of bytes; it can be sent once.

    Args:
        stream: The chunks (``bytes``, ``bytearray`` or ``memoryview``).
        content_type: Optional media type.
        content_length: The total length when known (sent as ``Content-Length``; chunked
            transfer coding otherwise).
    """

    __slots__ = ("_started", "stream")

    def __init__(
        self,
        stream: AsyncIterable[bytes],
        content_type: ContentType | None = None,
        content_length: int | None = None,
    ) -> None:
        super().__init__(content_type, content_length)
        self.stream = stream
        self._started = False

    @property
    def is_one_shot(self) -> bool:
        """Always true."""
        return True

    @property
    def started(self) -> bool:
        """True once an engine began reading the stream."""
        return self._started

    def wire_body(self) -> AsyncIterable[bytes]:
        """Return the stream, marking it as taken.

        Raises:
            RequestBodyReplayException: It was already sent once.
        """
        if self._started:
            raise RequestBodyReplayException(
                "the request body is a one-shot stream that was already sent; "
                "it cannot be sent again (pass bytes to allow resending)"
            )
        self._started = True
        return _ChunkIterator(self.stream.__aiter__())


class _ChunkIterator:
    """Skips empty chunks and turns buffers into bytes.

    A class rather than an async generator, so an abandoned stream needs no finalization.
    """

    __slots__ = ("_it",)

    def __init__(self, it: AsyncIterator[Any]) -> None:
        self._it = it

    def __aiter__(self) -> _ChunkIterator:
        return self

    async def __anext__(self) -> bytes:
        while True:
            chunk = await self._it.__anext__()
            if chunk:
                return chunk if type(chunk) is bytes else bytes(chunk)

    async def aclose(self) -> None:
        """Close the user's iterator (an async generator must not be left to the GC)."""
        close = getattr(self._it, "aclose", None)
        if close is not None:
            await close()
