import pickle
import typing

import pytest

from client_core.http import HttpStatusCode


def test_constants_are_ints():
    assert HttpStatusCode.OK == 200
    assert isinstance(HttpStatusCode.NOT_FOUND, int)
    assert HttpStatusCode.NOT_FOUND + 1 == 405
    assert hash(HttpStatusCode.OK) == hash(200)
    assert {200: "ok"}[HttpStatusCode.OK] == "ok"
    assert HttpStatusCode.OK in {200, 201}
    assert sorted([HttpStatusCode.NOT_FOUND, HttpStatusCode.OK]) == [200, 404]


def test_value_and_description():
    assert HttpStatusCode.NOT_FOUND.value == 404
    assert type(HttpStatusCode.NOT_FOUND.value) is int
    assert HttpStatusCode.NOT_FOUND.description == "Not Found"


def test_str_repr_and_format():
    code = HttpStatusCode.NOT_FOUND
    assert str(code) == "404 Not Found"
    assert repr(code) == "HttpStatusCode(404, 'Not Found')"
    assert f"{code}" == "404 Not Found"
    assert f"{code:d}" == "404"


@pytest.mark.parametrize(
    ("name", "value", "description"),
    [
        ("CONTINUE", 100, "Continue"),
        ("SWITCHING_PROTOCOLS", 101, "Switching Protocols"),
        ("PROCESSING", 102, "Processing"),
        ("EARLY_HINTS", 103, "Early Hints"),
        ("CREATED", 201, "Created"),
        ("NO_CONTENT", 204, "No Content"),
        ("PARTIAL_CONTENT", 206, "Partial Content"),
        ("IM_USED", 226, "IM Used"),
        ("MOVED_PERMANENTLY", 301, "Moved Permanently"),
        ("FOUND", 302, "Found"),
        ("SEE_OTHER", 303, "See Other"),
        ("NOT_MODIFIED", 304, "Not Modified"),
        ("TEMPORARY_REDIRECT", 307, "Temporary Redirect"),
        ("PERMANENT_REDIRECT", 308, "Permanent Redirect"),
        ("BAD_REQUEST", 400, "Bad Request"),
        ("UNAUTHORIZED", 401, "Unauthorized"),
        ("PROXY_AUTHENTICATION_REQUIRED", 407, "Proxy Authentication Required"),
        ("CONTENT_TOO_LARGE", 413, "Content Too Large"),
        ("IM_A_TEAPOT", 418, "I'm a teapot"),
        ("UNPROCESSABLE_CONTENT", 422, "Unprocessable Content"),
        ("TOO_MANY_REQUESTS", 429, "Too Many Requests"),
        ("UNAVAILABLE_FOR_LEGAL_REASONS", 451, "Unavailable For Legal Reasons"),
        ("INTERNAL_SERVER_ERROR", 500, "Internal Server Error"),
        ("SERVICE_UNAVAILABLE", 503, "Service Unavailable"),
        ("GATEWAY_TIMEOUT", 504, "Gateway Timeout"),
        ("NETWORK_AUTHENTICATION_REQUIRED", 511, "Network Authentication Required"),
    ],
)
def test_constants(name, value, description):
    code = getattr(HttpStatusCode, name)
    assert code == value
    assert code.description == description
    assert HttpStatusCode.from_value(value) is code


def test_ktor_aliases_are_the_same_objects():
    assert HttpStatusCode.PAYLOAD_TOO_LARGE is HttpStatusCode.CONTENT_TOO_LARGE
    assert HttpStatusCode.UNPROCESSABLE_ENTITY is HttpStatusCode.UNPROCESSABLE_CONTENT
    assert HttpStatusCode.REQUESTED_RANGE_NOT_SATISFIABLE is HttpStatusCode.RANGE_NOT_SATISFIABLE
    assert HttpStatusCode.VERSION_NOT_SUPPORTED is HttpStatusCode.HTTP_VERSION_NOT_SUPPORTED


def test_every_declared_constant_is_defined():
    hints = typing.get_type_hints(HttpStatusCode)
    declared = [name for name in hints if name.isupper() and not name.startswith("_")]
    assert len(declared) > 60
    for name in declared:
        code = getattr(HttpStatusCode, name)
        assert isinstance(code, HttpStatusCode), name
        assert code.description != "Unknown", name
        assert HttpStatusCode.from_value(code.value) is code, name


def test_from_value_unknown_codes():
    code = HttpStatusCode.from_value(599)
    assert code == 599
    assert code.description == "Unknown"
    assert str(code) == "599 Unknown"
    assert HttpStatusCode.from_value(299, "Custom").description == "Custom"
    assert HttpStatusCode.from_value(999).value == 999
    assert HttpStatusCode.from_value(100) is HttpStatusCode.CONTINUE


def test_from_value_known_code_keeps_standard_description():
    assert HttpStatusCode.from_value(200, "Alright") is HttpStatusCode.OK


@pytest.mark.parametrize("value", [99, 1000, 0, -200, 20000])
def test_out_of_range_codes_raise(value):
    with pytest.raises(ValueError, match=str(value)):
        HttpStatusCode.from_value(value)
    with pytest.raises(ValueError):
        HttpStatusCode(value)


def test_non_int_rejected():
    with pytest.raises(TypeError):
        HttpStatusCode("200")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        HttpStatusCode(True)


def test_custom_instance_equals_constant():
    custom = HttpStatusCode(200, "Alright")
    assert custom == HttpStatusCode.OK
    assert hash(custom) == hash(HttpStatusCode.OK)
    assert str(custom) == "200 Alright"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (100, "informational"),
        (199, "informational"),
        (200, "success"),
        (204, "success"),
        (299, "success"),
        (301, "redirect"),
        (399, "redirect"),
        (400, "client_error"),
        (404, "client_error"),
        (499, "client_error"),
        (500, "server_error"),
        (599, "server_error"),
        (600, None),
        (999, None),
    ],
)
def test_class_helpers(value, kind):
    code = HttpStatusCode.from_value(value)
    results = {
        "informational": code.is_informational(),
        "success": code.is_success(),
        "redirect": code.is_redirect(),
        "client_error": code.is_client_error(),
        "server_error": code.is_server_error(),
    }
    assert [k for k, v in results.items() if v] == ([kind] if kind else [])


def test_pickle_round_trip():
    for code in (HttpStatusCode.NOT_FOUND, HttpStatusCode(299, "Custom")):
        restored = pickle.loads(pickle.dumps(code))
        assert restored == code
        assert restored.description == code.description


def test_constants_are_immutable():
    with pytest.raises(AttributeError):
        HttpStatusCode.OK.description = "Changed"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del HttpStatusCode.OK.description
    assert HttpStatusCode.OK.description == "OK"
