"""The mutable request builder (Ktor's ``HttpRequestBuilder``)."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from typing import Any

from client_core._attributes import Attributes
from client_core._content import (
    ByteArrayContent,
    EmptyContent,
    OutgoingContent,
    StreamContent,
    TextContent,
)
from client_core.engine import DEFAULT, EngineCapability, HttpRequestData, Timeouts
from client_core.engine._base import NO_TIMEOUTS, TimeoutValue, request_data
from client_core.errors import InvalidHeaderException, InvalidUrlException
from client_core.http import (
    ContentType,
    Headers,
    HeadersBuilder,
    HttpHeaders,
    HttpMethod,
    Url,
    URLBuilder,
    check_request_url,
)

__all__ = ["HttpRequestBuilder"]

_FRAMING = (HttpHeaders.CONTENT_LENGTH, HttpHeaders.TRANSFER_ENCODING)
_NO_CAPABILITIES: frozenset[EngineCapability] = frozenset()


def _check_timeout(name: str, value: TimeoutValue) -> TimeoutValue:
    if value is DEFAULT or value is None:
        return value
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative number of seconds or None, got {value!r}")
    return float(value)


class HttpRequestBuilder:
    """A request under construction; what builder blocks and plugins change.

    Attributes:
        method: The request method (``GET`` by default).
        url: The URL being built. A relative reference given to :meth:`set_url` is kept in
            ``relative_url`` until ``DefaultRequest`` (or the caller) resolves it.
        headers: Headers to send.
        body: The body: ``None``, ``bytes``, ``str``, an async iterable of bytes, an
            :class:`~client_core.OutgoingContent`, or any object a ``ContentNegotiation``
            converter can serialize.
        body_type: The declared type of ``body`` for converters, when it matters.
        attributes: Per-call typed attributes.
        timeouts: Per-request timeouts (``DEFAULT`` fields use the plugin's or engine's).
        expect_success: Per-request override of the client's ``expect_success``.
        unix_socket: Connect through this Unix domain socket path.
    """

    __slots__ = (
        "_url",
        "_url_value",
        "attributes",
        "body",
        "body_type",
        "capabilities",
        "expect_success",
        "headers",
        "method",
        "relative_url",
        "timeouts",
        "unix_socket",
    )

    def __init__(self, method: str = "GET", url: str | Url | None = None) -> None:
        self.method: HttpMethod = HttpMethod.parse(method)
        self._url: URLBuilder | None = None
        self._url_value: Url | None = None
        self.relative_url: str | None = None
        self.headers: HeadersBuilder = HeadersBuilder()
        self.body: Any = None
        self.body_type: type | None = None
        self.attributes: Attributes = Attributes()
        self.timeouts: Timeouts = NO_TIMEOUTS  # immutable, so shared
        self.expect_success: bool | None = None
        self.unix_socket: str | None = None
        self.capabilities: set[EngineCapability] = set()
        if url is not None:
            self.set_url(url)

    @property
    def url(self) -> URLBuilder:
        """The URL under construction (a :class:`~client_core.http.URLBuilder`)."""
        builder = self._url
        if builder is None:
            value = self._url_value
            builder = self._url = URLBuilder(value) if value is not None else URLBuilder()
            self._url_value = None
        return builder

    @url.setter
    def url(self, value: URLBuilder) -> None:
        self._url = value
        self._url_value = None

    def set_url(self, url: str | Url) -> None:
        """Set the URL; a relative reference waits for a base URL (``DefaultRequest``).

        Args:
            url: An absolute URL, or a reference such as ``"/users"`` or ``"users?id=1"``.

        Raises:
            InvalidUrlException: An absolute URL that cannot be parsed.
        """
        if isinstance(url, Url):
            self._url = None
            self._url_value = url
            self.relative_url = None
            return
        if not isinstance(url, str):
            raise InvalidUrlException(f"a URL must be a str or Url, got {type(url).__name__}")
        head = url.split("?", 1)[0].split("#", 1)[0]
        if "://" in head or head.startswith("//"):
            self._url = None
            self._url_value = Url(url)
            self.relative_url = None
        else:
            self.url = URLBuilder()
            self.relative_url = url

    def resolve_url(self, base: Url) -> None:
        """Resolve a pending relative URL against ``base`` (RFC 3986), keeping parameters.

        Args:
            base: The base URL.
        """
        if self.relative_url is None:
            return
        extra = self.url.parameters.build()
        resolved = base.resolve(self.relative_url)
        self.url = resolved.builder()
        for name, value in extra.items():
            self.url.parameters.append(name, value)
        self.relative_url = None

    def parameter(self, name: str, value: Any) -> None:
        """Append a query parameter (``None`` values are skipped; lists repeat it).

        Args:
            name: The parameter name.
            value: The value; converted with ``str`` (booleans as ``true``/``false``).
        """
        if value is None:
            return
        if isinstance(value, list | tuple):
            for item in value:
                self.url.parameters.append(name, item)
        else:
            self.url.parameters.append(name, value)

    def header(self, name: str, value: Any) -> None:
        """Append a header (``None`` values are skipped).

        Args:
            name: The header name.
            value: The value.

        Raises:
            InvalidHeaderException: The name is not a token or the value has CR/LF/NUL.
        """
        if value is not None:
            self.headers.append(name, str(value))

    def content_type(self, content_type: ContentType | str) -> None:
        """Set ``Content-Type``.

        Args:
            content_type: The media type.
        """
        self.headers.set(HttpHeaders.CONTENT_TYPE, str(content_type))

    def accept(self, content_type: ContentType | str) -> None:
        """Append an ``Accept`` value.

        Args:
            content_type: The acceptable media type.
        """
        self.headers.append(HttpHeaders.ACCEPT, str(content_type))

    def basic_auth(self, user: str, password: str) -> None:
        """Set ``Authorization: Basic`` for this request.

        Args:
            user: The user name.
            password: The password.
        """
        import base64

        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        self.headers.set(HttpHeaders.AUTHORIZATION, f"Basic {token}")

    def bearer_auth(self, token: str) -> None:
        """Set ``Authorization: Bearer`` for this request.

        Args:
            token: The bearer token.
        """
        self.headers.set(HttpHeaders.AUTHORIZATION, f"Bearer {token}")

    def set_body(self, body: Any, body_type: type | None = None) -> None:
        """Set the body (Ktor's ``setBody``).

        Args:
            body: See :attr:`body`.
            body_type: Its declared type, for converters.
        """
        self.body = body
        self.body_type = body_type

    def timeout(
        self,
        request: TimeoutValue = DEFAULT,
        *,
        connect: TimeoutValue = DEFAULT,
        socket: TimeoutValue = DEFAULT,
    ) -> None:
        """Set timeouts for this request, in seconds (``None``: no limit).

        Args:
            request: Each request sent (every redirect hop and retry attempt), until its
                response is complete: the head, and the body for non-streaming calls.
            connect: Establishing the connection.
            socket: Inactivity while sending or receiving.

        Raises:
            ValueError: A negative or non-numeric timeout.
        """
        t = self.timeouts
        self.timeouts = Timeouts(
            request=_check_timeout("request_timeout", request)
            if request is not DEFAULT
            else t.request,
            connect=_check_timeout("connect_timeout", connect)
            if connect is not DEFAULT
            else t.connect,
            socket=_check_timeout("socket_timeout", socket) if socket is not DEFAULT else t.socket,
        )

    def take_from(self, other: HttpRequestBuilder) -> HttpRequestBuilder:
        """Copy everything from ``other`` into this builder (attributes are shared).

        Args:
            other: The builder to copy.

        Returns:
            This builder.
        """
        self.method = other.method
        if other.relative_url is None:
            self._url = None
            self._url_value = other.build_url()
        else:
            self.url = URLBuilder()
        self.relative_url = other.relative_url
        if other.relative_url is not None:
            for name, value in other.url.parameters.build().items():
                self.url.parameters.append(name, value)
        self.headers = HeadersBuilder(other.headers.build())
        self.body = other.body
        self.body_type = other.body_type
        self.attributes = other.attributes
        self.timeouts = other.timeouts
        self.expect_success = other.expect_success
        self.unix_socket = other.unix_socket
        self.capabilities = set(other.capabilities)
        return self

    def copy(self) -> HttpRequestBuilder:
        """Return a new builder with the same content and a copy of the attributes."""
        new = HttpRequestBuilder().take_from(self)
        new.attributes = self.attributes.copy()
        return new

    def build_url(self) -> Url:
        """Build and check the URL.

        Returns:
            The absolute URL.

        Raises:
            InvalidUrlException: The URL is relative with no base, malformed, or its scheme
                is not http, https, ws or wss.
        """
        if self.relative_url is not None:
            raise InvalidUrlException(
                f"relative URL {self.relative_url!r} needs a base URL: pass an absolute URL "
                "or set one with default_request(url=...)"
            )
        url = self._url_value
        if url is None:
            url = self.url.build()
            self._url_value = url
            self._url = None
        check_request_url(url)
        return url

    def build(self) -> HttpRequestData:
        """Build the request an engine receives; the body must already be rendered.

        Returns:
            The immutable request.

        Raises:
            InvalidUrlException: See :meth:`build_url`.
            TypeError: The body was not rendered into bytes or a stream.
        """
        url = self._url_value
        if url is not None and self.relative_url is None:
            check_request_url(url)  # what build_url() does for a URL already built
        else:
            url = self.build_url()
        content = self.body
        if content is None:
            content = EmptyContent()
        elif not isinstance(content, OutgoingContent):
            raise TypeError(
                f"request body of type {type(content).__name__} was not rendered into "
                "bytes or a stream (see HttpClient.execute)"
            )
        headers = self.headers
        length = content.content_length
        present = headers._data  # the multidict itself: no method call per lookup
        if present and (_FRAMING[0] in present or _FRAMING[1] in present):
            declared = headers.get(HttpHeaders.CONTENT_LENGTH)
            if declared is not None and content.is_one_shot and length is None:
                if not declared.isdigit():
                    raise InvalidHeaderException(
                        f"Content-Length must be a non-negative integer, got {declared!r}"
                    )
                length = int(declared)
            headers = HeadersBuilder(headers.build())
            headers.remove(_FRAMING[0])
            headers.remove(_FRAMING[1])
        if content.content_type is not None and HttpHeaders.CONTENT_TYPE not in headers:
            if headers is self.headers:
                headers = HeadersBuilder(headers.build())
            headers.set(HttpHeaders.CONTENT_TYPE, str(content.content_type))
        capabilities = self.capabilities
        return request_data(
            self.method,
            url,
            headers.build() if headers._data else Headers.EMPTY,
            content.wire_body(),
            length,
            self.timeouts,
            self.attributes,
            frozenset(capabilities) if capabilities else _NO_CAPABILITIES,
            self.unix_socket,
        )

    def __repr__(self) -> str:
        if self.relative_url is not None:
            target = self.relative_url
        elif self._url_value is not None:
            target = self._url_value.redacted()
        else:
            target = self.url.build_string()
        return f"<HttpRequestBuilder {self.method} {target}>"


def render_default_body(body: Any, headers: HeadersBuilder) -> OutgoingContent | None:
    """Render the body types the core knows without converters.

    Args:
        body: The builder's body.
        headers: The request headers (their ``Content-Type`` sets the charset of text).

    Returns:
        The content, or ``None`` when the type needs a converter.
    """
    if body is None:
        return EmptyContent()
    if isinstance(body, OutgoingContent):
        return body
    declared = headers.get(HttpHeaders.CONTENT_TYPE)
    content_type = ContentType.parse(declared) if declared else None
    if isinstance(body, bytes | bytearray | memoryview):
        return ByteArrayContent(bytes(body), content_type)
    if isinstance(body, str):
        return TextContent(body, content_type)
    if isinstance(body, AsyncIterable):
        return StreamContent(body, content_type)
    return None


def headers_from(
    value: Mapping[str, Any] | Iterable[tuple[str, Any]] | Headers | None,
) -> list[tuple[str, str]]:
    """Normalize user-given headers into pairs, skipping ``None`` values.

    Args:
        value: A mapping, pairs, or :class:`Headers`.

    Returns:
        (name, value) pairs.
    """
    if value is None:
        return []
    if isinstance(value, Headers):
        return list(value.items())
    # type() first: isinstance against the Mapping ABC is slow, and a dict is the usual case.
    items = value.items() if type(value) is dict or isinstance(value, Mapping) else value
    out: list[tuple[str, str]] = []
    for name, v in items:
        if v is None:
            continue
        if isinstance(v, list | tuple):
            out.extend((name, str(x)) for x in v)
        else:
            out.append((name, str(v)))
    return out
