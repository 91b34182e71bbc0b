"""Sans-IO HTTP/1.1 pieces: request serialization and the h11 response parser.

Requests are serialized here (the core already validated method, URL and headers, so
this is string joining); responses are parsed by an ``h11.Connection`` that is told about
each request with a small stand-in event carrying only what shapes the response framing
(the method, and ``Connection: close``). That keeps h11 as the state machine for
everything the peer sends (framing, keep-alive, HTTP/1.0, trailers) without paying for
h11's request validation, and lets several requests be written before their responses
are read (pipelining). Nothing here does I/O: it is tested with bytes alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, NamedTuple

import h11

__all__ = [
    "END_CHUNKS",
    "ResponseHead",
    "ResponseParser",
    "parse_simple_head",
    "encode_chunk",
    "encode_request_head",
    "frame_body_headers",
]

END_CHUNKS: Final = b"0\r\n\r\n"
"""The last chunk of a chunked body, with no trailers."""

_METHODS_WITH_BODY: Final = frozenset({"POST", "PUT", "PATCH"})
_HOST: Final = "host"


def frame_body_headers(method: str, content_length: int | None) -> str:
    """Return the framing header lines for a body (``""`` when none is needed).

    Args:
        method: The request method.
        content_length: The body length, or ``None`` for a stream of unknown length.

    Returns:
        ``Transfer-Encoding: chunked`` for unknown lengths, ``Content-Length: n`` for
        non-empty bodies (and for empty bodies of methods that normally carry one).
    """
    if content_length is None:
        return "Transfer-Encoding: chunked\r\n"
    if content_length or method in _METHODS_WITH_BODY:
        return f"Content-Length: {content_length}\r\n"
    return ""


def encode_request_head(
    method: str,
    target: str,
    headers: Iterable[tuple[str, str]],
    authority: str,
    framing: str,
    extra: str = "",
) -> bytes:
    """Serialize a request line and headers.

    Header values are sent as Latin-1 when they fit, else as UTF-8 (the core has already
    rejected CR, LF and NUL in values and non-token names).

    Args:
        method: The request method.
        target: The request target (origin form, or absolute form for a forward proxy).
        headers: Header pairs as given by the user and plugins.
        authority: The ``Host`` value, added unless ``headers`` already have one.
        framing: Header lines from :func:`frame_body_headers`.
        extra: More ready header lines (``Proxy-Authorization`` ...), each ending CRLF.

    Returns:
        The request head, ending with the empty line.
    """
    parts = [method, " ", target, " HTTP/1.1\r\n"]
    has_host = False
    for name, value in headers:
        if not has_host and name.lower() == _HOST:
            has_host = True
        parts += (name, ": ", value, "\r\n")
    if not has_host:
        parts[4:4] = ("Host: ", authority, "\r\n")
    parts += (framing, extra, "\r\n")
    text = "".join(parts)
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def encode_chunk(data: bytes) -> bytes:
    """Frame ``data`` as one chunk of a chunked body.

    Args:
        data: A non-empty piece of the body.

    Returns:
        The chunk, size line and CRLFs included.
    """
    return b"%x\r\n%s\r\n" % (len(data), data)


class ResponseHead(NamedTuple):
    """A parsed response head, from :func:`parse_simple_head` or from h11.

    Attributes:
        status: The status code.
        reason: The reason phrase, raw.
        http_version: ``b"1.1"`` or ``b"1.0"``.
        headers: The header pairs as received (names in their original case).
        length: The body length when the framing is known and simple (``None`` when h11
            reads the body: chunked, read-until-close).
        keep_alive: Whether the connection may carry another request afterwards.
        size: The size of the head in bytes (status line to the empty line).
    """

    status: int
    reason: bytes
    http_version: bytes
    headers: list[tuple[bytes, bytes]]
    length: int | None
    keep_alive: bool
    size: int


_STATUS_LINE: Final = re.compile(rb"HTTP/1\.1 ([2-9][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?")
_TOKEN: Final = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
# Control characters other than HTAB, CR and LF (CR and LF are checked by counting).
_CONTROL: Final = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NO_BODY: Final = frozenset({204, 304})


def parse_simple_head(data: bytes, method: str, close: bool) -> ResponseHead | None:
    """Parse a common response head quickly, or return ``None`` to let h11 do it.

    Only the plain case is handled here: ``HTTP/1.1``, a final status (2xx-9xx), token
    header names, no control characters, no line folding, and a body framed by one
    ``Content-Length`` (or no body: ``HEAD``, 204, 304). Anything else (an incomplete
    or unusual head, 1xx, chunked, read-until-close, HTTP/1.0, anything h11 might reject)
    returns ``None``, and the caller parses it with :class:`ResponseParser`: h11 stays
    the authority for every case this function does not fully understand.

    Args:
        data: The bytes received so far.
        method: The request method.
        close: Whether the request asked to close the connection.

    Returns:
        The head, or ``None``.
    """
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = data[:end]
    crlf = head.count(b"\r\n")
    if head.count(b"\r") != crlf or head.count(b"\n") != crlf or _CONTROL.search(head):
        return None  # a bare CR or LF, or a control character
    lines = head.split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        return None
    status = int(match[1])
    headers: list[tuple[bytes, bytes]] = []
    length: int | None = None
    keep_alive = not close
    token = _TOKEN.fullmatch
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or token(name) is None:
            return None
        value = value.strip(b" \t")
        lower = name.lower()
        if lower == b"content-length":
            if length is not None or not value.isdigit() or len(value) > 18:
                return None
            length = int(value)
        elif lower == b"transfer-encoding":
            return None
        elif lower == b"connection" and b"close" in value.lower():
            keep_alive = False
        headers.append((name, value))
    if method == "HEAD" or status in _NO_BODY:
        length = 0
    elif length is None or method == "CONNECT":
        return None
    return ResponseHead(status, match[2] or b"", b"1.1", headers, length, keep_alive, end + 4)


def _stand_in(method: str, close: bool) -> h11.Request:
    headers = [("Host", "cio")]
    if close:
        headers.append(("Connection", "close"))
    return h11.Request(method=method, target="/", headers=headers)


_STAND_INS: Final = {
    (method, close): _stand_in(method, close)
    for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
    for close in (False, True)
}
_END: Final = h11.EndOfMessage()


class ResponseParser:
    """Parses the responses of one connection, in the order the requests were sent.

    Call :meth:`start` with each request's method before parsing its response, feed the
    received bytes with :meth:`feed`, take events with :meth:`next_event`, and call
    :meth:`finish` after the end of each response.

    Args:
        max_head_size: The largest response head accepted, in bytes.
    """

    __slots__ = ("_h11",)

    def __init__(self, max_head_size: int = 65536) -> None:
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=max_head_size)

    def start(self, method: str, close: bool = False) -> None:
        """Announce the next request, whose response is parsed next.

        Args:
            method: Its method (``HEAD`` and ``CONNECT`` responses have no body).
            close: Whether it asked the server to close the connection.

        Raises:
            h11.LocalProtocolError: The previous response was not finished.
        """
        event = _STAND_INS.get((method, close))
        if event is None:
            event = _stand_in(method, close)
        conn = self._h11
        conn.send(event)
        conn.send(_END)

    def feed(self, data: bytes) -> None:
        """Hand received bytes to the parser; ``b""`` means the peer closed.

        Args:
            data: The bytes.
        """
        self._h11.receive_data(data)

    def next_event(self) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
        """Return the next parsed event, or ``h11.NEED_DATA``.

        Returns:
            ``InformationalResponse``, ``Response``, ``Data``, ``EndOfMessage``,
            ``ConnectionClosed``, ``NEED_DATA`` or ``PAUSED``.

        Raises:
            h11.RemoteProtocolError: The peer broke HTTP/1.1.
        """
        return self._h11.next_event()

    def finish(self) -> bool:
        """End the current exchange after its response ended.

        Returns:
            True when the connection can carry another request; False when it must be
            closed (``Connection: close``, HTTP/1.0, read-until-close bodies ...).
        """
        conn = self._h11
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            return True
        return False

    @property
    def is_idle(self) -> bool:
        """True between exchanges: nothing announced, nothing pending."""
        return self._h11.our_state is h11.IDLE

    @property
    def has_buffered_data(self) -> bool:
        """True when bytes the peer sent have not been parsed yet."""
        return bool(self._h11.trailing_data[0])

    @property
    def trailing_data(self) -> bytes:
        """Bytes received after a switch of protocols (after a ``CONNECT`` response)."""
        return bytes(self._h11.trailing_data[0])
