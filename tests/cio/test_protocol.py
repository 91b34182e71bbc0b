"""The sans-IO pieces: request serialization, response parsing, SOCKS messages."""

from __future__ import annotations

import h11
import pytest

from client_cio import _socks
from client_cio._protocol import (
    END_CHUNKS,
    ResponseParser,
    encode_chunk,
    encode_request_head,
    frame_body_headers,
)


def test_request_head_adds_host_after_request_line() -> None:
    head = encode_request_head("GET", "/a?b=1", [("Accept", "*/*")], "example.org:8080", "")
    assert head == b"GET /a?b=1 HTTP/1.1\r\nHost: example.org:8080\r\nAccept: */*\r\n\r\n"


def test_request_head_keeps_given_host() -> None:
    head = encode_request_head("GET", "/", [("host", "other")], "example.org", "")
    assert head.count(b"ost:") == 1
    assert b"host: other\r\n" in head


def test_request_head_framing_and_extra() -> None:
    head = encode_request_head(
        "POST", "/", [], "h", frame_body_headers("POST", 5), "Proxy-Authorization: Basic x\r\n"
    )
    assert head.endswith(b"Content-Length: 5\r\nProxy-Authorization: Basic x\r\n\r\n")


def test_request_head_non_latin1_value_is_utf8() -> None:
    head = encode_request_head("GET", "/", [("X-Name", "\u20ac")], "h", "")
    assert "X-Name: \u20ac".encode() in head


@pytest.mark.parametrize(
    ("method", "length", "expected"),
    [
        ("GET", 0, ""),
        ("POST", 0, "Content-Length: 0\r\n"),
        ("PUT", 3, "Content-Length: 3\r\n"),
        ("DELETE", 0, ""),
        ("POST", None, "Transfer-Encoding: chunked\r\n"),
    ],
)
def test_framing(method: str, length: int | None, expected: str) -> None:
    assert frame_body_headers(method, length) == expected


def test_chunks() -> None:
    assert encode_chunk(b"hello world!!!!!") == b"10\r\nhello world!!!!!\r\n"
    assert END_CHUNKS == b"0\r\n\r\n"


def events(parser: ResponseParser) -> list[object]:
    out: list[object] = []
    while True:
        event = parser.next_event()
        if event is h11.NEED_DATA or event is h11.PAUSED:
            return out
        out.append(event)
        if type(event) is h11.EndOfMessage:
            return out


def test_parser_keep_alive_cycles_and_pipelined_bytes() -> None:
    parser = ResponseParser()
    parser.start("GET")
    parser.feed(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
    )
    first = events(parser)
    assert type(first[0]) is h11.Response
    assert first[0].status_code == 200
    assert parser.finish()
    assert parser.is_idle
    parser.start("POST")
    second = events(parser)
    assert second[0].status_code == 201  # type: ignore[attr-defined]
    assert parser.finish()


def test_parser_head_has_no_body() -> None:
    parser = ResponseParser()
    parser.start("HEAD")
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    got = events(parser)
    assert [type(e) for e in got] == [h11.Response, h11.EndOfMessage]
    assert parser.finish()


def test_parser_close_and_http10() -> None:
    parser = ResponseParser()
    parser.start("GET", close=True)
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    events(parser)
    assert not parser.finish()
    parser = ResponseParser()
    parser.start("GET")
    parser.feed(b"HTTP/1.0 200 OK\r\n\r\nbody")
    parser.feed(b"")
    got = events(parser)
    assert type(got[-1]) is h11.EndOfMessage
    assert not parser.finish()


def test_parser_trailers() -> None:
    parser = ResponseParser()
    parser.start("GET")
    parser.feed(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n"
    )
    got = events(parser)
    end = got[-1]
    assert type(end) is h11.EndOfMessage
    assert list(end.headers) == [(b"x-t", b"1")]


def test_parser_head_limit() -> None:
    parser = ResponseParser(max_head_size=1024)
    parser.start("GET")
    parser.feed(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 5000)
    with pytest.raises(h11.RemoteProtocolError):
        events(parser)


def test_socks5_messages() -> None:
    assert _socks.socks5_greeting(False) == b"\x05\x01\x00"
    assert _socks.socks5_greeting(True) == b"\x05\x02\x00\x02"
    assert _socks.socks5_method_reply(b"\x05\x02", True) == 2
    with pytest.raises(_socks.SocksError, match="user name"):
        _socks.socks5_method_reply(b"\x05\x02", False)
    assert _socks.socks5_auth_request("u", "pw") == b"\x01\x01u\x02pw"
    with pytest.raises(_socks.SocksError):
        _socks.socks5_auth_reply(b"\x01\x01")
    assert _socks.socks5_connect_request("example.org", 80) == (
        b"\x05\x01\x00\x03\x0bexample.org\x00\x50"
    )
    assert (
        _socks.socks5_connect_request("127.0.0.1", 443) == b"\x05\x01\x00\x01\x7f\0\0\x01\x01\xbb"
    )
    assert _socks.socks5_connect_request("::1", 1)[3] == 4
    assert _socks.socks5_reply_head(b"\x05\x00\x00\x01\x7f") == 5
    assert _socks.socks5_reply_head(b"\x05\x00\x00\x03\x05") == 7
    with pytest.raises(_socks.SocksError, match="connection refused"):
        _socks.socks5_reply_head(b"\x05\x05\x00\x01\x00")


def test_socks4_messages() -> None:
    assert (
        _socks.socks4_request("1.2.3.4", 80, "me", False)
        == b"\x04\x01\x00\x50\x01\x02\x03\x04me\x00"
    )
    assert _socks.socks4_request("h.org", 80, None, True).endswith(b"\x00\x00\x00\x01\x00h.org\x00")
    with pytest.raises(_socks.SocksError, match="IPv4"):
        _socks.socks4_request("h.org", 80, None, False)
    _socks.check_socks4_reply(b"\x00\x5a" + b"\0" * 6)
    with pytest.raises(_socks.SocksError, match="rejected"):
        _socks.check_socks4_reply(b"\x00\x5b" + b"\0" * 6)


SIMPLE = [
    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    b"HTTP/1.1 404 Not Found\r\nServer: x\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 500 Internal\tError\r\nX-A:  spaced \t\r\nContent-Length: 1\r\n\r\nx",
    b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nX: y\r\n\r\n",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-Empty:\r\nContent-Length: 0\r\n\r\n",
]
UNUSUAL = [
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",  # chunked
    b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",  # HTTP/1.0
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",  # 1xx
    b"HTTP/1.1 200 OK\r\n\r\nuntil close",  # read until close
    b"HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",  # obs-fold
    b"HTTP/1.1 200 OK\r\nBad Name: a\r\nContent-Length: 0\r\n\r\n",  # not a token
    b"HTTP/1.1 200 OK\r\nX: a\x01\r\nContent-Length: 0\r\n\r\n",  # control character
    b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",  # bare LF
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",  # repeated
    b"HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",  # odd length
    b"HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n",  # bad status
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",  # incomplete
    b"SSH-2.0-OpenSSH_9.0\r\n\r\n",  # not HTTP
]


def h11_head(data: bytes, method: str = "GET") -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    parser = ResponseParser()
    parser.start(method)
    parser.feed(data)
    event = parser.next_event()
    while type(event) is h11.InformationalResponse:
        event = parser.next_event()
    assert type(event) is h11.Response
    return event.status_code, event.reason, event.headers.raw_items()


@pytest.mark.parametrize("data", SIMPLE)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_simple_heads_parse_like_h11(data: bytes, method: str) -> None:
    from client_cio._protocol import parse_simple_head

    head = parse_simple_head(data, method, False)
    assert head is not None
    assert (head.status, head.reason, head.headers) == h11_head(data, method)
    assert data[head.size - 4 : head.size] == b"\r\n\r\n"
    if method == "HEAD" or head.status in (204, 304):
        assert head.length == 0


@pytest.mark.parametrize("data", UNUSUAL)
def test_unusual_heads_are_left_to_h11(data: bytes) -> None:
    from client_cio._protocol import parse_simple_head

    assert parse_simple_head(data, "GET", False) is None


def test_simple_head_keep_alive() -> None:
    from client_cio._protocol import parse_simple_head

    data = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    assert parse_simple_head(data, "GET", False).keep_alive  # type: ignore[union-attr]
    assert not parse_simple_head(data, "GET", True).keep_alive  # type: ignore[union-attr]
    closing = b"HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n"
    assert not parse_simple_head(closing, "GET", False).keep_alive  # type: ignore[union-attr]
