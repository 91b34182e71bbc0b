"""URLs: the immutable ``Url``, the mutable ``URLBuilder`` and the query ``Parameters``.

``Url`` wraps a ``yarl.URL`` (parsing, IDNA, percent-encoding and RFC 3986 reference
resolution are yarl's) and adds what an HTTP client needs: validation with messages that
never show credentials, the effective port, the ``Host`` authority, the request target.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote, unquote

import yarl

from client_core.errors import InvalidUrlException
from client_core.http._parameters import (
    Parameters,
    ParametersBuilder,
    ParametersInput,
    _encode_query,
    _param_pairs,
)

__all__ = [
    "URLBuilder",
    "Url",
    "check_request_url",
]

_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_SECURE: Final = frozenset({"https", "wss"})
_WHITESPACE: Final = " \t\n\r\f\v"
_has_control = re.compile(r"[\x00-\x1f\x7f]").search
_is_reg_name = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=%]+").fullmatch
_is_scheme = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*").fullmatch
_USERINFO: Final = re.compile(r"^((?:[A-Za-z][A-Za-z0-9+.\-]*:)?//)[^/?#]*@")
_USERINFO_SAFE: Final = "!$&'()*+,;="
_SEGMENT_SAFE: Final = "!$&'()*+,;=:@"
_PATH_SAFE: Final = _SEGMENT_SAFE + "/"
_QUERY_SAFE: Final = "!$'()*,/:?@"  # what yarl leaves unescaped in query names and values
_FRAGMENT_SAFE: Final = "!$&'()*+,;=:@/?"
_BAD_BUILDER_HOST: Final = frozenset("/?#@[]\\ \t\r\n\x00")


def _shown(text: str) -> str:
    """Return ``text`` for an error message: user info masked, quoted, at most 200 chars."""
    shown = repr(_USERINFO.sub(r"\1[redacted]@", text, count=1))
    return shown if len(shown) <= 200 else shown[:197] + "..."


def _parse_reference(text: str) -> yarl.URL:
    """Parse a possibly relative URL reference, rejecting control characters."""
    if not isinstance(text, str):
        raise TypeError(f"URL must be a str or Url, got {type(text).__name__}: {text!r}")
    text = text.strip(_WHITESPACE)
    if _has_control(text):
        raise InvalidUrlException(
            f"Invalid URL {_shown(text)}: contains a control character (CR, LF, TAB, NUL, ...)"
        )
    try:
        return yarl.URL(text)
    except (ValueError, TypeError) as exc:
        raise InvalidUrlException(f"Invalid URL {_shown(text)}: {exc}") from exc


def _check(url: yarl.URL) -> yarl.URL:
    """Check that ``url`` is absolute with a valid host where the scheme needs one."""
    scheme = url.scheme
    if not scheme:
        raise InvalidUrlException(
            f"Invalid URL {_shown(str(url))}: not absolute (no scheme such as 'https://')"
        )
    host = url.raw_host
    if host:
        if ":" not in host and _is_reg_name(host) is None:  # IPv6 was checked by yarl
            bad = next(ch for ch in host if _is_reg_name(ch) is None)
            raise InvalidUrlException(
                f"Invalid URL {_shown(str(url))}: character {bad!r} is not allowed in a host"
            )
    elif scheme in _DEFAULT_PORTS:
        raise InvalidUrlException(f"Invalid URL {_shown(str(url))}: no host")
    return url


def _text(url: yarl.URL) -> str:
    """Return the text of ``url``, with ``/`` for an empty path after a host.

    yarl renders ``http://h`` and ``http://h/`` differently although they are the same
    resource (RFC 9110, section 4.2.3); ``Url`` compares by text, so it always adds ``/``.
    """
    text = str(url)
    if (
        url.raw_host
        and url.raw_path == "/"
        and not url.raw_query_string
        and not url.raw_fragment
        and not text.endswith("/")
    ):
        text += "/"
    return text


class Url:
    """An immutable, absolute URL; equal and hashed by its full text.

    Args:
        value: The URL text, or another ``Url``. Surrounding whitespace is ignored.
            Non-ASCII hosts are IDNA-encoded; path, query and fragment are
            percent-encoded where needed.

    Raises:
        InvalidUrlException: If the text cannot be parsed, contains control characters, is
            not absolute (no scheme), or has no valid host for http, https, ws or wss. The
            message shows the text with any credentials masked.
        TypeError: If ``value`` is neither a ``str`` nor a ``Url``.

    Example::

        url = Url("https://user:secret@example.com:8443/a b?q=1#top")
        url.authority       # 'example.com:8443'
        url.request_target  # '/a%20b?q=1'
        url.redacted()      # 'https://example.com:8443/a%20b?q=1#top'
    """

    __slots__ = ("_parameters", "_redacted", "_str", "_url")

    _url: yarl.URL
    _str: str | None
    _redacted: str | None
    _parameters: Parameters | None

    def __init__(self, value: str | Url) -> None:
        if isinstance(value, Url):
            self._url = value._url
            self._str = value._str
            self._redacted = value._redacted
            self._parameters = value._parameters
        else:
            self._url = _check(_parse_reference(value))
            self._str = self._redacted = self._parameters = None

    @classmethod
    def _of(cls, url: yarl.URL) -> Url:
        """Wrap an already validated ``yarl.URL``."""
        self = object.__new__(cls)
        self._url = url
        self._str = self._redacted = self._parameters = None
        return self

    @classmethod
    def parse(cls, value: str | Url) -> Url:
        """Parse ``value`` into a ``Url`` (the same as ``Url(value)``).

        Args:
            value: The URL text, or a ``Url`` (returned as is).

        Returns:
            The URL.

        Raises:
            InvalidUrlException: If the text is not a valid absolute URL.
            TypeError: If ``value`` is neither a ``str`` nor a ``Url``.
        """
        if type(value) is cls:
            return value
        return cls(value)

    @classmethod
    def from_yarl(cls, url: yarl.URL) -> Url:
        """Wrap a ``yarl.URL``, validating it like the constructor does.

        Args:
            url: The yarl URL.

        Returns:
            The URL.

        Raises:
            InvalidUrlException: If it is not absolute or lacks a host it needs.
            TypeError: If ``url`` is not a ``yarl.URL``.
        """
        if not isinstance(url, yarl.URL):
            raise TypeError(f"Expected a yarl.URL, got {type(url).__name__}")
        return cls._of(_check(url))

    @property
    def yarl(self) -> yarl.URL:
        """The underlying ``yarl.URL``."""
        return self._url

    @property
    def scheme(self) -> str:
        """The scheme, lowercase (``"https"``)."""
        return self._url.scheme

    @property
    def host(self) -> str:
        """The host: IDNA-encoded, lowercase, IPv6 without brackets; ``""`` if none."""
        host = self._url.raw_host
        if not host:
            return ""
        if ":" in host and "%25" in host:  # IPv6 zone identifier
            return host.replace("%25", "%")
        return host

    @property
    def port(self) -> int | None:
        """The effective port: explicit, else the scheme's default (``None`` if unknown)."""
        port = self._url.explicit_port
        return port if port is not None else _DEFAULT_PORTS.get(self._url.scheme)

    @property
    def specified_port(self) -> int | None:
        """The port written in the URL, or ``None``."""
        return self._url.explicit_port

    @property
    def user(self) -> str | None:
        """The decoded user name, or ``None``."""
        return self._url.user

    @property
    def password(self) -> str | None:
        """The decoded password, or ``None``."""
        return self._url.password

    @property
    def path(self) -> str:
        """The decoded path (``"/a b"``)."""
        return self._url.path

    @property
    def encoded_path(self) -> str:
        """The percent-encoded path (``"/a%20b"``); ``"/"`` when empty for a host URL."""
        return self._url.raw_path

    @property
    def query_string(self) -> str:
        """The encoded query, without ``?``; ``""`` when there is none."""
        return self._url.raw_query_string

    @property
    def parameters(self) -> Parameters:
        """The decoded query parameters."""
        params = self._parameters
        if params is None:
            params = self._parameters = Parameters._wrap(self._url.query)
        return params

    @property
    def fragment(self) -> str:
        """The decoded fragment, without ``#``; ``""`` when there is none."""
        return self._url.fragment

    @property
    def is_secure(self) -> bool:
        """Whether the scheme is ``https`` or ``wss``."""
        return self._url.scheme in _SECURE

    @property
    def authority(self) -> str:
        """``host[:port]`` for a ``Host`` header: IPv6 in brackets, default port omitted."""
        url = self._url
        host = url.raw_host or ""
        if ":" in host:
            host = f"[{host}]"
        port = url.explicit_port
        if port is None or port == _DEFAULT_PORTS.get(url.scheme):
            return host
        return f"{host}:{port}"

    @property
    def request_target(self) -> str:
        """Encoded path and query (``/a%20b?q=1``), never the fragment: an HTTP/1.1 target."""
        return self._url.raw_path_qs

    @property
    def origin(self) -> tuple[str, str, int | None]:
        """``(scheme, host, port)`` with the effective port: what a connection is for."""
        return (self._url.scheme, self.host, self.port)

    def redacted(self) -> str:
        """Return the URL text without user name and password, safe to log.

        Returns:
            ``"https://example.com/x"`` for ``https://u:p@example.com/x``.
        """
        text = self._redacted
        if text is None:
            url = self._url
            if url.raw_user is None and url.raw_password is None:
                text = str(self)
            else:
                text = _text(url.with_user(None))
            self._redacted = text
        return text

    def resolve(self, reference: str | Url) -> Url:
        """Resolve a URL reference against this URL (RFC 3986, section 5.2).

        Args:
            reference: An absolute or relative reference, such as a ``Location`` header.

        Returns:
            The resolved absolute URL.

        Raises:
            InvalidUrlException: If the reference cannot be parsed or the result lacks a
                host it needs.
        """
        ref = reference._url if isinstance(reference, Url) else _parse_reference(reference)
        return Url._of(_check(self._url.join(ref)))

    def with_query(self, params: ParametersInput | None) -> Url:
        """Return this URL with its query replaced by ``params``.

        Args:
            params: The new parameters, in any form ``Parameters`` accepts; ``None`` or
                empty parameters remove the query.

        Returns:
            The new URL; the fragment is kept.

        Raises:
            TypeError: If a name or value has an unsupported type.
        """
        if params is None:
            pairs: list[tuple[str, str]] = []
        elif isinstance(params, (Parameters, ParametersBuilder)):
            pairs = params.items()
        else:
            pairs = list(_param_pairs(params))
        return Url._of(self._url.with_query(pairs or None))

    def with_path(self, path: str, *, encoded: bool = False) -> Url:
        """Return this URL with its path replaced, keeping the query and fragment.

        Args:
            path: The new path, decoded (``"/a b"``) unless ``encoded`` is true.
            encoded: Whether ``path`` is already percent-encoded.

        Returns:
            The new URL.
        """
        return Url._of(
            self._url.with_path(path, encoded=encoded, keep_query=True, keep_fragment=True)
        )

    def builder(self) -> URLBuilder:
        """Return a ``URLBuilder`` pre-filled from this URL.

        Returns:
            A new builder.
        """
        return URLBuilder(self)

    def __str__(self) -> str:
        text = self._str
        if text is None:
            text = self._str = _text(self._url)
        return text

    def __repr__(self) -> str:
        return f"Url({self.redacted()!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Url):
            return NotImplemented
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(str(self))

    def __reduce__(self) -> tuple[type[Url], tuple[str]]:
        return (Url, (str(self),))


def check_request_url(url: Url) -> None:
    """Check that ``url`` can be requested: an http, https, ws or wss URL with a host.

    Args:
        url: The URL to check.

    Raises:
        InvalidUrlException: If the scheme is not supported or the host is empty.
    """
    parsed = url._url  # yarl's own (cached) attributes: this runs once per request
    scheme = parsed.scheme
    if scheme not in _DEFAULT_PORTS:
        raise InvalidUrlException(
            f"Unsupported URL scheme {scheme!r} in {url.redacted()} "
            "(expected http, https, ws or wss)"
        )
    if not parsed.raw_host:  # Url.host is "" exactly when raw_host is empty
        raise InvalidUrlException(f"URL has no host: {url.redacted()}")


def _remove_dot_segments(path: str) -> str:
    """Remove ``.`` and ``..`` segments from a path (RFC 3986, section 5.2.4)."""
    if "." not in path:
        return path
    absolute = path.startswith("/")
    segments = path.split("/")
    if absolute:
        del segments[0]
    out: list[str] = []
    for segment in segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments and segments[-1] in (".", ".."):
        out.append("")
    joined = "/".join(out)
    return "/" + joined if absolute else joined


class URLBuilder:
    """A mutable URL, Ktor's ``URLBuilder``: set the parts, then ``build()`` a ``Url``.

    Attributes:
        scheme: The scheme (also settable as ``protocol``), ``"http"`` by default.
        host: The host, ``""`` by default; non-ASCII hosts are IDNA-encoded on build.
        port: The explicit port, or ``None`` for the scheme's default.
        user: The decoded user name, or ``None``.
        password: The decoded password, or ``None``.
        encoded_path: The percent-encoded path (see also ``path`` and ``path_segments``).
        fragment: The decoded fragment; ``""`` for none.

    Args:
        url: A URL or a (possibly relative) reference to start from, as ``take_from``.

    Raises:
        InvalidUrlException: If ``url`` cannot be parsed.
    """

    __slots__ = (
        "_parameters",
        "_raw_query",
        "_raw_query_of",
        "_raw_query_version",
        "encoded_path",
        "fragment",
        "host",
        "password",
        "port",
        "scheme",
        "user",
    )

    scheme: str
    host: str
    port: int | None
    user: str | None
    password: str | None
    encoded_path: str
    fragment: str
    _parameters: ParametersBuilder
    _raw_query: str  # the query as parsed, reused while the parameters are unchanged
    _raw_query_of: ParametersBuilder | None
    _raw_query_version: int

    def __init__(self, url: str | Url | None = None) -> None:
        self.scheme = "http"
        self.host = ""
        self.port = None
        self.user = None
        self.password = None
        self.encoded_path = ""
        self.fragment = ""
        self._parameters = ParametersBuilder()
        self._raw_query = ""
        self._raw_query_of = None
        self._raw_query_version = 0
        if url is not None:
            self.take_from(url)

    @property
    def protocol(self) -> str:
        """The scheme, Ktor's name for it."""
        return self.scheme

    @protocol.setter
    def protocol(self, value: str) -> None:
        self.scheme = value

    @property
    def parameters(self) -> ParametersBuilder:
        """The query parameters, decoded; change them in place or assign a new builder."""
        return self._parameters

    @parameters.setter
    def parameters(self, value: ParametersBuilder) -> None:
        self._parameters = value

    @property
    def path(self) -> str:
        """The decoded path; setting it percent-encodes everything but ``/``."""
        return unquote(self.encoded_path)

    @path.setter
    def path(self, value: str) -> None:
        self.encoded_path = quote(value, safe=_PATH_SAFE)

    @property
    def path_segments(self) -> list[str]:
        """The decoded path segments (``"/a/b/"`` gives ``["a", "b", ""]``); settable."""
        path = self.encoded_path
        if path.startswith("/"):
            path = path[1:]
        return [unquote(segment) for segment in path.split("/")] if path else []

    @path_segments.setter
    def path_segments(self, segments: Iterable[str]) -> None:
        self.encoded_path = "/" + "/".join(quote(s, safe=_SEGMENT_SAFE) for s in segments)

    def append_path_segments(self, *segments: str, encode_slash: bool = False) -> URLBuilder:
        """Append segments to the path, percent-encoding each (Ktor's appendPathSegments).

        ``"/api/"`` plus ``"users", "a b"`` gives ``"/api/users/a%20b"``.

        Args:
            *segments: Decoded segments. Unless ``encode_slash``, each is split on ``/``
                (empty pieces dropped; a trailing ``/`` on the last one is kept).
            encode_slash: Encode ``/`` inside a segment as ``%2F`` instead of splitting.

        Returns:
            This builder.
        """
        pieces: list[str] = []
        for segment in segments:
            if encode_slash:
                pieces.append(segment)
            else:
                pieces.extend(piece for piece in segment.split("/") if piece)
        trailing = not encode_slash and bool(segments) and segments[-1].endswith("/")
        if not pieces and not trailing:
            return self
        path = self.encoded_path
        if path.endswith("/"):
            path = path[:-1]
        for piece in pieces:
            path += "/" + quote(piece, safe=_SEGMENT_SAFE)
        if trailing:
            path += "/"
        self.encoded_path = path
        return self

    def take_from(self, url: str | Url) -> URLBuilder:
        """Take the parts of ``url``, resolving it against this builder if relative.

        An absolute URL replaces everything; ``//host/p`` keeps the scheme; ``/p`` and
        ``p`` keep scheme and authority and resolve the path (RFC 3986, section 5.2.2);
        ``?q`` replaces only the query and ``#f`` only the fragment.

        Args:
            url: The URL or reference.

        Returns:
            This builder.

        Raises:
            InvalidUrlException: If ``url`` cannot be parsed.
        """
        ref = url._url if isinstance(url, Url) else _parse_reference(url)
        if ref.scheme:
            self.scheme = ref.scheme
            self._take_authority(ref)
            self.encoded_path = ref.raw_path
            self._take_query(ref)
        elif ref.is_absolute():
            self._take_authority(ref)
            self.encoded_path = _remove_dot_segments(ref.raw_path)
            self._take_query(ref)
        elif ref.raw_path:
            path = ref.raw_path
            if not path.startswith("/"):
                base = self.encoded_path
                if not base and self.host:
                    base = "/"
                path = base[: base.rfind("/") + 1] + path
            self.encoded_path = _remove_dot_segments(path)
            self._take_query(ref)
        elif ref.raw_query_string:
            self._take_query(ref)
        self.fragment = ref.fragment
        return self

    def _take_authority(self, ref: yarl.URL) -> None:
        host = ref.raw_host or ""
        self.host = host.replace("%25", "%") if ":" in host else host
        self.port = ref.explicit_port
        self.user = ref.user
        self.password = ref.password

    def _take_query(self, ref: yarl.URL) -> None:
        self._parameters = ParametersBuilder._sharing(ref.query)
        self._raw_query = ref.raw_query_string
        self._raw_query_of = self._parameters
        self._raw_query_version = 0

    def _assemble(self, *, redact: bool = False, check: bool = True) -> str:
        scheme = self.scheme
        if check and _is_scheme(scheme) is None:
            raise InvalidUrlException(f"Invalid URL scheme {scheme!r}")
        parts = [scheme.lower(), "://"]
        if not redact and (self.user is not None or self.password is not None):
            parts.append(quote(self.user or "", safe=_USERINFO_SAFE))
            if self.password is not None:
                parts += (":", quote(self.password, safe=_USERINFO_SAFE))
            parts.append("@")
        host = self.host
        if ":" in host:
            parts += ("[", host.strip("[]").replace("%25", "%").replace("%", "%25"), "]")
        else:
            if check and not _BAD_BUILDER_HOST.isdisjoint(host):
                bad = next(ch for ch in host if ch in _BAD_BUILDER_HOST)
                raise InvalidUrlException(
                    f"Invalid host {host!r}: character {bad!r} is not allowed in a host"
                )
            parts.append(host)
        port = self.port
        if port is not None:
            if check and not 0 <= port <= 65535:
                raise InvalidUrlException(f"Invalid port {port!r}: expected 0 to 65535")
            parts += (":", str(port))
        path = self.encoded_path
        if path and not path.startswith("/"):
            parts.append("/")
        parts.append(path)
        params = self._parameters
        if params is self._raw_query_of and params._version == self._raw_query_version:
            query = self._raw_query
        else:
            query = _encode_query(params._data.items())
        if query:
            parts += ("?", query)
        if self.fragment:
            parts += ("#", quote(self.fragment, safe=_FRAGMENT_SAFE))
        return "".join(parts)

    def build(self) -> Url:
        """Build the URL.

        Returns:
            The URL.

        Raises:
            InvalidUrlException: If the parts do not make a valid absolute URL (bad
                scheme, missing or invalid host, port out of range, ...).
        """
        return Url(self._assemble())

    def build_string(self) -> str:
        """Build the URL and return its text (credentials included).

        Returns:
            The URL text.

        Raises:
            InvalidUrlException: If the parts do not make a valid absolute URL.
        """
        return str(self.build())

    def __repr__(self) -> str:
        return f"URLBuilder({self._assemble(redact=True, check=False)!r})"
