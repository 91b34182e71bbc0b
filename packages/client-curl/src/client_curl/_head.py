"""Response heads from the header lines libcurl delivers, parsed without any I/O.

libcurl writes every header line as raw bytes, CRLF included, into the handle's header
store, and the driver splits them into lines: interim ``1xx`` heads, the final head, and
after the body the trailers of a chunked response. ``CONNECT`` responses of a proxy are
suppressed (``SUPPRESS_CONNECT_HEADERS``).
"""

from __future__ import annotations

import operator
from typing import Final, NamedTuple

__all__ = ["Head", "HeadError", "HeadParser", "find_head", "parse_fields", "parse_fields_leniently"]

_BLANK: Final = b"\r\n"
_MAX_STATUS_LINES: Final = 256
_PARTITION_COLON: Final = operator.methodcaller("partition", ":")
_new_tuple: Final = tuple.__new__


class HeadError(ValueError):
    """The header lines do not form a valid response head."""


class Head(NamedTuple):
    """A final response head; its field lines are parsed only when asked for.

    Attributes:
        version: ``"HTTP/1.0"``, ``"HTTP/1.1"``, ``"HTTP/2"`` or ``"HTTP/3"``.
        status: The status code.
        reason: The reason phrase (``""`` for HTTP/2 and HTTP/3).
        lines: The raw header field lines (no status line, no blank line).
        end: The index of the first line after the head (trailers start there).
    """

    version: str
    status: int
    reason: str
    lines: list[bytes]
    end: int

    @property
    def fields(self) -> list[tuple[str, str]]:
        """``(name, value)`` pairs in the order received, decoded as Latin-1.

        Raises:
            HeadError: A line is malformed.
        """
        return parse_fields(self.lines)

    def lenient_fields(self) -> list[tuple[str, str]]:
        """Like :attr:`fields`, skipping malformed lines instead of raising."""
        return parse_fields_leniently(self.lines)


def parse_fields(lines: list[bytes]) -> list[tuple[str, str]]:
    r"""Parse header field lines (``b"Name: value\r\n"``) into decoded pairs.

    Obsolete line folding (a line starting with a space or tab) continues the previous
    value, joined with one space.

    Args:
        lines: The field lines, without the status line and the blank line.

    Returns:
        ``(name, value)`` pairs, values stripped of surrounding whitespace.

    Raises:
        HeadError: A line has no colon, or a folded line comes first.
    """
    if not lines:
        return []
    text = b"".join(lines).decode("latin-1")
    if "\r\n " not in text and "\r\n\t" not in text and text[0] not in " \t":
        pairs = [
            (name, value.strip())
            for name, colon, value in map(_PARTITION_COLON, text[:-2].split("\r\n"))
            if colon
        ]
        if len(pairs) == len(lines):
            return pairs
    return _parse_fields_slowly(lines)


def parse_fields_leniently(lines: list[bytes]) -> list[tuple[str, str]]:
    """Like :func:`parse_fields`, skipping malformed lines instead of raising.

    For heads libcurl has accepted already (it refuses a line without a colon), parsed
    after the fact, when nothing can be raised any more.
    """
    try:
        return parse_fields(lines)
    except HeadError:
        return _parse_fields_slowly(lines, strict=False)


def _parse_fields_slowly(lines: list[bytes], strict: bool = True) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for raw in lines:
        line = raw.decode("latin-1")
        if raw[:1] in (b" ", b"\t"):
            if not pairs:
                if not strict:
                    continue
                raise HeadError(f"a folded header line comes first: {line.strip()[:60]!r}")
            name, value = pairs[-1]
            pairs[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, colon, value = line.partition(":")
        if not colon:
            if not line.strip() or not strict:
                continue
            raise HeadError(f"invalid header line {line.strip()[:60]!r}")
        pairs.append((name, value.strip()))
    return pairs


def _status(line: bytes) -> tuple[str, int, str]:
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/"):
        raise HeadError(f"invalid status line {line.strip()[:60]!r}")
    try:
        status = int(parts[1])
    except ValueError:
        raise HeadError(f"invalid status line {line.strip()[:60]!r}") from None
    if not 100 <= status <= 999:
        raise HeadError(f"invalid status code {status}")
    reason = parts[2].strip().decode("latin-1") if len(parts) > 2 else ""
    return parts[0].decode("latin-1"), status, reason


class HeadParser:
    """Finds final response heads; remembers the status lines it has parsed.

    Status lines repeat (``HTTP/1.1 200 OK``), so each distinct one is parsed once.
    """

    __slots__ = ("_statuses",)

    def __init__(self) -> None:
        self._statuses: dict[bytes, tuple[str, int, str]] = {}

    def status(self, line: bytes) -> tuple[str, int, str]:
        """Parse a status line (cached).

        Raises:
            HeadError: The line is not an HTTP status line.
        """
        parsed = self._statuses.get(line)
        if parsed is None:
            parsed = _status(line)
            if len(self._statuses) >= _MAX_STATUS_LINES:
                self._statuses.clear()
            self._statuses[line] = parsed
        return parsed

    def find(self, lines: list[bytes]) -> Head | None:
        """Return the final response head once its blank line has arrived.

        Interim ``1xx`` heads (except ``101 Switching Protocols``) are skipped. Only status
        lines are checked here; field lines are parsed when the head's fields are asked
        for (libcurl itself refuses a field line without a colon).

        Args:
            lines: Every header line delivered so far, in order.

        Returns:
            The final head, or ``None`` while it is incomplete.

        Raises:
            HeadError: A head is malformed.
        """
        start = 0
        count = len(lines)
        while start < count:
            try:
                blank = lines.index(_BLANK, start)
            except ValueError:
                return None
            line = lines[start]
            parsed = self._statuses.get(line)
            if parsed is None:
                parsed = self.status(line)
            status = parsed[1]
            if status < 200 and status != 101:
                start = blank + 1
                continue
            # tuple.__new__: a NamedTuple's own __new__ is a Python function.
            return _new_tuple(Head, (*parsed, lines[start + 1 : blank], blank + 1))
        return None


def find_head(lines: list[bytes]) -> Head | None:
    """Like :meth:`HeadParser.find`, without a cache (for tests and one-offs)."""
    return HeadParser().find(lines)
