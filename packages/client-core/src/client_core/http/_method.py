"""HTTP request methods: ``HttpMethod``, a ``str`` that is a valid method token."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Final

from client_core.errors import InvalidRequestException
from client_core.http._headers import _is_token

__all__ = ["HttpMethod"]

_IDEMPOTENT: Final = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "QUERY"})
_SAFE: Final = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "QUERY"})


class HttpMethod(str):
    """An HTTP method: a ``str`` (``HttpMethod.GET == "GET"``) holding an RFC 9110 token.

    Methods are case-sensitive: ``HttpMethod("get")`` is a (non-standard) method of its
    own; ``HttpMethod.parse("get")`` gives the standard ``HttpMethod.GET``.

    Args:
        value: The method token, used as given.

    Raises:
        InvalidRequestException: If ``value`` is not a token (empty, spaces, ...).
        TypeError: If ``value`` is not a ``str``.
    """

    __slots__ = ()

    GET: ClassVar[HttpMethod]
    POST: ClassVar[HttpMethod]
    PUT: ClassVar[HttpMethod]
    PATCH: ClassVar[HttpMethod]
    DELETE: ClassVar[HttpMethod]
    HEAD: ClassVar[HttpMethod]
    OPTIONS: ClassVar[HttpMethod]
    TRACE: ClassVar[HttpMethod]
    CONNECT: ClassVar[HttpMethod]
    QUERY: ClassVar[HttpMethod]

    _STANDARD: ClassVar[Mapping[str, HttpMethod]]

    def __new__(cls, value: str) -> HttpMethod:
        if not isinstance(value, str):
            raise TypeError(f"HTTP method must be a str, got {type(value).__name__}: {value!r}")
        if _is_token(value) is None:
            shown = repr(value) if len(value) <= 40 else repr(value[:37]) + "..."
            raise InvalidRequestException(
                f"Invalid HTTP method {shown}: a method must be a non-empty token "
                "(letters, digits and !#$%&'*+-.^_`|~)"
            )
        return super().__new__(cls, value)

    @classmethod
    def parse(cls, value: str) -> HttpMethod:
        """Return the method named ``value``; standard methods are matched in any case.

        Args:
            value: A method name such as ``"GET"``, ``"post"`` or ``"PROPFIND"``.

        Returns:
            The shared constant for a standard method (``"get"`` gives ``GET``), else a
            method holding ``value`` as given.

        Raises:
            InvalidRequestException: If ``value`` is not a token.
            TypeError: If ``value`` is not a ``str``.
        """
        standard = cls._STANDARD
        method = standard.get(value)
        if method is not None:
            return method
        if type(value) is cls:
            return value
        if isinstance(value, str) and value.isascii():
            method = standard.get(value.upper())
            if method is not None:
                return method
        return cls(value)

    @property
    def value(self) -> str:
        """The method name as a plain ``str``."""
        return str(self)

    @property
    def is_idempotent(self) -> bool:
        """Whether repeating the request has the same effect as sending it once."""
        return self in _IDEMPOTENT

    @property
    def is_safe(self) -> bool:
        """Whether the method is read-only (GET, HEAD, OPTIONS, TRACE, QUERY)."""
        return self in _SAFE

    def __repr__(self) -> str:
        return f"HttpMethod({str(self)!r})"


HttpMethod.GET = HttpMethod("GET")
HttpMethod.POST = HttpMethod("POST")
HttpMethod.PUT = HttpMethod("PUT")
HttpMethod.PATCH = HttpMethod("PATCH")
HttpMethod.DELETE = HttpMethod("DELETE")
HttpMethod.HEAD = HttpMethod("HEAD")
HttpMethod.OPTIONS = HttpMethod("OPTIONS")
HttpMethod.TRACE = HttpMethod("TRACE")
HttpMethod.CONNECT = HttpMethod("CONNECT")
HttpMethod.QUERY = HttpMethod("QUERY")
HttpMethod._STANDARD = {str(m): m for m in vars(HttpMethod).values() if isinstance(m, HttpMethod)}
