"""Media types: ``ContentType``, Ktor's ``ContentType`` with its constant groups."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar, Final

from client_core.errors import InvalidHeaderException
from client_core.http._headers import _is_token, _shown

__all__ = ["ContentType"]


def _has_crlf(text: str) -> bool:
    return "\r" in text or "\n" in text or "\x00" in text


def _render_value(value: str) -> str:
    if value and _is_token(value) is not None:
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _parse_parameters(text: str) -> tuple[tuple[str, str], ...]:
    """Parse ``name=value`` pairs separated by ``;``, skipping malformed ones."""
    params: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while i < n:
        j = i
        while j < n and text[j] not in "=;":
            j += 1
        name = text[i:j].strip(" \t")
        value = ""
        if j < n and text[j] == "=":
            j += 1
            while j < n and text[j] in " \t":
                j += 1
            if j < n and text[j] == '"':
                chars: list[str] = []
                j += 1
                while j < n and text[j] != '"':
                    if text[j] == "\\" and j + 1 < n:
                        j += 1
                    chars.append(text[j])
                    j += 1
                value = "".join(chars)
                end = text.find(";", j)  # anything between the quote and ';' is ignored
            else:
                end = text.find(";", j)
                value = text[j : n if end < 0 else end].strip(" \t")
            j = n if end < 0 else end
        if name and _is_token(name) is not None:
            params.append((name, value))
        i = j + 1
    return tuple(params)


class ContentType:
    """A media type such as ``text/plain; charset=utf-8``; an immutable value.

    Type, subtype and parameter names compare case-insensitively (the ``charset`` value
    too); parameter order does not matter for equality. Constants are grouped as in Ktor:
    ``ContentType.Application.JSON``, ``ContentType.Text.PLAIN``,
    ``ContentType.MultiPart.FORM_DATA``, ``ContentType.Image.PNG``, ``ContentType.ANY``.

    Args:
        content_type: The type (``"text"``), a token or ``"*"``.
        content_subtype: The subtype (``"plain"``), a token or ``"*"``.
        parameters: ``(name, value)`` pairs; names are tokens, values must not hold CR,
            LF or NUL.

    Raises:
        InvalidHeaderException: If a type, subtype or parameter name is not a token, a
            value holds CR, LF or NUL, or the type is ``*`` with a concrete subtype.
    """

    __slots__ = ("_key", "_parameters", "_subtype", "_text", "_type")

    ANY: ClassVar[ContentType]
    """``*/*``."""
    Application: ClassVar[type[_Application]]
    Text: ClassVar[type[_Text]]
    MultiPart: ClassVar[type[_MultiPart]]
    Image: ClassVar[type[_Image]]
    _KNOWN: ClassVar[Mapping[str, ContentType]]

    _type: str
    _subtype: str
    _parameters: tuple[tuple[str, str], ...]
    _text: str | None
    _key: tuple[str, str, tuple[tuple[str, str], ...]] | None

    def __init__(
        self,
        content_type: str,
        content_subtype: str,
        parameters: Iterable[tuple[str, str]] = (),
    ) -> None:
        if (
            _is_token(content_type) is None
            or _is_token(content_subtype) is None
            or (content_type == "*" and content_subtype != "*")
        ):
            raise InvalidHeaderException(
                f"Invalid content type {content_type!r}/{content_subtype!r}: type and "
                "subtype must be tokens, and '*/subtype' is not allowed"
            )
        params = tuple(parameters)
        for name, value in params:
            _check_parameter(name, value)
        self._type = content_type
        self._subtype = content_subtype
        self._parameters = params
        self._text = None
        self._key = None

    @classmethod
    def _wrap(
        cls, content_type: str, content_subtype: str, parameters: tuple[tuple[str, str], ...]
    ) -> ContentType:
        """Build from already validated parts."""
        self = object.__new__(cls)
        self._type = content_type
        self._subtype = content_subtype
        self._parameters = parameters
        self._text = None
        self._key = None
        return self

    @classmethod
    def parse(cls, text: str) -> ContentType:
        """Parse a ``Content-Type`` (or ``Accept`` item) value.

        Lenient: spaces around ``/``, ``;`` and ``=`` are ignored, values may be quoted
        (with backslash escapes), malformed parameters are dropped.

        Args:
            text: The value, such as ``'text/html; charset="utf-8"'``.

        Returns:
            The content type; a shared constant for common values.

        Raises:
            InvalidHeaderException: If there is no valid ``type/subtype`` (``""``,
                ``"noslash"``, ``"a b/c"``) or the text holds CR, LF or NUL.
        """
        known = cls._KNOWN.get(text)
        if known is not None:
            return known
        if _has_crlf(text):
            raise InvalidHeaderException(
                f"Invalid Content-Type {_shown(text)}: contains CR, LF or NUL"
            )
        mime, sep, rest = text.partition(";")
        type_, slash, subtype = mime.partition("/")
        type_ = type_.strip(" \t")
        subtype = subtype.strip(" \t")
        if (
            not slash
            or _is_token(type_) is None
            or _is_token(subtype) is None
            or (type_ == "*" and subtype != "*")
        ):
            raise InvalidHeaderException(
                f"Invalid Content-Type {_shown(text)}: expected 'type/subtype' such as 'text/plain'"
            )
        return cls._wrap(type_, subtype, _parse_parameters(rest) if sep else ())

    @property
    def content_type(self) -> str:
        """The type, as given (``"text"``)."""
        return self._type

    @property
    def content_subtype(self) -> str:
        """The subtype, as given (``"plain"``)."""
        return self._subtype

    @property
    def parameters(self) -> tuple[tuple[str, str], ...]:
        """The ``(name, value)`` parameters, in order, values unquoted."""
        return self._parameters

    @property
    def mime_type(self) -> str:
        """``"type/subtype"`` without parameters."""
        return f"{self._type}/{self._subtype}"

    @property
    def charset(self) -> str | None:
        """The ``charset`` parameter, lowercase, or ``None``."""
        for name, value in self._parameters:
            if name.lower() == "charset":
                return value.lower()
        return None

    def parameter(self, name: str) -> str | None:
        """Return the value of parameter ``name`` (any case).

        Args:
            name: The parameter name.

        Returns:
            The first value of that parameter, or ``None``.
        """
        lname = name.lower()
        for key, value in self._parameters:
            if key.lower() == lname:
                return value
        return None

    def with_parameter(self, name: str, value: str) -> ContentType:
        """Return this type with parameter ``name`` set to ``value``.

        Args:
            name: The parameter name; existing values of it (any case) are replaced.
            value: The value.

        Returns:
            The new content type (this one if it already has exactly that parameter).

        Raises:
            InvalidHeaderException: If the name is not a token or the value holds CR,
                LF or NUL.
        """
        _check_parameter(name, value)
        lname = name.lower()
        kept = tuple((k, v) for k, v in self._parameters if k.lower() != lname)
        if len(kept) == len(self._parameters) - 1 and (name, value) in self._parameters:
            return self
        return ContentType._wrap(self._type, self._subtype, (*kept, (name, value)))

    def with_charset(self, charset: str) -> ContentType:
        """Return this type with its ``charset`` parameter set.

        Args:
            charset: The charset name, such as ``"utf-8"``.

        Returns:
            The new content type.

        Raises:
            InvalidHeaderException: If the charset holds CR, LF or NUL.
        """
        return self.with_parameter("charset", charset)

    def without_parameters(self) -> ContentType:
        """Return this type without any parameter.

        Returns:
            The bare ``type/subtype`` (this one if it has no parameter).
        """
        if not self._parameters:
            return self
        return ContentType._wrap(self._type, self._subtype, ())

    def match(self, pattern: ContentType | str) -> bool:
        """Tell whether this type matches ``pattern``.

        ``*`` in the pattern's type or subtype matches anything; every parameter of the
        pattern must be present here with an equal value (case-insensitive), or with any
        value if the pattern's value is ``*``.

        Args:
            pattern: A content type or its text, such as ``"text/*"``.

        Returns:
            ``True`` when it matches.

        Raises:
            InvalidHeaderException: If ``pattern`` is text that cannot be parsed.
        """
        if isinstance(pattern, str):
            pattern = ContentType.parse(pattern)
        if pattern._type != "*" and pattern._type.lower() != self._type.lower():
            return False
        if pattern._subtype != "*" and pattern._subtype.lower() != self._subtype.lower():
            return False
        for name, expected in pattern._parameters:
            lname = name.lower()
            values = [v.lower() for k, v in self._parameters if k.lower() == lname]
            if not values or (expected != "*" and expected.lower() not in values):
                return False
        return True

    def _compare_key(self) -> tuple[str, str, tuple[tuple[str, str], ...]]:
        key = self._key
        if key is None:
            params = sorted(
                (k.lower(), v.lower() if k.lower() == "charset" else v) for k, v in self._parameters
            )
            key = self._key = (self._type.lower(), self._subtype.lower(), tuple(params))
        return key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContentType):
            return NotImplemented
        return self is other or self._compare_key() == other._compare_key()

    def __hash__(self) -> int:
        return hash(self._compare_key())

    def __str__(self) -> str:
        text = self._text
        if text is None:
            text = f"{self._type}/{self._subtype}"
            if self._parameters:
                text += "".join(f"; {k}={_render_value(v)}" for k, v in self._parameters)
            self._text = text
        return text

    def __repr__(self) -> str:
        return f"ContentType({str(self)!r})"


def _check_parameter(name: str, value: str) -> None:
    if not isinstance(name, str) or _is_token(name) is None:
        raise InvalidHeaderException(
            f"Invalid content type parameter name {name!r}: must be a token"
        )
    if not isinstance(value, str):
        raise TypeError(
            f"Value of content type parameter {name!r} must be a str, "
            f"got {type(value).__name__}: {value!r}"
        )
    if _has_crlf(value):
        raise InvalidHeaderException(
            f"Invalid value for content type parameter {name!r}: {_shown(value)} "
            "contains CR, LF or NUL"
        )


class _Application:
    """``application/*`` types: ``ContentType.Application.JSON`` and so on."""

    __slots__ = ()

    ANY: Final = ContentType("application", "*")
    ATOM: Final = ContentType("application", "atom+xml")
    CBOR: Final = ContentType("application", "cbor")
    FORM_URL_ENCODED: Final = ContentType("application", "x-www-form-urlencoded")
    GZIP: Final = ContentType("application", "gzip")
    JAVASCRIPT: Final = ContentType("application", "javascript")
    JSON: Final = ContentType("application", "json")
    NDJSON: Final = ContentType("application", "x-ndjson")
    OCTET_STREAM: Final = ContentType("application", "octet-stream")
    PDF: Final = ContentType("application", "pdf")
    PROBLEM_JSON: Final = ContentType("application", "problem+json")
    PROBLEM_XML: Final = ContentType("application", "problem+xml")
    PROTOBUF: Final = ContentType("application", "protobuf")
    RSS: Final = ContentType("application", "rss+xml")
    WASM: Final = ContentType("application", "wasm")
    XML: Final = ContentType("application", "xml")
    YAML: Final = ContentType("application", "yaml")
    ZIP: Final = ContentType("application", "zip")


class _Text:
    """``text/*`` types: ``ContentType.Text.PLAIN`` and so on."""

    __slots__ = ()

    ANY: Final = ContentType("text", "*")
    CSS: Final = ContentType("text", "css")
    CSV: Final = ContentType("text", "csv")
    EVENT_STREAM: Final = ContentType("text", "event-stream")
    HTML: Final = ContentType("text", "html")
    JAVASCRIPT: Final = ContentType("text", "javascript")
    PLAIN: Final = ContentType("text", "plain")
    XML: Final = ContentType("text", "xml")


class _MultiPart:
    """``multipart/*`` types: ``ContentType.MultiPart.FORM_DATA`` and so on."""

    __slots__ = ()

    ANY: Final = ContentType("multipart", "*")
    ALTERNATIVE: Final = ContentType("multipart", "alternative")
    BYTE_RANGES: Final = ContentType("multipart", "byteranges")
    ENCRYPTED: Final = ContentType("multipart", "encrypted")
    FORM_DATA: Final = ContentType("multipart", "form-data")
    MIXED: Final = ContentType("multipart", "mixed")
    RELATED: Final = ContentType("multipart", "related")
    SIGNED: Final = ContentType("multipart", "signed")


class _Image:
    """``image/*`` types: ``ContentType.Image.PNG`` and so on."""

    __slots__ = ()

    ANY: Final = ContentType("image", "*")
    AVIF: Final = ContentType("image", "avif")
    GIF: Final = ContentType("image", "gif")
    ICO: Final = ContentType("image", "x-icon")
    JPEG: Final = ContentType("image", "jpeg")
    PNG: Final = ContentType("image", "png")
    SVG: Final = ContentType("image", "svg+xml")
    WEBP: Final = ContentType("image", "webp")


def _known_types() -> dict[str, ContentType]:
    """Map the text of common content types to shared instances (``parse`` fast path)."""
    known: dict[str, ContentType] = {"*/*": ContentType.ANY}
    for group in (_Application, _Text, _MultiPart, _Image):
        for value in vars(group).values():
            if isinstance(value, ContentType):
                known[str(value)] = value
    for base in ("application/json", "text/plain", "text/html", "text/css", "text/csv"):
        for suffix in ("; charset=utf-8", "; charset=UTF-8", ";charset=utf-8", ";charset=UTF-8"):
            text = base + suffix
            mime, _, rest = text.partition(";")
            type_, _, subtype = mime.partition("/")
            known[text] = ContentType._wrap(type_, subtype, _parse_parameters(rest))
    return known


for _group, _name in (
    (_Application, "Application"),
    (_Text, "Text"),
    (_MultiPart, "MultiPart"),
    (_Image, "Image"),
):
    _group.__qualname__ = f"ContentType.{_name}"
del _group, _name
ContentType.ANY = ContentType("*", "*")
ContentType.Application = _Application
ContentType.Text = _Text
ContentType.MultiPart = _MultiPart
ContentType.Image = _Image
ContentType._KNOWN = _known_types()
