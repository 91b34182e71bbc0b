"""``Logging``: log requests and responses with the stdlib ``logging`` module (Ktor's ``Logging``).

Bodies are logged without ever consuming, buffering or delaying a stream: they are teed
as the engine (request) or the reader (response) pulls them, and logged when the stream
ends or is closed.
"""

from __future__ import annotations

import codecs
import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from client_core._attributes import AttributeKey
from client_core._content import ByteArrayContent, OutgoingContent
from client_core.http import ContentType, HttpHeaders, HttpMethod
from client_core.plugins._api import HookOrder, PluginBuilder, Proceed, create_client_plugin
from client_core.plugins._progress import ObservedBody, ObservedContent

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = ["DEFAULT_LOGGER_NAME", "LogLevel", "Logging", "LoggingConfig"]

DEFAULT_LOGGER_NAME: Final = "client_core.logging"
"""The logger used unless ``LoggingConfig.logger`` is set."""

SEND_ORDER: Final = 90
"""Requests are logged close to the engine: each redirect hop and retry attempt, after
``HttpSend`` interceptors changed them."""
RESPONSE_ORDER: Final = HookOrder.LAST
"""Responses are logged after ``ContentEncoding`` decoded the body."""

_SENSITIVE: Final = frozenset({"authorization", "cookie", "proxy-authorization", "set-cookie"})
_TEXT_TYPES: Final = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv")
_NO_BODY_STATUSES: Final = frozenset({204, 304})
_ENABLED: Final[AttributeKey[bool]] = AttributeKey("Logging.enabled")

HeaderPredicate = Callable[[str], bool]
RequestFilter = Callable[["HttpRequestBuilder"], bool]


class LogLevel(enum.Enum):
    """What ``Logging`` writes (Ktor's ``LogLevel``)."""

    ALL = (True, True, True)
    """Request and response lines, headers and bodies."""
    HEADERS = (True, True, False)
    """Request and response lines and headers (the default)."""
    BODY = (True, False, True)
    """Request and response lines and bodies."""
    INFO = (True, False, False)
    """Request and response lines: method, URL, status, time."""
    NONE = (False, False, False)
    """Nothing."""

    @property
    def info(self) -> bool:
        """Whether request and response lines are logged."""
        return self.value[0]

    @property
    def headers(self) -> bool:
        """Whether headers are logged."""
        return self.value[1]

    @property
    def body(self) -> bool:
        """Whether bodies are logged."""
        return self.value[2]


def is_sensitive_header(name: str) -> bool:
    """Whether ``name`` is masked by default: Authorization, Cookie and their proxy/Set kin.

    Args:
        name: A header name, any case.

    Returns:
        True for ``Authorization``, ``Cookie``, ``Proxy-Authorization`` and ``Set-Cookie``.
    """
    return name.lower() in _SENSITIVE


@dataclass
class LoggingConfig:
    """Configuration of :data:`Logging`.

    Attributes:
        logger: The ``logging.Logger`` (or ``LoggerAdapter``) to write to; ``None`` (the
            default) uses ``logging.getLogger("client_core.logging")``.
        level: What to log (default :attr:`LogLevel.HEADERS`).
        log_level: The stdlib level of the records (default ``logging.INFO``). Nothing is
            prepared when the logger is not enabled for it.
        filters: Log only requests for which one of these returns true (all when empty);
            add with :meth:`filter`.
        sanitizers: ``(predicate, placeholder)`` pairs: a header whose name matches is
            logged as the placeholder. By default ``Authorization``, ``Cookie``,
            ``Proxy-Authorization`` and ``Set-Cookie`` show ``***``; add with
            :meth:`sanitize_header`, or clear the list to show them.
        body_log_limit: The most bytes of a body written to the log (default 64 KiB); the
            rest is counted, not logged or kept.
    """

    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None
    level: LogLevel = LogLevel.HEADERS
    log_level: int = logging.INFO
    filters: list[RequestFilter] = field(default_factory=list)
    sanitizers: list[tuple[HeaderPredicate, str]] = field(
        default_factory=lambda: [(is_sensitive_header, "***")]
    )
    body_log_limit: int = 64 * 1024

    def filter(self, predicate: RequestFilter) -> RequestFilter:
        """Log only requests matching ``predicate`` (or another filter); a decorator too.

        Args:
            predicate: ``(HttpRequestBuilder) -> bool``.

        Returns:
            ``predicate``.
        """
        self.filters.append(predicate)
        return predicate

    def sanitize_header(self, predicate: HeaderPredicate, placeholder: str = "***") -> None:
        """Log headers whose name matches ``predicate`` as ``placeholder``.

        Args:
            predicate: ``(name) -> bool``; names come as sent or received (any case).
            placeholder: What is logged instead of the value.
        """
        self.sanitizers.append((predicate, placeholder))


class _BodyLog:
    """Keeps the first bytes of a body and counts the rest; writes one record at the end."""

    __slots__ = ("_arrow", "_emit", "_header", "_limit", "_parts", "_size", "_stored", "_type")

    def __init__(
        self,
        arrow: str,
        header: str,
        content_type: str | None,
        limit: int,
        emit: Callable[[str], None],
    ) -> None:
        self._arrow = arrow
        self._header = header
        self._type = content_type
        self._limit = limit
        self._emit = emit
        self._parts: list[bytes] = []
        self._stored = 0
        self._size = 0

    def chunk(self, data: bytes) -> None:
        self._size += len(data)
        room = self._limit - self._stored
        if room > 0:
            piece = data[:room]
            self._parts.append(piece)
            self._stored += len(piece)

    def end(self, complete: bool) -> None:
        data = b"".join(self._parts)
        self._parts = []
        lines = [f"{self._arrow} BODY {self._header}"]
        lines.extend(_render_body(data, self._size, self._type))
        suffix = "" if complete else ", not read to the end"
        lines.append(f"{self._arrow} END BODY ({self._size}-byte body{suffix})")
        self._emit("\n".join(lines))


def _is_text(content_type: str | None) -> tuple[bool, str]:
    """Return whether a media type is text, and its charset."""
    if not content_type:
        return True, "utf-8"
    try:
        parsed = ContentType.parse(content_type)
    except ValueError:
        return True, "utf-8"
    charset = parsed.charset or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        charset = "utf-8"
    if parsed.charset is not None or parsed.content_type == "text":
        return True, charset
    sub = parsed.content_subtype
    return any(t in sub for t in _TEXT_TYPES), charset


def _render_body(data: bytes, size: int, content_type: str | None) -> list[str]:
    if not size:
        return []
    text_type, charset = _is_text(content_type)
    text: str | None = None
    if text_type:
        try:
            text = codecs.getincrementaldecoder(charset)("strict").decode(data, final=False)
        except UnicodeDecodeError:
            text = None
        if text is not None and "\x00" in text:
            text = None
    if text is None:
        return [f"[{size}-byte binary body omitted]"]
    lines = [text]
    if size > len(data):
        lines.append(f"[... {size - len(data)} more bytes not logged]")
    return lines


def _install(plugin: PluginBuilder[LoggingConfig]) -> None:
    config = plugin.config
    level = config.level
    if not isinstance(level, LogLevel):
        raise TypeError(f"Logging level must be a LogLevel, got {level!r}")
    if level is LogLevel.NONE:
        return
    logger = config.logger if config.logger is not None else logging.getLogger(DEFAULT_LOGGER_NAME)
    log_level = config.log_level
    filters = list(config.filters)
    sanitizers = list(config.sanitizers)
    limit = config.body_log_limit
    if not isinstance(limit, int) or limit < 0:
        raise ValueError(f"body_log_limit must be a non-negative int, got {limit!r}")

    def emit(message: str) -> None:
        logger.log(log_level, message)

    def header_lines(pairs: Iterable[tuple[str, str]], prefix: str) -> list[str]:
        lines = []
        for name, value in pairs:
            for predicate, placeholder in sanitizers:
                if predicate(name):
                    value = placeholder
                    break
            lines.append(f"{prefix}{name}: {value}")
        return lines

    async def log_request(request: HttpRequestBuilder, proceed: Proceed) -> HttpResponse:
        if not logger.isEnabledFor(log_level) or (filters and not any(f(request) for f in filters)):
            request.attributes[_ENABLED] = False
            return await proceed(request)
        request.attributes[_ENABLED] = True
        method = request.method
        url = request.build_url().redacted()
        body = request.body
        lines = [f"--> {method} {url}"]
        content_type = request.headers.get(HttpHeaders.CONTENT_TYPE)
        if (
            content_type is None
            and isinstance(body, OutgoingContent)
            and body.content_type is not None
        ):
            content_type = str(body.content_type)
        if level.headers:
            pairs = [
                (k, v)
                for k, v in request.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding")
            ]
            if isinstance(body, OutgoingContent):
                if HttpHeaders.CONTENT_TYPE not in request.headers and content_type is not None:
                    pairs.append((HttpHeaders.CONTENT_TYPE, content_type))
                if body.content_length is not None and body.content_length > 0:
                    pairs.append((HttpHeaders.CONTENT_LENGTH, str(body.content_length)))
            lines.extend(header_lines(pairs, ""))
        wrapped: OutgoingContent | None = None
        length = body.content_length if isinstance(body, OutgoingContent) else None
        if level.body and isinstance(body, OutgoingContent) and length != 0:
            encoded = request.headers.get(HttpHeaders.CONTENT_ENCODING)
            if encoded:
                size = f"{length}-byte" if length is not None else "streamed"
                lines.append(f"[{size} {encoded}-encoded body not logged]")
            elif isinstance(body, ByteArrayContent):
                lines.extend(_render_body(body.data[:limit], len(body.data), content_type))
            else:
                sink = _BodyLog("-->", f"{method} {url}", content_type, limit, emit)
                wrapped = ObservedContent(body, sink.chunk, sink.end)
                lines.append("[streamed body: logged when sent]")
        lines.append(f"--> END {method}")
        emit("\n".join(lines))
        if wrapped is None:
            return await _proceed_logged(request, proceed, url)
        request.body = wrapped
        try:
            return await _proceed_logged(request, proceed, url)
        finally:
            request.body = body

    async def _proceed_logged(
        request: HttpRequestBuilder, proceed: Proceed, url: str
    ) -> HttpResponse:
        try:
            return await proceed(request)
        except Exception as exc:
            emit(f"<-- HTTP FAILED: {request.method} {url}: {type(exc).__name__}: {exc}")
            raise

    async def log_response(response: HttpResponse) -> None:
        request = response.request
        if not request.attributes.get(_ENABLED, False):
            return
        url = request.url.redacted()
        elapsed = max(0.0, response.response_time - response.request_time) * 1000
        lines = [f"<-- {response.status} {request.method} {url} ({elapsed:.0f}ms)"]
        if level.headers:
            lines.extend(header_lines(response.headers.items(), ""))
        has_body = not (
            request.method == HttpMethod.HEAD or response.status.value in _NO_BODY_STATUSES
        )
        if level.body and has_body:
            sink = _BodyLog(
                "<--",
                f"{response.status} {request.method} {url}",
                response.headers.get(HttpHeaders.CONTENT_TYPE),
                limit,
                emit,
            )
            response.wrap_body(lambda inner: ObservedBody(inner, sink.chunk, sink.end))
            lines.append("[body: logged when read]")
        lines.append("<-- END HTTP")
        emit("\n".join(lines))

    plugin.on_send(log_request, order=SEND_ORDER)
    plugin.on_response(log_response, order=RESPONSE_ORDER)


Logging = create_client_plugin("Logging", LoggingConfig, _install)
"""Logs requests and responses (lines, headers, bodies) to a stdlib logger."""
