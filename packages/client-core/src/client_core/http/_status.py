"""HTTP status codes: ``HttpStatusCode``, an ``int`` with a reason phrase."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

__all__ = ["HttpStatusCode"]


class HttpStatusCode(int):
    """An HTTP status code: an ``int`` (``HttpStatusCode.OK == 200``) with a description.

    Equality and hashing are those of the ``int``, whatever the description. Every
    IANA-registered code is a class constant (plus ``IM_A_TEAPOT``, 418, and Ktor's older
    names as aliases, e.g. ``PAYLOAD_TOO_LARGE`` for ``CONTENT_TOO_LARGE``). Use
    ``from_value`` to get the shared constant for a received code.

    Args:
        value: The code, from 100 to 999.
        description: The reason phrase.

    Raises:
        ValueError: If ``value`` is outside 100..999.
        TypeError: If ``value`` is not an ``int``.
    """

    # int subclasses cannot have non-empty __slots__: the description lives in __dict__.
    description: str
    """The reason phrase (``"Not Found"``)."""

    _BY_VALUE: ClassVar[Mapping[int, HttpStatusCode]]

    CONTINUE: ClassVar[HttpStatusCode]
    SWITCHING_PROTOCOLS: ClassVar[HttpStatusCode]
    PROCESSING: ClassVar[HttpStatusCode]
    EARLY_HINTS: ClassVar[HttpStatusCode]
    OK: ClassVar[HttpStatusCode]
    CREATED: ClassVar[HttpStatusCode]
    ACCEPTED: ClassVar[HttpStatusCode]
    NON_AUTHORITATIVE_INFORMATION: ClassVar[HttpStatusCode]
    NO_CONTENT: ClassVar[HttpStatusCode]
    RESET_CONTENT: ClassVar[HttpStatusCode]
    PARTIAL_CONTENT: ClassVar[HttpStatusCode]
    MULTI_STATUS: ClassVar[HttpStatusCode]
    ALREADY_REPORTED: ClassVar[HttpStatusCode]
    IM_USED: ClassVar[HttpStatusCode]
    MULTIPLE_CHOICES: ClassVar[HttpStatusCode]
    MOVED_PERMANENTLY: ClassVar[HttpStatusCode]
    FOUND: ClassVar[HttpStatusCode]
    SEE_OTHER: ClassVar[HttpStatusCode]
    NOT_MODIFIED: ClassVar[HttpStatusCode]
    USE_PROXY: ClassVar[HttpStatusCode]
    SWITCH_PROXY: ClassVar[HttpStatusCode]
    TEMPORARY_REDIRECT: ClassVar[HttpStatusCode]
    PERMANENT_REDIRECT: ClassVar[HttpStatusCode]
    BAD_REQUEST: ClassVar[HttpStatusCode]
    UNAUTHORIZED: ClassVar[HttpStatusCode]
    PAYMENT_REQUIRED: ClassVar[HttpStatusCode]
    FORBIDDEN: ClassVar[HttpStatusCode]
    NOT_FOUND: ClassVar[HttpStatusCode]
    METHOD_NOT_ALLOWED: ClassVar[HttpStatusCode]
    NOT_ACCEPTABLE: ClassVar[HttpStatusCode]
    PROXY_AUTHENTICATION_REQUIRED: ClassVar[HttpStatusCode]
    REQUEST_TIMEOUT: ClassVar[HttpStatusCode]
    CONFLICT: ClassVar[HttpStatusCode]
    GONE: ClassVar[HttpStatusCode]
    LENGTH_REQUIRED: ClassVar[HttpStatusCode]
    PRECONDITION_FAILED: ClassVar[HttpStatusCode]
    CONTENT_TOO_LARGE: ClassVar[HttpStatusCode]
    PAYLOAD_TOO_LARGE: ClassVar[HttpStatusCode]
    URI_TOO_LONG: ClassVar[HttpStatusCode]
    REQUEST_URI_TOO_LONG: ClassVar[HttpStatusCode]
    UNSUPPORTED_MEDIA_TYPE: ClassVar[HttpStatusCode]
    RANGE_NOT_SATISFIABLE: ClassVar[HttpStatusCode]
    REQUESTED_RANGE_NOT_SATISFIABLE: ClassVar[HttpStatusCode]
    EXPECTATION_FAILED: ClassVar[HttpStatusCode]
    IM_A_TEAPOT: ClassVar[HttpStatusCode]
    MISDIRECTED_REQUEST: ClassVar[HttpStatusCode]
    UNPROCESSABLE_CONTENT: ClassVar[HttpStatusCode]
    UNPROCESSABLE_ENTITY: ClassVar[HttpStatusCode]
    LOCKED: ClassVar[HttpStatusCode]
    FAILED_DEPENDENCY: ClassVar[HttpStatusCode]
    TOO_EARLY: ClassVar[HttpStatusCode]
    UPGRADE_REQUIRED: ClassVar[HttpStatusCode]
    PRECONDITION_REQUIRED: ClassVar[HttpStatusCode]
    TOO_MANY_REQUESTS: ClassVar[HttpStatusCode]
    REQUEST_HEADER_FIELDS_TOO_LARGE: ClassVar[HttpStatusCode]
    UNAVAILABLE_FOR_LEGAL_REASONS: ClassVar[HttpStatusCode]
    INTERNAL_SERVER_ERROR: ClassVar[HttpStatusCode]
    NOT_IMPLEMENTED: ClassVar[HttpStatusCode]
    BAD_GATEWAY: ClassVar[HttpStatusCode]
    SERVICE_UNAVAILABLE: ClassVar[HttpStatusCode]
    GATEWAY_TIMEOUT: ClassVar[HttpStatusCode]
    HTTP_VERSION_NOT_SUPPORTED: ClassVar[HttpStatusCode]
    VERSION_NOT_SUPPORTED: ClassVar[HttpStatusCode]
    VARIANT_ALSO_NEGOTIATES: ClassVar[HttpStatusCode]
    INSUFFICIENT_STORAGE: ClassVar[HttpStatusCode]
    LOOP_DETECTED: ClassVar[HttpStatusCode]
    NOT_EXTENDED: ClassVar[HttpStatusCode]
    NETWORK_AUTHENTICATION_REQUIRED: ClassVar[HttpStatusCode]

    def __new__(cls, value: int, description: str = "Unknown") -> HttpStatusCode:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"HTTP status code must be an int, got {type(value).__name__}")
        if not 100 <= value <= 999:
            raise ValueError(f"HTTP status code must be from 100 to 999, got {value}")
        self = super().__new__(cls, value)
        object.__setattr__(self, "description", description)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"HttpStatusCode is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"HttpStatusCode is immutable: cannot delete {name!r}")

    @classmethod
    def from_value(cls, code: int, description: str | None = None) -> HttpStatusCode:
        """Return the status for ``code``: the shared constant when it is a known code.

        Args:
            code: The numeric code.
            description: The reason phrase for an unknown code (``"Unknown"`` if not
                given). Ignored for known codes, which keep their standard phrase.

        Returns:
            The constant for a known code, else a new ``HttpStatusCode``.

        Raises:
            ValueError: If ``code`` is outside 100..999.
            TypeError: If ``code`` is not an ``int``.
        """
        known = cls._BY_VALUE.get(code)
        if known is not None:
            return known
        return cls(code, "Unknown" if description is None else description)

    @property
    def value(self) -> int:
        """The code as a plain ``int``."""
        return int(self)

    def is_informational(self) -> bool:
        """Tell whether the code is 1xx.

        Returns:
            ``True`` for 100..199.
        """
        return 100 <= self < 200

    def is_success(self) -> bool:
        """Tell whether the code is 2xx.

        Returns:
            ``True`` for 200..299.
        """
        return 200 <= self < 300

    def is_redirect(self) -> bool:
        """Tell whether the code is 3xx.

        Returns:
            ``True`` for 300..399.
        """
        return 300 <= self < 400

    def is_client_error(self) -> bool:
        """Tell whether the code is 4xx.

        Returns:
            ``True`` for 400..499.
        """
        return 400 <= self < 500

    def is_server_error(self) -> bool:
        """Tell whether the code is 5xx.

        Returns:
            ``True`` for 500..599.
        """
        return 500 <= self < 600

    def __str__(self) -> str:
        return f"{int(self)} {self.description}"

    def __repr__(self) -> str:
        return f"HttpStatusCode({int(self)}, {self.description!r})"

    def __reduce__(self) -> tuple[object, tuple[int, str]]:
        return (HttpStatusCode, (int(self), self.description))


_S = HttpStatusCode
_S.CONTINUE = _S(100, "Continue")
_S.SWITCHING_PROTOCOLS = _S(101, "Switching Protocols")
_S.PROCESSING = _S(102, "Processing")
_S.EARLY_HINTS = _S(103, "Early Hints")
_S.OK = _S(200, "OK")
_S.CREATED = _S(201, "Created")
_S.ACCEPTED = _S(202, "Accepted")
_S.NON_AUTHORITATIVE_INFORMATION = _S(203, "Non-Authoritative Information")
_S.NO_CONTENT = _S(204, "No Content")
_S.RESET_CONTENT = _S(205, "Reset Content")
_S.PARTIAL_CONTENT = _S(206, "Partial Content")
_S.MULTI_STATUS = _S(207, "Multi-Status")
_S.ALREADY_REPORTED = _S(208, "Already Reported")
_S.IM_USED = _S(226, "IM Used")
_S.MULTIPLE_CHOICES = _S(300, "Multiple Choices")
_S.MOVED_PERMANENTLY = _S(301, "Moved Permanently")
_S.FOUND = _S(302, "Found")
_S.SEE_OTHER = _S(303, "See Other")
_S.NOT_MODIFIED = _S(304, "Not Modified")
_S.USE_PROXY = _S(305, "Use Proxy")
_S.SWITCH_PROXY = _S(306, "Switch Proxy")
_S.TEMPORARY_REDIRECT = _S(307, "Temporary Redirect")
_S.PERMANENT_REDIRECT = _S(308, "Permanent Redirect")
_S.BAD_REQUEST = _S(400, "Bad Request")
_S.UNAUTHORIZED = _S(401, "Unauthorized")
_S.PAYMENT_REQUIRED = _S(402, "Payment Required")
_S.FORBIDDEN = _S(403, "Forbidden")
_S.NOT_FOUND = _S(404, "Not Found")
_S.METHOD_NOT_ALLOWED = _S(405, "Method Not Allowed")
_S.NOT_ACCEPTABLE = _S(406, "Not Acceptable")
_S.PROXY_AUTHENTICATION_REQUIRED = _S(407, "Proxy Authentication Required")
_S.REQUEST_TIMEOUT = _S(408, "Request Timeout")
_S.CONFLICT = _S(409, "Conflict")
_S.GONE = _S(410, "Gone")
_S.LENGTH_REQUIRED = _S(411, "Length Required")
_S.PRECONDITION_FAILED = _S(412, "Precondition Failed")
_S.CONTENT_TOO_LARGE = _S.PAYLOAD_TOO_LARGE = _S(413, "Content Too Large")
_S.URI_TOO_LONG = _S.REQUEST_URI_TOO_LONG = _S(414, "URI Too Long")
_S.UNSUPPORTED_MEDIA_TYPE = _S(415, "Unsupported Media Type")
_S.RANGE_NOT_SATISFIABLE = _S.REQUESTED_RANGE_NOT_SATISFIABLE = _S(416, "Range Not Satisfiable")
_S.EXPECTATION_FAILED = _S(417, "Expectation Failed")
_S.IM_A_TEAPOT = _S(418, "I'm a teapot")
_S.MISDIRECTED_REQUEST = _S(421, "Misdirected Request")
_S.UNPROCESSABLE_CONTENT = _S.UNPROCESSABLE_ENTITY = _S(422, "Unprocessable Content")
_S.LOCKED = _S(423, "Locked")
_S.FAILED_DEPENDENCY = _S(424, "Failed Dependency")
_S.TOO_EARLY = _S(425, "Too Early")
_S.UPGRADE_REQUIRED = _S(426, "Upgrade Required")
_S.PRECONDITION_REQUIRED = _S(428, "Precondition Required")
_S.TOO_MANY_REQUESTS = _S(429, "Too Many Requests")
_S.REQUEST_HEADER_FIELDS_TOO_LARGE = _S(431, "Request Header Fields Too Large")
_S.UNAVAILABLE_FOR_LEGAL_REASONS = _S(451, "Unavailable For Legal Reasons")
_S.INTERNAL_SERVER_ERROR = _S(500, "Internal Server Error")
_S.NOT_IMPLEMENTED = _S(501, "Not Implemented")
_S.BAD_GATEWAY = _S(502, "Bad Gateway")
_S.SERVICE_UNAVAILABLE = _S(503, "Service Unavailable")
_S.GATEWAY_TIMEOUT = _S(504, "Gateway Timeout")
_S.HTTP_VERSION_NOT_SUPPORTED = _S.VERSION_NOT_SUPPORTED = _S(505, "HTTP Version Not Supported")
_S.VARIANT_ALSO_NEGOTIATES = _S(506, "Variant Also Negotiates")
_S.INSUFFICIENT_STORAGE = _S(507, "Insufficient Storage")
_S.LOOP_DETECTED = _S(508, "Loop Detected")
_S.NOT_EXTENDED = _S(510, "Not Extended")
_S.NETWORK_AUTHENTICATION_REQUIRED = _S(511, "Network Authentication Required")
_S._BY_VALUE = {code.value: code for code in vars(_S).values() if isinstance(code, HttpStatusCode)}
del _S
