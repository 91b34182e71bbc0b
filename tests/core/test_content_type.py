import pytest

from client_core.errors import InvalidHeaderException
from client_core.http import ContentType


def test_parse_simple():
    ct = ContentType.parse("application/json")
    assert ct.content_type == "application"
    assert ct.content_subtype == "json"
    assert ct.parameters == ()
    assert ct.mime_type == "application/json"
    assert ct.charset is None
    assert ct == ContentType.Application.JSON


def test_parse_is_lenient_about_spaces():
    ct = ContentType.parse("  text / html ;charset = UTF-8 ;  level=1  ")
    assert ct.mime_type == "text/html"
    assert ct.parameters == (("charset", "UTF-8"), ("level", "1"))
    assert ct.charset == "utf-8"


def test_parse_quoted_values():
    ct = ContentType.parse('multipart/form-data; boundary="a;b c\\"d"; charset="utf-8"')
    assert ct.parameter("boundary") == 'a;b c"d'
    assert ct.parameter("BOUNDARY") == 'a;b c"d'
    assert ct.charset == "utf-8"
    assert ct.parameter("missing") is None


def test_parse_drops_malformed_parameters():
    ct = ContentType.parse("text/plain; ; bad name=1; flag; =x; charset=utf-8;")
    assert ct.parameters == (("flag", ""), ("charset", "utf-8"))


def test_parse_unterminated_quote():
    assert ContentType.parse('text/plain; a="abc').parameter("a") == "abc"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "noslash",
        "/json",
        "text/",
        "a b/c",
        "text/pl ain",
        "*/json",
        "text/plain\r\nX: 1",
        " ; a=b",
    ],
)
def test_parse_garbage_raises(text):
    with pytest.raises(InvalidHeaderException) as info:
        ContentType.parse(text)
    assert repr(text)[:15] in str(info.value)
    assert isinstance(info.value, ValueError)


def test_constructor_validates():
    with pytest.raises(InvalidHeaderException):
        ContentType("te xt", "plain")
    with pytest.raises(InvalidHeaderException):
        ContentType("*", "plain")
    with pytest.raises(InvalidHeaderException):
        ContentType("text", "plain", (("bad name", "x"),))
    with pytest.raises(InvalidHeaderException):
        ContentType("text", "plain", (("a", "x\r\ny"),))
    ct = ContentType("text", "plain", [("charset", "utf-8")])
    assert ct.parameters == (("charset", "utf-8"),)


def test_str_renders_and_quotes_when_needed():
    assert str(ContentType.Text.PLAIN) == "text/plain"
    ct = ContentType(
        "text", "plain", (("charset", "utf-8"), ("q", "a b"), ("e", ""), ("s", 'x"\\'))
    )
    assert str(ct) == 'text/plain; charset=utf-8; q="a b"; e=""; s="x\\"\\\\"'
    assert ContentType.parse(str(ct)) == ct
    assert repr(ContentType.Application.JSON) == "ContentType('application/json')"


def test_equality_is_case_insensitive_where_rfc_says_so():
    a = ContentType.parse("Text/HTML; Charset=UTF-8; level=1")
    b = ContentType.parse("text/html; level=1; charset=utf-8")
    assert a == b
    assert hash(a) == hash(b)
    assert ContentType.parse("multipart/mixed; boundary=ABC") != ContentType.parse(
        "multipart/mixed; boundary=abc"
    )
    assert ContentType.parse("text/html") != ContentType.parse("text/html; charset=utf-8")
    assert ContentType.parse("text/html") != "text/html"


def test_with_charset_replaces_existing():
    base = ContentType.parse("text/plain; charset=latin-1; format=flowed")
    ct = base.with_charset("utf-8")
    assert ct.charset == "utf-8"
    assert [name for name, _ in ct.parameters].count("charset") == 1
    assert ct.parameter("format") == "flowed"
    assert base.charset == "latin-1"
    assert str(ContentType.Text.PLAIN.with_charset("utf-8")) == "text/plain; charset=utf-8"
    assert ContentType.Text.PLAIN.charset is None


def test_with_parameter_and_without_parameters():
    ct = ContentType.MultiPart.FORM_DATA.with_parameter("boundary", "xyz")
    assert str(ct) == "multipart/form-data; boundary=xyz"
    assert ct.with_parameter("boundary", "xyz") is ct
    assert ct.with_parameter("Boundary", "new").parameters == (("Boundary", "new"),)
    assert ct.without_parameters() == ContentType.MultiPart.FORM_DATA
    assert ContentType.Text.PLAIN.without_parameters() is ContentType.Text.PLAIN
    with pytest.raises(InvalidHeaderException):
        ct.with_parameter("bad name", "x")
    with pytest.raises(InvalidHeaderException):
        ct.with_parameter("a", "x\ny")


@pytest.mark.parametrize(
    ("value", "pattern", "matches"),
    [
        ("application/json", "*/*", True),
        ("application/json", "application/*", True),
        ("application/json", "application/json", True),
        ("Application/JSON", "application/json", True),
        ("application/json", "text/*", False),
        ("application/json", "application/xml", False),
        ("text/plain; charset=utf-8", "text/plain", True),
        ("text/plain; charset=UTF-8", "text/plain; charset=utf-8", True),
        ("text/plain", "text/plain; charset=utf-8", False),
        ("text/plain; charset=latin-1", "text/plain; charset=utf-8", False),
        ("text/plain; charset=latin-1", "text/*; charset=*", True),
        ("text/plain", "text/*; charset=*", False),
        ("application/problem+json", "application/json", False),
    ],
)
def test_match(value, pattern, matches):
    ct = ContentType.parse(value)
    assert ct.match(pattern) is matches
    assert ct.match(ContentType.parse(pattern)) is matches


def test_match_with_constants():
    assert ContentType.Application.JSON.match(ContentType.ANY)
    assert ContentType.Text.HTML.match(ContentType.Text.ANY)
    assert not ContentType.Image.PNG.match(ContentType.Text.ANY)
    with pytest.raises(InvalidHeaderException):
        ContentType.Text.HTML.match("garbage")


@pytest.mark.parametrize(
    ("constant", "text"),
    [
        (ContentType.ANY, "*/*"),
        (ContentType.Application.JSON, "application/json"),
        (ContentType.Application.OCTET_STREAM, "application/octet-stream"),
        (ContentType.Application.FORM_URL_ENCODED, "application/x-www-form-urlencoded"),
        (ContentType.Application.XML, "application/xml"),
        (ContentType.Application.CBOR, "application/cbor"),
        (ContentType.Application.PROTOBUF, "application/protobuf"),
        (ContentType.Application.GZIP, "application/gzip"),
        (ContentType.Application.ZIP, "application/zip"),
        (ContentType.Application.PDF, "application/pdf"),
        (ContentType.Application.JAVASCRIPT, "application/javascript"),
        (ContentType.Application.NDJSON, "application/x-ndjson"),
        (ContentType.Application.PROBLEM_JSON, "application/problem+json"),
        (ContentType.Text.PLAIN, "text/plain"),
        (ContentType.Text.HTML, "text/html"),
        (ContentType.Text.CSS, "text/css"),
        (ContentType.Text.CSV, "text/csv"),
        (ContentType.Text.XML, "text/xml"),
        (ContentType.Text.EVENT_STREAM, "text/event-stream"),
        (ContentType.MultiPart.FORM_DATA, "multipart/form-data"),
        (ContentType.MultiPart.MIXED, "multipart/mixed"),
        (ContentType.MultiPart.BYTE_RANGES, "multipart/byteranges"),
        (ContentType.Image.PNG, "image/png"),
        (ContentType.Image.JPEG, "image/jpeg"),
        (ContentType.Image.GIF, "image/gif"),
        (ContentType.Image.SVG, "image/svg+xml"),
        (ContentType.Image.WEBP, "image/webp"),
    ],
)
def test_constants(constant, text):
    assert str(constant) == text
    assert ContentType.parse(text) == constant


def test_parse_returns_shared_instances_for_common_values():
    assert ContentType.parse("application/json") is ContentType.Application.JSON
    first = ContentType.parse("application/json; charset=utf-8")
    assert first is ContentType.parse("application/json; charset=utf-8")
    assert first.charset == "utf-8"
    assert str(ContentType.parse("text/html; charset=UTF-8")) == "text/html; charset=UTF-8"


def test_values_are_immutable():
    ct = ContentType.Text.PLAIN
    with pytest.raises(AttributeError):
        ct.content_type = "image"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        ct.extra = 1  # type: ignore[attr-defined]
