import pickle

import pytest
import yarl

import client_core.http as http_module
from client_core.errors import InvalidRequestException, InvalidUrlException
from client_core.http import Parameters, ParametersBuilder, Url, URLBuilder, check_request_url

# --- package surface ---------------------------------------------------------------------


def test_http_package_exports_are_sorted_and_importable():
    assert http_module.__all__ == sorted(http_module.__all__)
    for name in http_module.__all__:
        assert getattr(http_module, name) is not None
    assert {"Url", "URLBuilder", "Headers", "ContentType", "check_request_url"} <= set(
        http_module.__all__
    )


# --- parsing -----------------------------------------------------------------------------


def test_parse_components():
    url = Url("HTTPS://User:Pa%40ss@Example.COM:8443/a%20b/c?x=1&y=two#frag")
    assert url.scheme == "https"
    assert url.host == "example.com"
    assert url.port == 8443
    assert url.specified_port == 8443
    assert url.user == "User"
    assert url.password == "Pa@ss"
    assert url.path == "/a b/c"
    assert url.encoded_path == "/a%20b/c"
    assert url.query_string == "x=1&y=two"
    assert url.parameters.get("x") == "1"
    assert url.parameters.get("y") == "two"
    assert url.fragment == "frag"
    assert url.is_secure


def test_parse_and_constructor_agree_and_accept_url():
    url = Url.parse("http://example.com/x")
    assert url == Url("http://example.com/x")
    assert Url.parse(url) is url
    copy = Url(url)
    assert copy == url
    assert str(copy) == "http://example.com/x"


def test_surrounding_whitespace_is_ignored():
    assert str(Url("  http://example.com/x \n")) == "http://example.com/x"


def test_empty_path_becomes_slash_for_http():
    url = Url("http://example.com")
    assert url.encoded_path == "/"
    assert url.request_target == "/"
    assert str(url) == "http://example.com/"
    assert url == Url("http://example.com/")
    assert str(Url("http://u:p@example.com:81")) == "http://u:p@example.com:81/"
    assert Url("http://u:p@example.com").redacted() == "http://example.com/"


def test_path_and_query_are_percent_encoded():
    url = Url("http://example.com/a b/ü?q=ä b")
    assert url.encoded_path == "/a%20b/%C3%BC"
    assert url.path == "/a b/ü"
    assert url.parameters.get("q") == "ä b"
    assert "%C3%A4" in url.query_string


def test_dot_segments_are_removed():
    assert Url("http://h/a/./b/../c").encoded_path == "/a/c"


@pytest.mark.parametrize(
    ("text", "port", "specified"),
    [
        ("http://h/", 80, None),
        ("https://h/", 443, None),
        ("ws://h/", 80, None),
        ("wss://h/", 443, None),
        ("http://h:8080/", 8080, 8080),
        ("https://h:80/", 80, 80),
        ("foo://h/", None, None),
        ("foo://h:1234/", 1234, 1234),
    ],
)
def test_effective_and_specified_port(text, port, specified):
    url = Url(text)
    assert url.port == port
    assert url.specified_port == specified


@pytest.mark.parametrize(
    ("text", "authority"),
    [
        ("http://example.com/", "example.com"),
        ("http://example.com:80/", "example.com"),
        ("http://example.com:443/", "example.com:443"),
        ("https://example.com:443/", "example.com"),
        ("https://example.com:8443/", "example.com:8443"),
        ("ws://example.com:80/", "example.com"),
        ("wss://example.com:8443/", "example.com:8443"),
        ("http://user:pw@example.com:81/", "example.com:81"),
        ("http://[::1]/", "[::1]"),
        ("http://[::1]:8080/", "[::1]:8080"),
    ],
)
def test_authority_for_host_header(text, authority):
    assert Url(text).authority == authority


def test_ipv6_host_has_no_brackets():
    url = Url("http://[2001:DB8::1]:8080/p")
    assert url.host == "2001:db8::1"
    assert url.port == 8080
    assert url.authority == "[2001:db8::1]:8080"
    assert url.origin == ("http", "2001:db8::1", 8080)


def test_idna_host_is_encoded():
    url = Url("https://bücher.example/ä")
    assert url.host == "xn--bcher-kva.example"
    assert url.authority == "xn--bcher-kva.example"
    assert str(url) == "https://xn--bcher-kva.example/%C3%A4"


def test_request_target_never_has_fragment():
    assert Url("http://h/p/q?a=1&b=2#frag").request_target == "/p/q?a=1&b=2"
    assert Url("http://h/p#frag").request_target == "/p"


def test_origin_uses_effective_port():
    assert Url("https://Example.com/x?y").origin == ("https", "example.com", 443)
    assert Url("http://example.com:8080").origin == ("http", "example.com", 8080)


@pytest.mark.parametrize(
    ("scheme", "secure"), [("http", False), ("https", True), ("ws", False), ("wss", True)]
)
def test_is_secure(scheme, secure):
    assert Url(f"{scheme}://h/").is_secure is secure


def test_non_http_schemes_are_parsed_without_host():
    url = Url("mailto:someone@example.com")
    assert url.scheme == "mailto"
    assert url.host == ""
    assert url.port is None
    file_url = Url("file:///tmp/x")
    assert file_url.encoded_path == "/tmp/x"


# --- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment_of_message"),
    [
        ("", "no scheme"),
        ("/relative/path", "no scheme"),
        ("example.com/path", "no scheme"),
        ("http://", "no host"),
        ("https:///path", "no host"),
        ("ws://", "no host"),
        ("http://h:99999/", "range"),
        ("http://h:port/", "port"),
        ("http://[::1/", "IPv6"),
        ("http://exa mple.com/", "host"),
        ("http://exa<mple.com/", "host"),
        ("http://h/a\r\nX-Injected: 1", "control character"),
        ("http://h/\x00", "control character"),
    ],
)
def test_invalid_urls_raise_with_the_text_in_the_message(text, fragment_of_message):
    with pytest.raises(InvalidUrlException) as info:
        Url(text)
    message = str(info.value)
    assert repr(text.strip())[1:-1][:20] in message
    assert fragment_of_message in message
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, InvalidRequestException)


def test_error_message_masks_credentials():
    with pytest.raises(InvalidUrlException) as info:
        Url("http://alice:s3cret@h:notaport/x")
    message = str(info.value)
    assert "s3cret" not in message
    assert "alice" not in message
    assert "h:notaport/x" in message


def test_error_message_masks_credentials_when_not_absolute():
    with pytest.raises(InvalidUrlException) as info:
        Url("//bob:hunter2@host/path")
    assert "hunter2" not in str(info.value)
    assert "host/path" in str(info.value)


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError):
        Url(42)  # type: ignore[arg-type]


# --- text forms, equality ----------------------------------------------------------------


def test_str_keeps_credentials_and_redacted_drops_them():
    url = Url("https://u:p@example.com/x?q=1#f")
    assert str(url) == "https://u:p@example.com/x?q=1#f"
    assert url.redacted() == "https://example.com/x?q=1#f"
    assert repr(url) == "Url('https://example.com/x?q=1#f')"
    assert "p@" not in repr(url)


def test_redacted_drops_user_without_password():
    assert Url("https://token@example.com/").redacted() == "https://example.com/"


def test_redacted_without_credentials_is_str():
    url = Url("http://example.com:8080/a?b#c")
    assert url.redacted() == str(url)


def test_equality_and_hash_by_full_text():
    a = Url("HTTP://Example.COM:80/path")
    b = Url("http://example.com/path")
    assert a == b
    assert hash(a) == hash(b)
    assert len({a, b, Url("http://example.com/other")}) == 2
    assert Url("http://example.com/path?x") != b
    assert Url("http://u@example.com/path") != b
    assert b != "http://example.com/path"


def test_pickle_round_trip():
    url = Url("https://u:p@example.com/x?y=1#z")
    assert pickle.loads(pickle.dumps(url)) == url


def test_yarl_interop():
    url = Url("http://example.com/x")
    assert isinstance(url.yarl, yarl.URL)
    assert Url.from_yarl(yarl.URL("http://example.com/x")) == url
    with pytest.raises(InvalidUrlException):
        Url.from_yarl(yarl.URL("/relative"))
    with pytest.raises(TypeError):
        Url.from_yarl("http://example.com/")  # type: ignore[arg-type]


# --- resolve (RFC 3986 section 5.4) ------------------------------------------------------

RFC_BASE = Url("http://a/b/c/d;p?q")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("g:h", "g:h"),
        ("g", "http://a/b/c/g"),
        ("./g", "http://a/b/c/g"),
        ("g/", "http://a/b/c/g/"),
        ("/g", "http://a/g"),
        ("//g", "http://g/"),  # RFC: "http://g"; Url adds "/" for an empty path
        ("?y", "http://a/b/c/d;p?y"),
        ("g?y", "http://a/b/c/g?y"),
        ("#s", "http://a/b/c/d;p?q#s"),
        ("g#s", "http://a/b/c/g#s"),
        ("g?y#s", "http://a/b/c/g?y#s"),
        (";x", "http://a/b/c/;x"),
        ("g;x?y#s", "http://a/b/c/g;x?y#s"),
        ("", "http://a/b/c/d;p?q"),
        (".", "http://a/b/c/"),
        ("./", "http://a/b/c/"),
        ("..", "http://a/b/"),
        ("../g", "http://a/b/g"),
        ("../..", "http://a/"),
        ("../../g", "http://a/g"),
        # section 5.4.2, abnormal examples
        ("../../../g", "http://a/g"),
        ("/./g", "http://a/g"),
        ("g/../h", "http://a/b/c/h"),
        ("g?y/./x", "http://a/b/c/g?y/./x"),
    ],
)
def test_resolve_rfc3986_examples(reference, expected):
    assert str(RFC_BASE.resolve(reference)) == expected


def test_resolve_accepts_url_and_absolute_references():
    base = Url("https://example.com/a/b")
    assert base.resolve(Url("http://other.org/x")) == Url("http://other.org/x")
    assert str(base.resolve("//cdn.example.com/lib.js")) == "https://cdn.example.com/lib.js"


def test_resolve_rejects_unusable_result():
    with pytest.raises(InvalidUrlException, match="no host"):
        Url("https://example.com/").resolve("http:///x")
    with pytest.raises(InvalidUrlException):
        Url("http://example.com/").resolve("/a\r\nb")


# --- derived URLs -----------------------------------------------------------------------


def test_with_query_replaces_query_and_keeps_fragment():
    url = Url("http://h/p?old=1#frag")
    new = url.with_query({"q": "a b&c", "n": 5, "flag": True, "list": ["x", "y"]})
    assert new.parameters.items() == [
        ("q", "a b&c"),
        ("n", "5"),
        ("flag", "true"),
        ("list", "x"),
        ("list", "y"),
    ]
    assert "old" not in new.parameters
    assert new.fragment == "frag"
    assert url.query_string == "old=1"  # unchanged
    assert new.with_query(None).query_string == ""
    assert str(new.with_query([])) == "http://h/p#frag"


def test_with_query_accepts_parameters():
    params = Parameters([("a", "1"), ("a", "2")])
    assert Url("http://h/").with_query(params).query_string == "a=1&a=2"


def test_with_path_keeps_query_and_fragment():
    url = Url("http://h/old?q=1#f")
    new = url.with_path("/new path")
    assert str(new) == "http://h/new%20path?q=1#f"
    assert url.with_path("/a%2Fb", encoded=True).encoded_path == "/a%2Fb"


# --- check_request_url ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["http://h/", "https://h:1/x", "ws://h/", "wss://[::1]/"])
def test_check_request_url_accepts_http_and_websocket(text):
    check_request_url(Url(text))


def test_check_request_url_rejects_other_schemes():
    with pytest.raises(InvalidUrlException) as info:
        check_request_url(Url("ftp://x/"))
    assert str(info.value) == (
        "Unsupported URL scheme 'ftp' in ftp://x/ (expected http, https, ws or wss)"
    )
    with pytest.raises(InvalidUrlException, match="'mailto'"):
        check_request_url(Url("mailto:a@b.c"))


def test_check_request_url_message_is_redacted():
    with pytest.raises(InvalidUrlException) as info:
        check_request_url(Url("ftp://u:secret@x/"))
    assert "secret" not in str(info.value)


# --- Parameters -------------------------------------------------------------------------


def test_parameters_are_case_sensitive_multimap():
    params = Parameters([("a", "1"), ("A", "2"), ("a", "3")])
    assert params.get("a") == "1"
    assert params.get("A") == "2"
    assert params.get_all("a") == ["1", "3"]
    assert params.get_all("missing") == []
    assert params.get("missing") is None
    assert params.get("missing", "d") == "d"
    assert "a" in params
    assert "b" not in params
    assert list(params) == ["a", "A"]
    assert params.items() == [("a", "1"), ("A", "2"), ("a", "3")]
    assert len(params) == 3
    assert not params.is_empty()
    assert Parameters().is_empty()
    assert Parameters.EMPTY.is_empty()


def test_parameters_from_mapping_converts_values():
    params = Parameters({"s": "x", "i": 3, "f": 1.5, "t": True, "n": False, "l": [1, "b"]})
    assert params.items() == [
        ("s", "x"),
        ("i", "3"),
        ("f", "1.5"),
        ("t", "true"),
        ("n", "false"),
        ("l", "1"),
        ("l", "b"),
    ]


def test_parameters_reject_unsupported_values():
    with pytest.raises(TypeError, match="'p'"):
        Parameters({"p": None})  # type: ignore[dict-item]
    with pytest.raises(TypeError):
        Parameters({1: "x"})  # type: ignore[dict-item]


def test_parameters_equality_ignores_order_between_names_only():
    a = Parameters([("x", "1"), ("y", "2"), ("x", "3")])
    assert a == Parameters([("y", "2"), ("x", "1"), ("x", "3")])
    assert hash(a) == hash(Parameters([("y", "2"), ("x", "1"), ("x", "3")]))
    assert a != Parameters([("y", "2"), ("x", "3"), ("x", "1")])
    assert a != Parameters([("X", "1"), ("y", "2"), ("x", "3")])
    assert a != Parameters([("x", "1"), ("y", "2")])


def test_parameters_form_url_encode():
    params = Parameters([("q", "a b"), ("plus", "+"), ("amp", "&="), ("u", "é")])
    assert params.form_url_encode() == "q=a+b&plus=%2B&amp=%26%3D&u=%C3%A9"


def test_parameters_builder_operations():
    builder = ParametersBuilder({"a": "1"})
    builder.append("a", 2)
    builder.append("b", True)
    assert builder.get_all("a") == ["1", "2"]
    builder.set("a", "only")
    assert builder.get_all("a") == ["only"]
    builder.append_all([("c", "x"), ("c", "y")])
    builder.append_all({"d": ["1", "2"]})
    builder.remove("b")
    builder.remove("never-there")
    assert "b" not in builder
    assert builder.get("c") == "x"
    assert list(builder) == ["a", "c", "d"]
    assert len(builder) == 5
    built = builder.build()
    assert built.items() == [("a", "only"), ("c", "x"), ("c", "y"), ("d", "1"), ("d", "2")]


def test_parameters_builder_build_is_a_snapshot():
    builder = ParametersBuilder()
    builder.append("a", "1")
    first = builder.build()
    builder.append("a", "2")
    builder.set("b", "3")
    assert first.items() == [("a", "1")]
    assert builder.build().items() == [("a", "1"), ("a", "2"), ("b", "3")]


def test_parameters_builder_from_parameters_does_not_change_them():
    params = Parameters({"a": "1"})
    builder = params.builder()
    builder.append("a", "2")
    assert params.get_all("a") == ["1"]
    assert builder.get_all("a") == ["1", "2"]


def test_url_parameters_decoded():
    params = Url("http://h/?a=1&a=2&b=x+y&c=%2B&e").parameters
    assert params.get_all("a") == ["1", "2"]
    assert params.get("b") == "x y"
    assert params.get("c") == "+"
    assert params.get("e") == ""


# --- URLBuilder --------------------------------------------------------------------------


def test_builder_defaults_need_a_host():
    builder = URLBuilder()
    assert builder.scheme == "http"
    assert builder.protocol == "http"
    assert builder.host == ""
    assert builder.port is None
    with pytest.raises(InvalidUrlException, match="no host"):
        builder.build()


def test_builder_builds_from_parts():
    builder = URLBuilder()
    builder.protocol = "https"
    builder.host = "example.com"
    builder.port = 8443
    builder.user = "me"
    builder.password = "p@ss:w/rd"
    builder.path = "/a b/c"
    builder.parameters.append("q", "x y")
    builder.parameters.append("n", 1)
    builder.fragment = "sec 1"
    url = builder.build()
    assert url.scheme == "https"
    assert url.authority == "example.com:8443"
    assert url.password == "p@ss:w/rd"
    assert url.user == "me"
    assert url.request_target == "/a%20b/c?q=x+y&n=1"
    assert url.fragment == "sec 1"
    assert builder.build_string() == str(url)


@pytest.mark.parametrize(
    "text",
    [
        "http://example.com",
        "https://u:p@example.com:8443/a%20b/c%2Fd?x=a+b&y=%2B&z=%C3%A4&e#frag",
        "http://[::1]:8080/x?q=1",
        "ws://h/socket?token=a%3Db",
        "https://xn--bcher-kva.example/",
    ],
)
def test_builder_round_trip(text):
    url = Url(text)
    assert url.builder().build() == url
    assert URLBuilder(text).build() == url


def test_builder_reencodes_query_once_parameters_change():
    builder = Url("http://h/?b=x+y&a=%41").builder()
    builder.parameters.append("c", "&")
    assert builder.build().query_string == "b=x+y&a=A&c=%26"


def test_builder_parameters_can_be_replaced():
    builder = URLBuilder("http://h/?a=1")
    builder.parameters = ParametersBuilder({"z": "9"})
    assert builder.build().query_string == "z=9"


def test_builder_path_properties():
    builder = URLBuilder("http://h/a%20b/c/")
    assert builder.encoded_path == "/a%20b/c/"
    assert builder.path == "/a b/c/"
    assert builder.path_segments == ["a b", "c", ""]
    builder.path_segments = ["x/y", "z z"]
    assert builder.encoded_path == "/x%2Fy/z%20z"
    builder.path = "/ü"
    assert builder.encoded_path == "/%C3%BC"
    assert URLBuilder("http://h").path_segments == []


@pytest.mark.parametrize(
    ("start", "segments", "expected"),
    [
        ("http://h", ("users",), "/users"),
        ("http://h/api/", ("users", "a b"), "/api/users/a%20b"),
        ("http://h/api", ("v1/items",), "/api/v1/items"),
        ("http://h/api", ("/v1/", "items/"), "/api/v1/items/"),
        ("http://h/api", ("?#%",), "/api/%3F%23%25"),
    ],
)
def test_append_path_segments(start, segments, expected):
    builder = URLBuilder(start)
    assert builder.append_path_segments(*segments) is builder
    assert builder.encoded_path == expected


def test_append_path_segments_encode_slash():
    builder = URLBuilder("http://h/files")
    builder.append_path_segments("a/b", encode_slash=True)
    assert builder.encoded_path == "/files/a%2Fb"
    assert builder.build().encoded_path == "/files/a%2Fb"


def test_take_from_absolute_replaces_everything():
    builder = URLBuilder("http://a/x?q=1#f")
    builder.take_from("https://u:p@b:9/y?r=2#g")
    assert builder.build() == Url("https://u:p@b:9/y?r=2#g")


def test_take_from_relative_references():
    builder = URLBuilder("https://a:8443/b/c/d?q=1#f")
    builder.take_from("../g?y=2")
    assert str(builder.build()) == "https://a:8443/b/g?y=2"
    builder.take_from("/abs")
    assert str(builder.build()) == "https://a:8443/abs"
    builder.take_from("?only=query")
    assert str(builder.build()) == "https://a:8443/abs?only=query"
    builder.take_from("#frag")
    assert str(builder.build()) == "https://a:8443/abs?only=query#frag"
    builder.take_from("//other.org/p")
    assert str(builder.build()) == "https://other.org/p"


def test_take_from_relative_on_empty_builder_then_set_host():
    builder = URLBuilder("/api/v1?x=1")
    assert builder.encoded_path == "/api/v1"
    builder.host = "example.com"
    assert str(builder.build()) == "http://example.com/api/v1?x=1"


def test_take_from_relative_against_host_without_path():
    builder = URLBuilder("http://h")
    builder.take_from("x/y")
    assert builder.encoded_path == "/x/y"


def test_take_from_rejects_garbage():
    with pytest.raises(InvalidUrlException):
        URLBuilder().take_from("http://h:notaport/")


def test_builder_ipv6_and_idna_hosts():
    builder = URLBuilder()
    builder.host = "::1"
    builder.port = 8080
    assert builder.build().authority == "[::1]:8080"
    builder.host = "münchen.de"
    builder.port = None
    assert builder.build().host == "xn--mnchen-3ya.de"


@pytest.mark.parametrize("host", ["a/b", "a?b", "a#b", "u@h", "a b", "a\r\nb"])
def test_builder_rejects_hosts_that_would_change_the_url(host):
    builder = URLBuilder()
    builder.host = host
    with pytest.raises(InvalidUrlException, match="host"):
        builder.build()


def test_builder_rejects_bad_port_and_scheme():
    builder = URLBuilder("http://h/")
    builder.port = 70000
    with pytest.raises(InvalidUrlException, match="70000"):
        builder.build()
    builder.port = None
    builder.scheme = "ht tp"
    with pytest.raises(InvalidUrlException, match="scheme"):
        builder.build()


def test_builder_repr_hides_credentials():
    builder = URLBuilder("https://user:secret@h/x")
    assert "secret" not in repr(builder)
    assert "h/x" in repr(builder)


def test_url_builder_is_independent_from_url():
    url = Url("http://h/p?a=1")
    builder = url.builder()
    builder.parameters.append("b", "2")
    builder.host = "other"
    assert str(url) == "http://h/p?a=1"
    assert url.parameters.items() == [("a", "1")]
