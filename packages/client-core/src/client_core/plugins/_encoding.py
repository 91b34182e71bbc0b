"""``ContentEncoding``: compressed responses and requests (Ktor's ``ContentEncoding``).

Responses are decoded as they stream, in bounded pieces, with limits on the decoded size
and the compression ratio so that a decompression bomb fails early with a
``ContentDecodingException`` instead of exhausting memory.
"""

from __future__ import annotations

import importlib
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Protocol

import anyio

from client_core._attributes import AttributeKey
from client_core._content import ByteArrayContent, OutgoingContent
from client_core.engine import ResponseBody
from client_core.errors import ContentDecodingException
from client_core.http import HttpHeaders, HttpMethod
from client_core.plugins._api import PluginBuilder, Proceed, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = [
    "CompressedContent",
    "ContentEncoding",
    "ContentEncodingConfig",
    "DecodingBody",
    "compress",
]

DECODE_ORDER: Final = 30
"""Response decoding wraps the body after BodyProgress (20) and before Logging."""
COMPRESS_ORDER: Final = 5
"""Request compression runs once per call, before HttpRedirect and HttpRequestRetry."""

PIECE: Final = 64 * 1024
"""The most decoded bytes produced at a time."""
WIRE_PIECE: Final = 16 * 1024
"""The most encoded bytes decoded at a time: the ratio limit counts what was fed so far,
so a large piece from the engine is fed in slices (the limit does not depend on how the
engine cuts the body)."""
RATIO_FLOOR: Final = 1024 * 1024
"""The ratio limit applies once a body decoded to more than this many bytes."""
ZSTD_MAX_WINDOW: Final = 8 * 1024 * 1024
"""The largest zstd window accepted (RFC 9659: 8 MiB for HTTP content coding)."""
_THREAD_THRESHOLD: Final = 256 * 1024
_EXTRAS: Final = {"br": ("brotli", "brotli"), "zstd": ("zstandard", "zstd")}
_KNOWN: Final = ("gzip", "deflate", "br", "zstd")
_ALIASES: Final = {"x-gzip": "gzip"}
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_COMPRESS: Final[AttributeKey[tuple[str, ...]]] = AttributeKey("ContentEncoding.compress")


def _module(encoding: str) -> Any | None:
    """Return the module an encoding needs (``None`` for zlib-based ones), importing it.

    Raises:
        ImportError: The optional module is not installed.
    """
    extra = _EXTRAS.get(encoding)
    if extra is None:
        return None
    module, name = extra
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"the {encoding!r} content encoding needs the {module!r} module: "
            f"pip install 'client-core[{name}]'"
        ) from exc


def _available(encoding: str) -> bool:
    try:
        _module(encoding)
    except ImportError:
        return False
    return True


# -- decoders -------------------------------------------------------------------------------


class _Decoder(Protocol):
    errors: tuple[type[Exception], ...]

    def decode(self, data: bytes) -> Iterator[bytes]: ...
    def finish(self) -> Iterator[bytes]: ...


class _Truncated(Exception):
    pass


class _LimitReached(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


class _ZlibDecoder:
    """gzip (also multi-member and zlib-wrapped) and deflate (zlib-wrapped or raw)."""

    errors: tuple[type[Exception], ...] = (zlib.error,)

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._wbits = zlib.MAX_WBITS | 32 if gzip else zlib.MAX_WBITS
        self._obj = zlib.decompressobj(self._wbits)
        self._head: bytes | None = None if gzip else b""
        self._trailing = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        head = self._head
        if head is not None:
            # "deflate" should be zlib-wrapped (RFC 9110) but many servers send it raw:
            # tell them apart by the zlib header, once its two bytes are here.
            data = head + data
            if len(data) < 2:
                self._head = data
                return
            self._head = None
            if data[0] & 0x0F != 8 or (data[0] << 8 | data[1]) % 31:
                self._wbits = -zlib.MAX_WBITS
                self._obj = zlib.decompressobj(self._wbits)
        yield from self._run(data)

    def _run(self, data: bytes) -> Iterator[bytes]:
        while not self._trailing:
            obj = self._obj
            if obj.eof:
                data = obj.unused_data + data
                if not data:
                    return
                if not (self._gzip and data.startswith(b"\x1f\x8b")):
                    self._trailing = True  # bytes after the stream are ignored
                    return
                obj = self._obj = zlib.decompressobj(self._wbits)  # the next gzip member
            out = obj.decompress(data, PIECE)
            data = obj.unconsumed_tail
            if out:
                yield out
            if not data and len(out) < PIECE and not obj.eof:
                return

    def finish(self) -> Iterator[bytes]:
        if self._head:
            raise _Truncated
        yield from self._run(b"")
        if not self._obj.eof:
            raise _Truncated


class _BrotliDecoder:
    def __init__(self, module: Any) -> None:
        self.errors: tuple[type[Exception], ...] = (module.error,)
        self._obj = module.Decompressor()
        self._limited = True

    def _process(self, data: bytes) -> bytes:
        if self._limited:
            try:
                return bytes(self._obj.process(data, output_buffer_limit=PIECE))
            except TypeError:  # brotli < 1.2 has no output limit
                self._limited = False
        return bytes(self._obj.process(data))

    def decode(self, data: bytes) -> Iterator[bytes]:
        out = self._process(data)
        if out:
            yield out
        # With an output limit, more output may be pending: drain it (empty input) until
        # the decoder asks for more input or the stream ends.
        while self._limited and not self._obj.is_finished():
            out = self._process(b"")
            if not out:
                break
            yield out

    def finish(self) -> Iterator[bytes]:
        yield from self.decode(b"")
        if not self._obj.is_finished():
            raise _Truncated


class _Sink:
    """Collects what zstd writes; stops it once the caller's allowance is exhausted."""

    def __init__(self, allowance: Callable[[], int | None]) -> None:
        self.parts: list[bytes] = []
        self.size = 0
        self._allowance = allowance

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        allowed = self._allowance()
        if allowed is not None and self.size > allowed:
            raise _LimitReached(self.size)
        return len(data)

    def take(self) -> Iterator[bytes]:
        parts, self.parts, self.size = self.parts, [], 0
        yield from parts


class _ZstdDecoder:
    def __init__(self, module: Any, allowance: Callable[[], int | None]) -> None:
        self.errors: tuple[type[Exception], ...] = (module.ZstdError,)
        self._sink = _Sink(allowance)
        decompressor = module.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
        self._writer = decompressor.stream_writer(self._sink, write_size=PIECE)

    def decode(self, data: bytes) -> Iterator[bytes]:
        self._writer.write(data)
        yield from self._sink.take()

    def finish(self) -> Iterator[bytes]:
        self._writer.flush()
        yield from self._sink.take()


class DecodingBody(ResponseBody):
    """A response body decoded as it streams, within size and ratio limits.

    Args:
        inner: The encoded body; closed when this one is.
        encoding: The content coding (``gzip``, ``deflate``, ``br``, ``zstd``).
        what: ``"METHOD URL"`` for error messages.
        max_decoded_size: Fail beyond this many decoded bytes (``None``: no limit).
        max_ratio: Fail when decoded/encoded exceeds this, once past ``RATIO_FLOOR``
            decoded bytes (``None``: no limit).
    """

    __slots__ = (
        "_decoder",
        "_done",
        "_encoding",
        "_eof",
        "_inner",
        "_max_ratio",
        "_max_size",
        "_out",
        "_pending",
        "_rest",
        "_what",
        "_wire",
    )

    def __init__(
        self,
        inner: ResponseBody,
        encoding: str,
        what: str,
        *,
        max_decoded_size: int | None,
        max_ratio: float | None,
    ) -> None:
        self._inner = inner
        self._encoding = encoding
        self._what = what
        self._max_size = max_decoded_size
        self._max_ratio = max_ratio
        self._decoder: _Decoder | None = None
        self._pending: Iterator[bytes] | None = None
        self._rest: memoryview | None = None  # what is left of a large encoded piece
        self._wire = 0
        self._out = 0
        self._eof = False
        self._done = False

    def _make_decoder(self) -> _Decoder:
        encoding = self._encoding
        if encoding == "gzip":
            return _ZlibDecoder(gzip=True)
        if encoding == "deflate":
            return _ZlibDecoder(gzip=False)
        if encoding not in _EXTRAS:
            raise ContentDecodingException(
                f"{self._what}: the response has Content-Encoding {encoding!r}, which "
                f"ContentEncoding cannot decode (supported: {', '.join(_KNOWN)})"
            )
        try:
            module = _module(encoding)
        except ImportError as exc:
            raise ContentDecodingException(f"{self._what}: the server sent {exc}") from exc
        if encoding == "br":
            return _BrotliDecoder(module)
        return _ZstdDecoder(module, self._allowance)

    def _allowance(self) -> int | None:
        limits: list[int] = []
        if self._max_size is not None:
            limits.append(self._max_size - self._out)
        if self._max_ratio is not None:
            limits.append(max(RATIO_FLOOR, int(self._max_ratio * self._wire)) - self._out)
        return min(limits) if limits else None

    def _limit_error(self, size: int) -> ContentDecodingException:
        if self._max_size is not None and size > self._max_size:
            reason = f"more than max_decoded_size={self._max_size} bytes"
        else:
            reason = (
                f"more than {size} bytes from {self._wire} encoded bytes, beyond "
                f"max_ratio={self._max_ratio}"
            )
        return ContentDecodingException(
            f"{self._what}: the {self._encoding}-encoded response body decodes to {reason} "
            "(a decompression bomb?); raise the limit in ContentEncoding's configuration if "
            "this body is expected"
        )

    def _check(self, piece: bytes) -> None:
        size = self._out + len(piece)
        if (self._max_size is not None and size > self._max_size) or (
            self._max_ratio is not None
            and size > RATIO_FLOOR
            and size > self._max_ratio * max(self._wire, 1)
        ):
            raise self._limit_error(size)
        self._out = size

    async def __anext__(self) -> bytes:
        try:
            return await self._next()
        except ContentDecodingException:
            await self.aclose()
            raise
        except _LimitReached as exc:
            await self.aclose()
            raise self._limit_error(self._out + exc.size) from None
        except _Truncated:
            await self.aclose()
            raise ContentDecodingException(
                f"{self._what}: the {self._encoding}-encoded response body ended before the "
                "end of its compressed stream (truncated)"
            ) from None
        except Exception as exc:
            decoder = self._decoder
            if decoder is None or not isinstance(exc, decoder.errors):
                raise
            await self.aclose()
            raise ContentDecodingException(
                f"{self._what}: the response body is not valid {self._encoding} "
                f"({type(exc).__name__}: {exc})"
            ) from exc

    async def _next(self) -> bytes:
        while True:
            pending = self._pending
            if pending is not None:
                piece = next(pending, None)
                if piece is not None:
                    if piece:
                        self._check(piece)
                        return piece
                    continue
                self._pending = None
            if self._done:
                raise StopAsyncIteration
            rest = self._rest
            if rest is not None:
                chunk = bytes(rest[:WIRE_PIECE])
                self._rest = rest[WIRE_PIECE:] if len(rest) > WIRE_PIECE else None
            else:
                if self._eof:
                    self._done = True
                    if self._decoder is not None:
                        self._pending = self._decoder.finish()
                    continue
                try:
                    chunk = await self._inner.__anext__()
                except StopAsyncIteration:
                    self._eof = True
                    continue
                if not chunk:
                    continue
                if len(chunk) > WIRE_PIECE:
                    self._rest = memoryview(chunk)[WIRE_PIECE:]
                    chunk = chunk[:WIRE_PIECE]
            decoder = self._decoder
            if decoder is None:
                decoder = self._decoder = self._make_decoder()
            self._wire += len(chunk)
            self._pending = decoder.decode(chunk)

    async def aclose(self) -> None:
        """Close the encoded body. Idempotent."""
        self._done = True
        self._pending = None
        self._rest = None
        await self._inner.aclose()


# -- encoders -------------------------------------------------------------------------------


class _Encoder(Protocol):
    def compress(self, data: bytes) -> bytes: ...
    def finish(self) -> bytes: ...


class _ZlibEncoder:
    def __init__(self, gzip: bool) -> None:
        self._obj = zlib.compressobj(6, zlib.DEFLATED, 31 if gzip else zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._obj.compress(data)

    def finish(self) -> bytes:
        return self._obj.flush()


class _BrotliEncoder:
    def __init__(self, module: Any) -> None:
        self._obj = module.Compressor(quality=5)

    def compress(self, data: bytes) -> bytes:
        return bytes(self._obj.process(data))

    def finish(self) -> bytes:
        return bytes(self._obj.finish())


class _ZstdEncoder:
    def __init__(self, module: Any) -> None:
        self._obj = module.ZstdCompressor(level=3).compressobj()

    def compress(self, data: bytes) -> bytes:
        return bytes(self._obj.compress(data))

    def finish(self) -> bytes:
        return bytes(self._obj.flush())


def _encoder(encoding: str) -> _Encoder:
    module = _module(encoding)
    if encoding == "gzip":
        return _ZlibEncoder(gzip=True)
    if encoding == "deflate":
        return _ZlibEncoder(gzip=False)
    if encoding == "br":
        return _BrotliEncoder(module)
    return _ZstdEncoder(module)


def _compress_all(data: bytes, encodings: tuple[str, ...]) -> bytes:
    for encoding in encodings:
        encoder = _encoder(encoding)
        data = encoder.compress(data) + encoder.finish()
    return data


class _CompressingStream:
    """Compresses a body as the engine pulls it."""

    __slots__ = ("_done", "_encoders", "_it", "_source")

    def __init__(self, source: bytes | AsyncIterable[bytes], encodings: tuple[str, ...]) -> None:
        self._source: bytes | AsyncIterable[bytes] | None = source
        self._encoders = [_encoder(e) for e in encodings]
        self._it: AsyncIterator[bytes] | None = None
        self._done = False

    def __aiter__(self) -> _CompressingStream:
        return self

    def _through(self, data: bytes, final: bool) -> bytes:
        for encoder in self._encoders:
            data = encoder.compress(data) + (encoder.finish() if final else b"")
        return data

    async def _pull(self) -> bytes | None:
        source = self._source
        if isinstance(source, bytes):
            self._source = None
            return source
        if source is not None:
            self._it = source.__aiter__()
            self._source = None
        if self._it is None:
            return None
        try:
            return await self._it.__anext__()
        except StopAsyncIteration:
            return None

    async def __anext__(self) -> bytes:
        while not self._done:
            chunk = await self._pull()
            if chunk is None:
                self._done = True
                out = self._through(b"", final=True)
            else:
                out = self._through(chunk, final=False)
            if out:
                return out
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Close the source stream when it can be closed."""
        self._done = True
        close = getattr(self._it, "aclose", None)
        if close is not None:
            await close()


class CompressedContent(OutgoingContent):
    """A request body compressed as it is sent; resendable when the wrapped body is.

    Args:
        inner: The body to compress.
        encodings: The codings, applied in order.
    """

    __slots__ = ("encodings", "inner")

    def __init__(self, inner: OutgoingContent, encodings: tuple[str, ...]) -> None:
        super().__init__(inner.content_type, None)
        self.inner = inner
        self.encodings = encodings

    @property
    def is_one_shot(self) -> bool:
        """Whether the wrapped body can be sent only once."""
        return self.inner.is_one_shot

    @property
    def started(self) -> bool:
        """Whether a one-shot wrapped body was already taken by an engine."""
        return bool(getattr(self.inner, "started", False))

    def wire_body(self) -> AsyncIterable[bytes]:
        """Return a stream compressing the wrapped body."""
        return _CompressingStream(self.inner.wire_body(), self.encodings)


# -- the plugin -----------------------------------------------------------------------------


def _normalize(name: str) -> str:
    name = name.strip().lower()
    return _ALIASES.get(name, name)


def _check_quality(quality: float | None) -> float | None:
    if quality is not None and (
        not isinstance(quality, int | float) or isinstance(quality, bool) or not 0 <= quality <= 1
    ):
        raise ValueError(f"quality must be within 0..1 or None, got {quality!r}")
    return quality


@dataclass
class ContentEncodingConfig:
    """Configuration of :data:`ContentEncoding`.

    Attributes:
        encodings: The codings advertised in ``Accept-Encoding`` with their quality
            (``None``: no ``q``). Empty (the default) advertises ``gzip``, ``deflate``, and
            ``br`` and ``zstd`` when their modules are installed. Add entries with
            :meth:`gzip`, :meth:`deflate`, :meth:`br`, :meth:`zstd`, :meth:`identity`.
        decompress_responses: Send ``Accept-Encoding`` and decode responses by their
            ``Content-Encoding`` (default ``True``). Codings are decoded whether or not
            they were advertised; one this client cannot decode fails with
            ``ContentDecodingException`` when the body is read.
        compress_requests: Compress every request body with these codings, e.g.
            ``"gzip"`` (default ``None``: only requests that call :func:`compress`).
        max_decoded_size: Fail a response body that decodes to more than this many bytes
            (default ``None``: no limit besides ``HttpClientConfig.body_limit``).
        max_ratio: Fail a response body whose decoded size exceeds this many times its
            encoded size, once it decoded to more than 1 MiB (default 200.0; ``None``: no
            limit).
    """

    encodings: dict[str, float | None] = field(default_factory=dict)
    decompress_responses: bool = True
    compress_requests: str | tuple[str, ...] | None = None
    max_decoded_size: int | None = None
    max_ratio: float | None = 200.0

    def _add(self, encoding: str, quality: float | None) -> None:
        _module(encoding)
        self.encodings[encoding] = _check_quality(quality)

    def gzip(self, quality: float | None = None) -> None:
        """Advertise gzip.

        Args:
            quality: Its ``q`` value, 0..1, or ``None``.
        """
        self._add("gzip", quality)

    def deflate(self, quality: float | None = None) -> None:
        """Advertise deflate.

        Args:
            quality: Its ``q`` value, 0..1, or ``None``.
        """
        self._add("deflate", quality)

    def br(self, quality: float | None = None) -> None:
        """Advertise brotli (needs ``pip install 'client-core[brotli]'``).

        Args:
            quality: Its ``q`` value, 0..1, or ``None``.

        Raises:
            ImportError: ``brotli`` is not installed.
        """
        self._add("br", quality)

    def zstd(self, quality: float | None = None) -> None:
        """Advertise zstd (needs ``pip install 'client-core[zstd]'``).

        Args:
            quality: Its ``q`` value, 0..1, or ``None``.

        Raises:
            ImportError: ``zstandard`` is not installed.
        """
        self._add("zstd", quality)

    def identity(self, quality: float | None = None) -> None:
        """Advertise identity (no coding).

        Args:
            quality: Its ``q`` value, 0..1, or ``None``.
        """
        self.encodings["identity"] = _check_quality(quality)


def compress(request: HttpRequestBuilder, *encodings: str) -> None:
    """Compress this request's body with ``encodings``, applied in order (Ktor's ``compress``).

    Sets ``Content-Encoding``. A body with a ``Content-Encoding`` already, or an empty one,
    is left alone. Needs ``ContentEncoding`` installed::

        await client.post(url, lambda req: compress(req, "gzip"), body=data)

    Args:
        request: The request builder.
        *encodings: ``"gzip"``, ``"deflate"``, ``"br"`` or ``"zstd"`` (default gzip).

    Raises:
        ValueError: An unknown coding.
        ImportError: A coding whose optional module is not installed.
    """
    request.attributes[_COMPRESS] = _check_encodings(encodings or ("gzip",))


def _check_encodings(encodings: tuple[str, ...]) -> tuple[str, ...]:
    names = tuple(_normalize(e) for e in encodings)
    for name in names:
        if name not in _KNOWN:
            raise ValueError(f"cannot compress with {name!r}; choose from {', '.join(_KNOWN)}")
        _module(name)
    return names


def _accept_encoding(encodings: dict[str, float | None]) -> str:
    if not encodings:
        return ", ".join(e for e in _KNOWN if _available(e))
    return ", ".join(
        name if q is None else f"{name};q={round(q, 3)}" for name, q in encodings.items()
    )


def _content_codings(response: HttpResponse) -> list[str]:
    codings: list[str] = []
    for value in response.headers.get_all(HttpHeaders.CONTENT_ENCODING):
        codings.extend(_normalize(part) for part in value.split(","))
    return [c for c in codings if c and c != "identity"]


def _install(plugin: PluginBuilder[ContentEncodingConfig]) -> None:
    config = plugin.config
    accept = _accept_encoding(config.encodings)
    always = config.compress_requests
    default_codings: tuple[str, ...] | None = None
    if always:
        default_codings = _check_encodings((always,) if isinstance(always, str) else always)
    max_size, max_ratio = config.max_decoded_size, config.max_ratio
    if max_size is not None and (not isinstance(max_size, int) or max_size < 0):
        raise ValueError(f"max_decoded_size must be a non-negative int or None, got {max_size!r}")
    if max_ratio is not None and (not isinstance(max_ratio, int | float) or max_ratio < 1):
        raise ValueError(f"max_ratio must be a number >= 1 or None, got {max_ratio!r}")

    if config.decompress_responses:

        @plugin.on_request
        async def accept_encoding(request: HttpRequestBuilder, content: Any) -> None:
            if HttpHeaders.ACCEPT_ENCODING not in request.headers:
                request.headers.set(HttpHeaders.ACCEPT_ENCODING, accept)

        async def decode(response: HttpResponse) -> None:
            if response.request.method == HttpMethod.HEAD or (
                response.status.value in _NO_BODY_STATUSES
            ):
                return
            codings = _content_codings(response)
            if not codings:
                return
            what = f"{response.request.method} {response.request.url.redacted()}"
            for coding in reversed(codings):
                response.wrap_body(_decoding(coding, what, max_size, max_ratio))

        plugin.on_response(decode, order=DECODE_ORDER)

    async def compress_body(request: HttpRequestBuilder, proceed: Proceed) -> HttpResponse:
        codings = request.attributes.get(_COMPRESS, default_codings)
        body = request.body
        if (
            codings
            and isinstance(body, OutgoingContent)
            and body.content_length != 0
            and HttpHeaders.CONTENT_ENCODING not in request.headers
        ):
            request.body = await _compressed(body, codings)
            request.headers.set(HttpHeaders.CONTENT_ENCODING, ", ".join(codings))
        return await proceed(request)

    plugin.on_send(compress_body, order=COMPRESS_ORDER)


def _decoding(
    coding: str, what: str, max_size: int | None, max_ratio: float | None
) -> Callable[[ResponseBody], ResponseBody]:
    def wrap(body: ResponseBody) -> ResponseBody:
        return DecodingBody(body, coding, what, max_decoded_size=max_size, max_ratio=max_ratio)

    return wrap


async def _compressed(body: OutgoingContent, codings: tuple[str, ...]) -> OutgoingContent:
    if isinstance(body, ByteArrayContent):
        data = body.data
        if len(data) >= _THREAD_THRESHOLD:
            data = await anyio.to_thread.run_sync(_compress_all, data, codings)
        else:
            data = _compress_all(data, codings)
        return ByteArrayContent(data, body.content_type)
    return CompressedContent(body, codings)


ContentEncoding = create_client_plugin("ContentEncoding", ContentEncodingConfig, _install)
"""Decodes gzip, deflate, br and zstd responses; compresses request bodies on demand."""
