import pytest

from client_core.errors import InvalidHeaderException, InvalidRequestException
from client_core.http import (
    Headers,
    HeadersBuilder,
    HttpHeaders,
    check_header_name,
    check_header_value,
)

# --- lookups -----------------------------------------------------------------------------


def test_lookup_is_case_insensitive():
    headers = Headers({"Content-Type": "text/plain"})
    assert headers.get("content-type") == "text/plain"
    assert headers.get("CONTENT-TYPE") == "text/plain"
    assert headers["cOnTeNt-TyPe"] == "text/plain"
    assert "content-type" in headers
    assert "Content-Length" not in headers
    assert headers.get("missing") is None
    assert headers.get("missing", "x") == "x"


def test_getitem_missing_raises_key_error():
    with pytest.raises(KeyError):
        Headers()["X-Missing"]


def test_multiple_values_keep_order_and_spelling():
    headers = Headers([("Set-Cookie", "a=1"), ("X-A", "1"), ("set-cookie", "b=2")])
    assert headers.get("SET-COOKIE") == "a=1"
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert headers.get_all("missing") == []
    assert headers.items() == [("Set-Cookie", "a=1"), ("X-A", "1"), ("set-cookie", "b=2")]
    assert list(headers) == ["Set-Cookie", "X-A"]
    assert headers.names() == ("Set-Cookie", "X-A")
    assert len(headers) == 3


def test_mapping_with_list_values_gives_several_values():
    headers = Headers({"Accept": ["text/html", "application/json"], "X-Count": 3})
    assert headers.get_all("accept") == ["text/html", "application/json"]
    assert headers.get("x-count") == "3"


def test_empty_constant():
    assert len(Headers.EMPTY) == 0
    assert list(Headers.EMPTY) == []
    assert Headers() == Headers.EMPTY
    assert not Headers.EMPTY


def test_headers_from_headers_and_builder():
    original = Headers({"A": "1"})
    assert Headers(original) == original
    builder = HeadersBuilder({"B": "2"})
    copy = Headers(builder)
    builder.append("B", "3")
    assert copy.get_all("b") == ["2"]


# --- equality ----------------------------------------------------------------------------


def test_equality_ignores_name_case_and_order_between_names():
    a = Headers([("Accept", "a"), ("X-Id", "1"), ("accept", "b")])
    b = Headers([("x-id", "1"), ("ACCEPT", "a"), ("Accept", "b")])
    assert a == b
    assert hash(a) == hash(b)


def test_equality_keeps_order_within_a_name_and_values():
    a = Headers([("Accept", "a"), ("Accept", "b")])
    assert a != Headers([("Accept", "b"), ("Accept", "a")])
    assert a != Headers([("Accept", "a")])
    assert a != Headers([("Accept", "a"), ("Accept", "B")])
    assert a != Headers([("Accept", "a"), ("Accept", "b"), ("X", "1")])
    assert a != [("Accept", "a"), ("Accept", "b")]


# --- repr --------------------------------------------------------------------------------


def test_repr_redacts_credentials():
    headers = Headers(
        [
            ("authorization", "Bearer abc"),
            ("Proxy-Authorization", "Basic xyz"),
            ("COOKIE", "sid=1"),
            ("Set-Cookie", "sid=2"),
            ("Accept", "text/html"),
        ]
    )
    text = repr(headers)
    for secret in ("Bearer abc", "Basic xyz", "sid=1", "sid=2"):
        assert secret not in text
    assert text.count("[redacted]") == 4
    assert "text/html" in text
    assert "Set-Cookie" in text
    builder_text = repr(headers.builder())
    assert "Bearer abc" not in builder_text
    assert "HeadersBuilder" in builder_text


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("X Header", "' '"),
        ("X:Header", "':'"),
        ("Ünïcode", "'Ü'"),
        ("X-A\r\n", "'\\r'"),
        ('"quoted"', "'\"'"),
        ("(paren)", "'('"),
    ],
)
def test_invalid_names_are_rejected(name, reason):
    with pytest.raises(InvalidHeaderException) as info:
        Headers({name: "v"})
    message = str(info.value)
    assert "header name" in message
    assert reason in message
    assert repr(name)[:20] in message
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, InvalidRequestException)


@pytest.mark.parametrize("name", ["X-Custom", "x_y", "!#$%&'*+-.^_`|~", "A1", "TE"])
def test_token_names_are_accepted(name):
    assert Headers({name: "v"}).get(name) == "v"


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("a\rb", "CR"),
        ("a\nb", "LF"),
        ("a\r\nX-Injected: 1", "CR"),
        ("a\x00b", "NUL"),
    ],
)
def test_values_with_cr_lf_or_nul_are_rejected(value, what):
    with pytest.raises(InvalidHeaderException) as info:
        Headers({"X-Test": value})
    message = str(info.value)
    assert "'X-Test'" in message
    assert what in message
    assert repr(value) in message


def test_value_in_error_message_is_truncated():
    value = "x" * 200 + "\n"
    with pytest.raises(InvalidHeaderException) as info:
        check_header_value("X-Long", value)
    message = str(info.value)
    assert "x" * 200 not in message
    assert "..." in message
    assert "'X-Long'" in message


def test_credential_values_are_not_shown_in_error_messages():
    with pytest.raises(InvalidHeaderException) as info:
        Headers({"Authorization": "Bearer secret\r\nX: y"})
    assert "secret" not in str(info.value)
    assert "Authorization" in str(info.value)


def test_values_are_stripped_and_other_characters_allowed():
    headers = Headers({"X-A": " \t value with  spaces\t ", "X-B": "ümlaut \x7f tab\tinside"})
    assert headers.get("x-a") == "value with  spaces"
    assert headers.get("x-b") == "ümlaut \x7f tab\tinside"


def test_int_values_are_converted_and_other_types_rejected():
    assert Headers({"Content-Length": 42}).get("content-length") == "42"
    with pytest.raises(TypeError, match="X-A"):
        Headers({"X-A": None})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        Headers({"X-A": 1.5})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        Headers({"X-A": True})
    with pytest.raises(TypeError):
        Headers([(b"X-A", "v")])  # type: ignore[list-item]


def test_check_helpers():
    check_header_name("Content-Type")
    assert check_header_value("X", "  v ") == "v"
    assert check_header_value("X", 7) == "7"
    with pytest.raises(InvalidHeaderException):
        check_header_name("bad name")
    with pytest.raises(InvalidHeaderException):
        check_header_value("X", "bad\nvalue")


# --- wire constructors -------------------------------------------------------------------


def test_from_wire_keeps_pairs_without_validation():
    headers = Headers.from_wire([("Content-Type", "text/plain"), ("x-a", "1"), ("X-A", "2")])
    assert headers.get("content-type") == "text/plain"
    assert headers.get_all("x-a") == ["1", "2"]
    assert headers.items() == [("Content-Type", "text/plain"), ("x-a", "1"), ("X-A", "2")]
    assert Headers.from_wire([("X", " padded ")]).get("x") == " padded "


def test_from_wire_lazily_parses_once_on_first_use():
    calls = []

    def parse():
        calls.append(1)
        return [("Content-Type", "text/plain"), ("x-a", "1"), ("X-A", "2")]

    headers = Headers.from_wire_lazily(parse)
    assert calls == []
    assert headers.get_all("X-A") == ["1", "2"]
    assert len(headers) == 3
    assert headers == Headers.from_wire(parse())
    assert "content-type" in headers
    assert calls == [1, 1]  # once for the headers, once for the comparison above
    with pytest.raises(AttributeError):
        headers.missing  # noqa: B018
    assert Headers(headers).get("content-type") == "text/plain"


def test_from_raw_decodes_latin1():
    headers = Headers.from_raw([(b"Content-Type", b"text/plain"), (b"X-Name", b"caf\xe9")])
    assert headers.get("content-type") == "text/plain"
    assert headers.get("x-name") == "café"


# --- derived headers ---------------------------------------------------------------------


def test_with_header_replaces_and_returns_new_headers():
    original = Headers([("Accept", "a"), ("accept", "b"), ("X", "1")])
    updated = original.with_header("ACCEPT", "c")
    assert updated.get_all("accept") == ["c"]
    assert updated.get("x") == "1"
    assert original.get_all("accept") == ["a", "b"]
    with pytest.raises(InvalidHeaderException):
        original.with_header("X", "a\nb")


def test_builder_from_headers_does_not_change_them():
    headers = Headers({"A": "1"})
    builder = headers.builder()
    builder.append("A", "2")
    builder.set("B", "3")
    assert headers.get_all("a") == ["1"]
    assert "b" not in headers
    assert builder.get_all("a") == ["1", "2"]


# --- HeadersBuilder ----------------------------------------------------------------------


def test_builder_append_set_remove():
    builder = HeadersBuilder()
    builder.append("Accept", "a")
    builder.append("accept", "b")
    assert builder.get_all("ACCEPT") == ["a", "b"]
    builder.set("ACCEPT", "c")
    assert builder.get_all("accept") == ["c"]
    builder.append("X-A", 1)
    builder.remove("x-a")
    builder.remove("never-there")
    assert "X-A" not in builder
    assert builder.items() == [("ACCEPT", "c")]
    assert len(builder) == 1


def test_builder_set_default_only_when_absent():
    builder = HeadersBuilder({"User-Agent": "mine"})
    builder.set_default("user-agent", "default")
    builder.set_default("Accept", "*/*")
    assert builder.get("User-Agent") == "mine"
    assert builder.get("accept") == "*/*"


def test_builder_append_all_forms():
    builder = HeadersBuilder({"A": "1"})
    builder.append_all(Headers({"a": "2"}))
    builder.append_all([("B", "3"), ("b", 4)])
    builder.append_all({"C": ["5", "6"]})
    assert builder.get_all("a") == ["1", "2"]
    assert builder.get_all("B") == ["3", "4"]
    assert builder.get_all("c") == ["5", "6"]
    assert list(builder) == ["A", "B", "C"]


def test_builder_append_all_is_all_or_nothing():
    builder = HeadersBuilder({"A": "1"})
    with pytest.raises(InvalidHeaderException):
        builder.append_all([("B", "ok"), ("C", "bad\r\n")])
    assert builder.items() == [("A", "1")]


def test_builder_validates():
    builder = HeadersBuilder()
    with pytest.raises(InvalidHeaderException):
        builder.append("Bad Name", "v")
    with pytest.raises(InvalidHeaderException):
        builder.set("X", "v\r\n")
    with pytest.raises(InvalidHeaderException):
        builder.set_default("X", "\n")
    with pytest.raises(InvalidHeaderException):
        HeadersBuilder({"X": "a\x00"})
    assert len(builder) == 0


def test_builder_build_is_a_snapshot():
    builder = HeadersBuilder()
    builder.append("A", "1")
    first = builder.build()
    builder.append("A", "2")
    builder.remove("A")
    builder.append("B", "3")
    second = builder.build()
    assert first.items() == [("A", "1")]
    assert second.items() == [("B", "3")]
    builder.set("B", "4")
    assert second.get("b") == "3"


# --- HttpHeaders -------------------------------------------------------------------------


def test_http_headers_constants_are_valid_canonical_names():
    names = {
        value
        for key, value in vars(HttpHeaders).items()
        if key.isupper() and isinstance(value, str)
    }
    assert len(names) > 60
    for name in names:
        check_header_name(name)
    assert HttpHeaders.CONTENT_TYPE == "Content-Type"
    assert HttpHeaders.ETAG == "ETag"
    assert HttpHeaders.WWW_AUTHENTICATE == "WWW-Authenticate"
    assert HttpHeaders.SEC_WEBSOCKET_KEY == "Sec-WebSocket-Key"
    assert HttpHeaders.X_FORWARDED_FOR == "X-Forwarded-For"
    assert HttpHeaders.TE == "TE"


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [
        ("Content-Length", True),
        ("content-length", True),
        ("TRANSFER-ENCODING", True),
        ("Upgrade", True),
        ("Content-Type", False),
        ("Authorization", False),
        ("Host", False),
    ],
)
def test_is_unsafe(name, unsafe):
    assert HttpHeaders.is_unsafe(name) is unsafe
