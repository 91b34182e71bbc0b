"""HTTP header names and the case-insensitive header multimap.

``Headers`` is an immutable, ordered, case-insensitive multimap; ``HeadersBuilder`` is its
mutable counterpart. Both validate user input (RFC 9110 token names, no CR, LF or NUL in
values). Engines that parsed headers off the wire use the unchecked ``Headers.from_wire``
and ``Headers.from_raw`` constructors instead.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Final, TypeAlias, cast

from multidict import CIMultiDict

from client_core.errors import InvalidHeaderException

__all__ = [
    "Headers",
    "HeadersBuilder",
    "HeadersInput",
    "HeaderValue",
    "HttpHeaders",
    "check_header_name",
    "check_header_value",
]

HeaderValue: TypeAlias = str | int
"""A header value as given by users: ``int`` values (not ``bool``) are rendered with ``str``."""

HeadersInput: TypeAlias = (
    "Headers | HeadersBuilder | Mapping[str, HeaderValue | Sequence[HeaderValue]]"
    " | Iterable[tuple[str, HeaderValue]]"
)
"""What ``Headers`` and ``HeadersBuilder`` accept: a mapping (a list or tuple value gives
several values), an iterable of ``(name, value)`` pairs, or existing headers."""

_is_token = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_TOKEN_CHARS: Final = frozenset("!#$%&'*+-.^_`|~" + string.ascii_letters + string.digits)
_SENSITIVE: Final = frozenset({"authorization", "proxy-authorization", "cookie", "set-cookie"})
_REDACTED: Final = "[redacted]"


def _shown(value: str, limit: int = 60) -> str:
    """Return ``repr(value)`` cut to ``limit`` characters for an error message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_header_name(name: str) -> None:
    """Check that ``name`` is a valid header field name (an RFC 9110 token).

    Args:
        name: The header name to check.

    Raises:
        InvalidHeaderException: If the name is empty or holds a character that is not
            allowed in a token (space, ``:``, control characters, non-ASCII, ...).
        TypeError: If ``name`` is not a ``str``.
    """
    if type(name) is not str and not isinstance(name, str):
        raise TypeError(f"Header name must be a str, got {type(name).__name__}: {name!r}")
    if _is_token(name) is None:
        if not name:
            raise InvalidHeaderException("Invalid header name '': a header name cannot be empty")
        bad = next(ch for ch in name if ch not in _TOKEN_CHARS)
        raise InvalidHeaderException(
            f"Invalid header name {_shown(name)}: character {bad!r} is not allowed in a token"
        )


def check_header_value(name: str, value: HeaderValue) -> str:
    """Check a header value and return it normalised.

    Leading and trailing spaces and tabs are removed; ``int`` values are converted with
    ``str``. Any other character is allowed except CR, LF and NUL.

    Args:
        name: The header the value belongs to (used in the error message).
        value: The value to check.

    Returns:
        The value as a ``str`` without surrounding spaces or tabs.

    Raises:
        InvalidHeaderException: If the value contains CR, LF or NUL. Values of credential
            headers (``Authorization``, ``Cookie``, ...) are not shown in the message.
        TypeError: If ``value`` is neither a ``str`` nor an ``int``.
    """
    if type(value) is not str:
        if isinstance(value, str):
            value = str(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        else:
            raise TypeError(
                f"Value of header {name!r} must be a str or an int, "
                f"got {type(value).__name__}: {value!r}"
            )
    value = value.strip(" \t")
    if "\r" in value or "\n" in value or "\x00" in value:
        what = "CR" if "\r" in value else "LF" if "\n" in value else "NUL"
        shown = _REDACTED if name.lower() in _SENSITIVE else _shown(value)
        raise InvalidHeaderException(
            f"Invalid value for header {name!r}: {shown} contains {what}, "
            "which is not allowed in a header value"
        )
    return value


def _checked_pairs(
    data: Mapping[str, HeaderValue | Sequence[HeaderValue]] | Iterable[tuple[str, HeaderValue]],
) -> list[tuple[str, str]]:
    """Return validated ``(name, value)`` pairs from user input.

    Plain ``str`` names and values are checked inline (the common case); anything else
    goes through ``check_header_name`` / ``check_header_value``, which raise.
    """
    items: Iterable[tuple[str, HeaderValue | Sequence[HeaderValue]]]
    # A list of pairs (what headers_from gives) skips the slow check against the Mapping ABC.
    items = data if type(data) is list else data.items() if isinstance(data, Mapping) else data
    pairs: list[tuple[str, str]] = []
    for name, value in items:
        if type(name) is not str or _is_token(name) is None:
            check_header_name(name)
        if type(value) is str:
            value = value.strip(" \t")
            if "\r" in value or "\n" in value or "\x00" in value:
                check_header_value(name, value)
            pairs.append((name, value))
        elif isinstance(value, (list, tuple)):
            pairs.extend((name, check_header_value(name, item)) for item in value)
        else:  # an int (else check_header_value raises TypeError)
            pairs.append((name, check_header_value(name, cast(HeaderValue, value))))
    return pairs


def _redacted_items(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, _REDACTED if k.lower() in _SENSITIVE else v) for k, v in pairs]


class _HeaderValues:
    """Read access shared by ``Headers`` and ``HeadersBuilder``."""

    __slots__ = ("_data",)

    _data: CIMultiDict[str]

    def get(self, name: str, default: str | None = None) -> str | None:
        """Return the first value of header ``name`` (any case).

        Args:
            name: The header name.
            default: What to return when the header is absent.

        Returns:
            The first value, or ``default``.
        """
        return self._data.get(name, default)

    def get_all(self, name: str) -> list[str]:
        """Return every value of header ``name`` (any case), in order.

        Args:
            name: The header name.

        Returns:
            The values; an empty list when the header is absent.
        """
        return self._data.getall(name, [])

    def items(self) -> list[tuple[str, str]]:
        """Return every ``(name, value)`` pair, duplicates included, in order.

        Returns:
            The pairs, with the names as they were given.
        """
        return list(self._data.items())

    def __contains__(self, name: object) -> bool:
        return name in self._data

    def __len__(self) -> int:
        return len(self._data)


class Headers(_HeaderValues):
    """An immutable, ordered, case-insensitive multimap of HTTP headers.

    Names keep the spelling they were given; lookups ignore case. ``len`` counts
    ``(name, value)`` pairs, iteration yields each distinct name once (first-seen spelling).

    Args:
        data: A mapping of names to values (a list or tuple value gives several values),
            an iterable of ``(name, value)`` pairs, or other ``Headers``. ``None`` gives
            empty headers.

    Raises:
        InvalidHeaderException: If a name is not a token or a value holds CR, LF or NUL.
        TypeError: If a name or value has an unsupported type.

    Example::

        headers = Headers({"Accept": ["text/html", "application/json"], "X-Id": 7})
        headers.get("accept")        # 'text/html'
        headers.get_all("ACCEPT")    # ['text/html', 'application/json']
    """

    __slots__ = ("_groups", "_names", "_source")

    EMPTY: ClassVar[Headers]
    """Headers without any entry."""

    _names: tuple[str, ...] | None
    _groups: dict[str, list[str]] | None
    _source: Callable[[], Iterable[tuple[str, str]]] | None

    def __init__(self, data: HeadersInput | None = None) -> None:
        self._names = None
        self._groups = None
        if data is None:
            self._data = CIMultiDict()
        elif isinstance(data, Headers):
            self._data = data._data
            self._names = data._names
        elif isinstance(data, HeadersBuilder):
            self._data = data._data.copy()
        else:
            self._data = CIMultiDict(_checked_pairs(data))

    @classmethod
    def _wrap(cls, data: CIMultiDict[str]) -> Headers:
        """Wrap ``data`` without validation or copy; the caller never mutates it again."""
        self = object.__new__(cls)
        self._data = data
        self._names = None
        self._groups = None
        return self

    @classmethod
    def from_wire_lazily(cls, parse: Callable[[], Iterable[tuple[str, str]]]) -> Headers:
        """Build headers that are parsed on first use, without checking them.

        For engines on the hot path: most responses are read without looking at most of
        their headers, and many without looking at any. ``parse`` runs at most once, when
        the headers are first read; it must not raise.

        Args:
            parse: Returns the ``(name, value)`` pairs in the order received.

        Returns:
            The headers.
        """
        self = object.__new__(cls)
        self._source = parse
        self._names = None
        self._groups = None
        return self

    if not TYPE_CHECKING:

        def __getattr__(self, name: str) -> Any:
            # Only reached for an unset slot: ``_data`` of headers built lazily.
            if name != "_data":
                raise AttributeError(name)
            data = self._data = CIMultiDict(self._source())
            self._source = None
            return data

    @classmethod
    def from_wire(cls, pairs: Iterable[tuple[str, str]]) -> Headers:
        """Build headers from already validated pairs, without checking them.

        For engines that parsed the headers off the wire (and validated them there).

        Args:
            pairs: ``(name, value)`` pairs in the order received.

        Returns:
            The headers.
        """
        return cls._wrap(CIMultiDict(pairs))

    @classmethod
    def from_raw(cls, pairs: Iterable[tuple[bytes, bytes]]) -> Headers:
        """Build headers from raw byte pairs, decoded as Latin-1, without checking them.

        Args:
            pairs: ``(name, value)`` byte pairs in the order received.

        Returns:
            The headers.
        """
        return cls._wrap(
            CIMultiDict([(k.decode("latin-1"), v.decode("latin-1")) for k, v in pairs])
        )

    def names(self) -> tuple[str, ...]:
        """Return the distinct header names, first-seen spelling, in order.

        Returns:
            The names.
        """
        names = self._names
        if names is None:
            seen: dict[str, str] = {}
            for key in self._data:
                seen.setdefault(key.lower(), key)
            names = self._names = tuple(seen.values())
        return names

    def builder(self) -> HeadersBuilder:
        """Return a ``HeadersBuilder`` pre-filled with these headers.

        Returns:
            A new builder; changing it does not change these headers.
        """
        return HeadersBuilder._sharing(self._data)

    def with_header(self, name: str, value: HeaderValue) -> Headers:
        """Return new headers where ``name`` has the single value ``value``.

        Args:
            name: The header name; existing values of it (any case) are replaced.
            value: The new value.

        Returns:
            New headers; these are unchanged.

        Raises:
            InvalidHeaderException: If the name or the value is invalid.
        """
        check_header_name(name)
        value = check_header_value(name, value)
        data = self._data.copy()
        data[name] = value
        return Headers._wrap(data)

    def _grouped(self) -> dict[str, list[str]]:
        groups = self._groups
        if groups is None:
            groups = {}
            for key, value in self._data.items():
                groups.setdefault(key.lower(), []).append(value)
            self._groups = groups
        return groups

    def __getitem__(self, name: str) -> str:
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        if self._data is other._data:
            return True
        return len(self._data) == len(other._data) and self._grouped() == other._grouped()

    def __hash__(self) -> int:
        return hash(frozenset((k, tuple(v)) for k, v in self._grouped().items()))

    def __repr__(self) -> str:
        return f"Headers({_redacted_items(self._data.items())!r})"


Headers.EMPTY = Headers()


class HeadersBuilder(_HeaderValues):
    """A mutable, ordered, case-insensitive multimap to build ``Headers``.

    Every name and value added is validated like ``Headers`` does.

    Args:
        data: Initial headers, in any form ``Headers`` accepts.

    Raises:
        InvalidHeaderException: If a name is not a token or a value holds CR, LF or NUL.
        TypeError: If a name or value has an unsupported type.
    """

    __slots__ = ("_shared",)

    _shared: bool  # _data is also held by Headers: copy before the next change

    def __init__(self, data: HeadersInput | None = None) -> None:
        self._shared = False
        if data is None:
            self._data = CIMultiDict()
        elif isinstance(data, Headers):
            self._data = data._data
            self._shared = True
        elif isinstance(data, HeadersBuilder):
            self._data = data._data.copy()
        else:
            self._data = CIMultiDict(_checked_pairs(data))

    @classmethod
    def _sharing(cls, data: CIMultiDict[str]) -> HeadersBuilder:
        self = object.__new__(cls)
        self._data = data
        self._shared = True
        return self

    def _mutable(self) -> CIMultiDict[str]:
        if self._shared:
            self._data = self._data.copy()
            self._shared = False
        return self._data

    def append(self, name: str, value: HeaderValue) -> None:
        """Add a value to header ``name``, after any existing ones.

        Args:
            name: The header name.
            value: The value to add.

        Raises:
            InvalidHeaderException: If the name or the value is invalid.
        """
        check_header_name(name)
        self._mutable().add(name, check_header_value(name, value))

    def set(self, name: str, value: HeaderValue) -> None:
        """Replace every value of header ``name`` (any case) with ``value``.

        Args:
            name: The header name.
            value: The only value the header will have.

        Raises:
            InvalidHeaderException: If the name or the value is invalid.
        """
        check_header_name(name)
        self._mutable()[name] = check_header_value(name, value)

    def set_default(self, name: str, value: HeaderValue) -> None:
        """Set header ``name`` to ``value`` only if it has no value yet.

        Args:
            name: The header name.
            value: The value to use when the header is absent.

        Raises:
            InvalidHeaderException: If the name or the value is invalid.
        """
        check_header_name(name)
        value = check_header_value(name, value)
        if name not in self._data:
            self._mutable().add(name, value)

    def remove(self, name: str) -> None:
        """Remove every value of header ``name`` (any case); nothing happens if absent.

        Args:
            name: The header name.
        """
        if name in self._data:
            self._mutable().popall(name)

    def append_all(self, data: HeadersInput) -> None:
        """Append every header of ``data``, keeping existing values.

        Args:
            data: Headers in any form ``Headers`` accepts.

        Raises:
            InvalidHeaderException: If a name or value is invalid; nothing is added then.
        """
        if isinstance(data, (Headers, HeadersBuilder)):
            pairs = list(data._data.items())
        else:
            pairs = _checked_pairs(data)
        self._mutable().extend(pairs)

    def build(self) -> Headers:
        """Return the headers built so far.

        Returns:
            Immutable ``Headers``; later changes to this builder do not affect them.
        """
        self._shared = True
        return Headers._wrap(self._data)

    def __iter__(self) -> Iterator[str]:
        seen: dict[str, str] = {}
        for key in self._data:
            seen.setdefault(key.lower(), key)
        return iter(tuple(seen.values()))

    def __repr__(self) -> str:
        return f"HeadersBuilder({_redacted_items(self._data.items())!r})"


class HttpHeaders:
    """Canonical spellings of common HTTP header names, Ktor's ``HttpHeaders``."""

    __slots__ = ()

    ACCEPT: Final = "Accept"
    ACCEPT_CHARSET: Final = "Accept-Charset"
    ACCEPT_ENCODING: Final = "Accept-Encoding"
    ACCEPT_LANGUAGE: Final = "Accept-Language"
    ACCEPT_RANGES: Final = "Accept-Ranges"
    ACCESS_CONTROL_ALLOW_CREDENTIALS: Final = "Access-Control-Allow-Credentials"
    ACCESS_CONTROL_ALLOW_HEADERS: Final = "Access-Control-Allow-Headers"
    ACCESS_CONTROL_ALLOW_METHODS: Final = "Access-Control-Allow-Methods"
    ACCESS_CONTROL_ALLOW_ORIGIN: Final = "Access-Control-Allow-Origin"
    ACCESS_CONTROL_EXPOSE_HEADERS: Final = "Access-Control-Expose-Headers"
    ACCESS_CONTROL_MAX_AGE: Final = "Access-Control-Max-Age"
    ACCESS_CONTROL_REQUEST_HEADERS: Final = "Access-Control-Request-Headers"
    ACCESS_CONTROL_REQUEST_METHOD: Final = "Access-Control-Request-Method"
    AGE: Final = "Age"
    ALLOW: Final = "Allow"
    ALT_SVC: Final = "Alt-Svc"
    AUTHORIZATION: Final = "Authorization"
    CACHE_CONTROL: Final = "Cache-Control"
    CONNECTION: Final = "Connection"
    CONTENT_DISPOSITION: Final = "Content-Disposition"
    CONTENT_ENCODING: Final = "Content-Encoding"
    CONTENT_LANGUAGE: Final = "Content-Language"
    CONTENT_LENGTH: Final = "Content-Length"
    CONTENT_LOCATION: Final = "Content-Location"
    CONTENT_RANGE: Final = "Content-Range"
    CONTENT_TYPE: Final = "Content-Type"
    COOKIE: Final = "Cookie"
    DATE: Final = "Date"
    ETAG: Final = "ETag"
    EXPECT: Final = "Expect"
    EXPIRES: Final = "Expires"
    FORWARDED: Final = "Forwarded"
    FROM: Final = "From"
    HOST: Final = "Host"
    IF_MATCH: Final = "If-Match"
    IF_MODIFIED_SINCE: Final = "If-Modified-Since"
    IF_NONE_MATCH: Final = "If-None-Match"
    IF_RANGE: Final = "If-Range"
    IF_UNMODIFIED_SINCE: Final = "If-Unmodified-Since"
    KEEP_ALIVE: Final = "Keep-Alive"
    LAST_EVENT_ID: Final = "Last-Event-ID"
    LAST_MODIFIED: Final = "Last-Modified"
    LINK: Final = "Link"
    LOCATION: Final = "Location"
    MAX_FORWARDS: Final = "Max-Forwards"
    ORIGIN: Final = "Origin"
    PRAGMA: Final = "Pragma"
    PROXY_AUTHENTICATE: Final = "Proxy-Authenticate"
    PROXY_AUTHORIZATION: Final = "Proxy-Authorization"
    PROXY_CONNECTION: Final = "Proxy-Connection"
    RANGE: Final = "Range"
    REFERER: Final = "Referer"
    RETRY_AFTER: Final = "Retry-After"
    SEC_WEBSOCKET_ACCEPT: Final = "Sec-WebSocket-Accept"
    SEC_WEBSOCKET_EXTENSIONS: Final = "Sec-WebSocket-Extensions"
    SEC_WEBSOCKET_KEY: Final = "Sec-WebSocket-Key"
    SEC_WEBSOCKET_PROTOCOL: Final = "Sec-WebSocket-Protocol"
    SEC_WEBSOCKET_VERSION: Final = "Sec-WebSocket-Version"
    SERVER: Final = "Server"
    SET_COOKIE: Final = "Set-Cookie"
    STRICT_TRANSPORT_SECURITY: Final = "Strict-Transport-Security"
    TE: Final = "TE"
    TRAILER: Final = "Trailer"
    TRANSFER_ENCODING: Final = "Transfer-Encoding"
    UPGRADE: Final = "Upgrade"
    USER_AGENT: Final = "User-Agent"
    VARY: Final = "Vary"
    VIA: Final = "Via"
    WARNING: Final = "Warning"
    WWW_AUTHENTICATE: Final = "WWW-Authenticate"
    X_FORWARDED_FOR: Final = "X-Forwarded-For"
    X_FORWARDED_HOST: Final = "X-Forwarded-Host"
    X_FORWARDED_PROTO: Final = "X-Forwarded-Proto"
    X_HTTP_METHOD_OVERRIDE: Final = "X-Http-Method-Override"
    X_REQUEST_ID: Final = "X-Request-ID"

    _UNSAFE: ClassVar[frozenset[str]] = frozenset(
        {"content-length", "transfer-encoding", "upgrade"}
    )

    @staticmethod
    def is_unsafe(name: str) -> bool:
        """Tell whether the engine owns header ``name``, so users must not set it.

        ``Content-Length``, ``Transfer-Encoding`` and ``Upgrade`` are computed by the
        engine from the body and the protocol.

        Args:
            name: A header name, any case.

        Returns:
            ``True`` for an engine-owned header.
        """
        return name.lower() in HttpHeaders._UNSAFE
