"""Routes: request patterns with a canned answer, checked before the handler queue."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeAlias

from client_core.engine import HttpResponseData
from client_core.http import HttpMethod, Url
from client_mock._responses import Content, HeadersLike, respond

if TYPE_CHECKING:
    from client_mock._request import MockRequest

__all__ = ["Handler", "ParamsLike", "Route"]

_SENSITIVE: Final = frozenset({"authorization", "proxy-authorization", "cookie"})

Handler: TypeAlias = Callable[["MockRequest"], "HttpResponseData | Awaitable[HttpResponseData]"]
"""A request handler: sync or async, receives a :class:`MockRequest`, returns a response."""

ParamsLike: TypeAlias = Mapping[
    str, "str | int | float | bool | Sequence[str | int | float | bool]"
]
"""Query parameters to match: a list value means the parameter repeats."""


def _param_text(value: str | int | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _param_pairs(params: ParamsLike) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, value in params.items():
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((name, _param_text(v)) for v in values)  # type: ignore[arg-type]
    return pairs


def _base(url: Url) -> tuple[str, str, int | None, str]:
    """Scheme, host, effective port and path: what an exact match compares besides the query."""
    return (url.scheme, url.host, url.port, url.encoded_path or "/")


class Route:
    """A request pattern and what to answer; build one with ``engine.route(...)``.

    Every given criterion must hold for a request to match:

    - ``method``: the request method (standard methods in any case);
    - ``url``: scheme, host, port and path equal after normalization (host case, default
      port, percent-encoding), and the query equal as a multiset (parameter order does
      not matter). With ``params`` as well, the expected query is the URL's plus
      ``params``;
    - ``url_prefix``: the normalized request URL starts with this text;
    - ``url_regex``: :func:`re.search` finds the pattern in the request URL (anchor it
      with ``^...$`` for a full match);
    - ``params`` (without ``url``): the request has these parameters with exactly these
      values (other parameters may be present);
    - ``headers``: the request has each header with this value (any case for the name);
      a list value requires each of its values.

    A route answers with ``200 OK`` and no body until :meth:`respond`, :meth:`mock` or
    :meth:`raise_` says otherwise; the last of these calls wins.

    Args:
        method: The method to match, or ``None`` for any.
        url: The exact URL to match.
        url_prefix: A URL prefix to match.
        url_regex: A regular expression the URL must contain a match of.
        params: Query parameters to match.
        headers: Headers to match.
        assert_called: Whether the ``mock_engine`` pytest fixture fails a test that never
            calls this route.

    Raises:
        ValueError: More than one of ``url``, ``url_prefix`` and ``url_regex`` is given.
        InvalidUrlException: ``url`` or ``url_prefix`` is not a valid absolute URL.
        InvalidRequestException: ``method`` is not a valid method token.
        re.error: ``url_regex`` is not a valid regular expression.
    """

    __slots__ = (
        "_handler",
        "_match_params",
        "_query",
        "_url_base",
        "assert_called",
        "calls",
        "headers",
        "method",
        "params",
        "url",
        "url_prefix",
        "url_regex",
    )

    def __init__(
        self,
        method: str | None = None,
        url: str | Url | None = None,
        *,
        url_prefix: str | Url | None = None,
        url_regex: str | re.Pattern[str] | None = None,
        params: ParamsLike | None = None,
        headers: Mapping[str, str | int | Sequence[str | int]] | None = None,
        assert_called: bool = True,
    ) -> None:
        given = [
            name
            for name, value in (("url", url), ("url_prefix", url_prefix), ("url_regex", url_regex))
            if value is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give at most one of url=, url_prefix= and url_regex=, got {given}")
        self.method: HttpMethod | None = HttpMethod.parse(method) if method is not None else None
        self.url: Url | None = Url(url) if url is not None else None
        self.url_prefix: str | None = str(Url(url_prefix)) if url_prefix is not None else None
        self.url_regex: re.Pattern[str] | None = (
            re.compile(url_regex) if isinstance(url_regex, str) else url_regex
        )
        self.params: list[tuple[str, str]] | None = (
            _param_pairs(params) if params is not None else None
        )
        self.headers: list[tuple[str, str]] | None = None
        if headers is not None:
            pairs: list[tuple[str, str]] = []
            for name, value in headers.items():
                values = value if isinstance(value, list | tuple) else [value]
                pairs.extend((name, str(v).strip(" \t")) for v in values)
            self.headers = pairs
        self.assert_called = assert_called
        self.calls: list[MockRequest] = []
        self._handler: Handler = _default_handler
        self._url_base = _base(self.url) if self.url is not None else None
        self._query: Counter[tuple[str, str]] | None = None
        if self.url is not None:
            self._query = Counter(self.url.parameters.items()) + Counter(self.params or ())
        self._match_params: dict[str, Counter[str]] | None = None
        if self.url is None and self.params is not None:
            grouped: dict[str, Counter[str]] = {}
            for name, value in self.params:
                grouped.setdefault(name, Counter())[value] += 1
            self._match_params = grouped

    # -- answers ---------------------------------------------------------------------------

    def respond(
        self,
        content: Content = b"",
        status: int = 200,
        headers: HeadersLike | None = None,
        *,
        version: str = "HTTP/1.1",
        chunk_delay: float | None = None,
    ) -> Route:
        """Answer matching requests with this response (built anew for every request).

        Args:
            content: As for :func:`~client_mock.respond`. An async iterable can be read
                only once, so give a list of chunks for a route called several times.
            status: The status code.
            headers: Response headers.
            version: The protocol version reported.
            chunk_delay: Seconds to sleep between streamed chunks.

        Returns:
            This route.

        Raises:
            TypeError: As for :func:`~client_mock.respond`.
            ValueError: As for :func:`~client_mock.respond`.
        """
        respond(content, status, headers, version=version, chunk_delay=chunk_delay)  # validate

        def answer(request: MockRequest) -> HttpResponseData:
            return respond(content, status, headers, version=version, chunk_delay=chunk_delay)

        self._handler = answer
        return self

    def mock(self, handler: Handler) -> Route:
        """Answer matching requests with ``handler`` (sync or async).

        Args:
            handler: ``(MockRequest) -> HttpResponseData``; it may raise.

        Returns:
            This route.

        Raises:
            TypeError: ``handler`` is not callable.
        """
        if not callable(handler):
            raise TypeError(f"handler must be callable, got {handler!r}")
        self._handler = handler
        return self

    def raise_(self, exc: BaseException | type[BaseException]) -> Route:
        """Make matching requests fail with ``exc`` (an exception or its class).

        Use ``client_core.errors`` exceptions to simulate network failures, e.g.
        ``route.raise_(ConnectException("connection refused"))``.

        Args:
            exc: The exception to raise, or a class instantiated with no arguments.

        Returns:
            This route.

        Raises:
            TypeError: ``exc`` is not an exception or exception class.
        """
        if not (
            isinstance(exc, BaseException)
            or (isinstance(exc, type) and issubclass(exc, BaseException))
        ):
            raise TypeError(f"raise_() takes an exception or exception class, got {exc!r}")

        def fail(request: MockRequest) -> HttpResponseData:
            raise exc

        self._handler = fail
        return self

    # -- state -----------------------------------------------------------------------------

    @property
    def handler(self) -> Handler:
        """What answers matching requests."""
        return self._handler

    @property
    def called(self) -> bool:
        """True once a request matched this route."""
        return bool(self.calls)

    @property
    def call_count(self) -> int:
        """How many requests matched this route."""
        return len(self.calls)

    def reset(self) -> None:
        """Forget the calls recorded so far."""
        self.calls.clear()

    # -- matching --------------------------------------------------------------------------

    def matches(self, request: MockRequest) -> bool:
        """Tell whether ``request`` matches every criterion of this route.

        Args:
            request: The request.

        Returns:
            True on a match.
        """
        if self.method is not None and request.method != self.method:
            return False
        url = request.url
        if self._url_base is not None:
            if _base(url) != self._url_base:
                return False
            if Counter(url.parameters.items()) != self._query:
                return False
        if self.url_prefix is not None and not str(url).startswith(self.url_prefix):
            return False
        if self.url_regex is not None and self.url_regex.search(str(url)) is None:
            return False
        if self._match_params is not None:
            params = url.parameters
            for name, expected in self._match_params.items():
                if Counter(params.get_all(name)) != expected:
                    return False
        if self.headers is not None:
            for name, value in self.headers:
                if value not in request.headers.get_all(name):
                    return False
        return True

    def describe(self) -> str:
        """Return a one-line description of the criteria, for messages.

        Returns:
            E.g. ``"GET https://example.com/users params={'page': '2'}"``.
        """
        parts = [str(self.method) if self.method is not None else "*"]
        if self.url is not None:
            parts.append(self.url.redacted())
        elif self.url_prefix is not None:
            parts.append(f"{Url(self.url_prefix).redacted()}*")
        elif self.url_regex is not None:
            parts.append(f"~{self.url_regex.pattern!r}")
        else:
            parts.append("<any URL>")
        if self.params is not None:
            parts.append(f"params={self.params!r}")
        if self.headers is not None:
            shown = [(k, "[redacted]" if k.lower() in _SENSITIVE else v) for k, v in self.headers]
            parts.append(f"headers={shown!r}")
        return " ".join(parts)

    def __repr__(self) -> str:
        return f"<Route {self.describe()} calls={self.call_count}>"


def _default_handler(request: Any) -> HttpResponseData:
    return respond()
