import pickle

import pytest

from client_core.errors import InvalidHeaderException, InvalidRequestException
from client_core.http import HttpMethod

STANDARD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "QUERY"]


@pytest.mark.parametrize("name", STANDARD)
def test_constants_are_strings(name):
    method = getattr(HttpMethod, name)
    assert method == name
    assert isinstance(method, str)
    assert isinstance(method, HttpMethod)
    assert method.value == name
    assert type(method.value) is str
    assert hash(method) == hash(name)


@pytest.mark.parametrize("name", STANDARD)
def test_parse_standard_methods_in_any_case(name):
    constant = getattr(HttpMethod, name)
    assert HttpMethod.parse(name) is constant
    assert HttpMethod.parse(name.lower()) is constant
    assert HttpMethod.parse(name.capitalize()) is constant
    assert HttpMethod.parse(constant) is constant


def test_parse_custom_method_kept_as_given():
    method = HttpMethod.parse("PropFind")
    assert method == "PropFind"
    assert isinstance(method, HttpMethod)
    assert repr(method) == "HttpMethod('PropFind')"
    assert HttpMethod.parse(method) is method


def test_constructor_is_case_sensitive():
    assert HttpMethod("get") != HttpMethod.GET
    assert HttpMethod("GET") == HttpMethod.GET


@pytest.mark.parametrize("value", ["", "GE T", "GET\r\n", "(GET)", "GËT", "opt\u0131ons", "A/B"])
def test_invalid_methods_raise(value):
    with pytest.raises(InvalidRequestException) as info:
        HttpMethod.parse(value)
    assert repr(value) in str(info.value)
    assert isinstance(info.value, ValueError)
    assert not isinstance(info.value, InvalidHeaderException)
    with pytest.raises(InvalidRequestException):
        HttpMethod(value)


def test_non_string_is_a_type_error():
    with pytest.raises(TypeError):
        HttpMethod.parse(1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "idempotent", "safe"),
    [
        ("GET", True, True),
        ("HEAD", True, True),
        ("OPTIONS", True, True),
        ("TRACE", True, True),
        ("QUERY", True, True),
        ("PUT", True, False),
        ("DELETE", True, False),
        ("POST", False, False),
        ("PATCH", False, False),
        ("CONNECT", False, False),
        ("PROPFIND", False, False),
    ],
)
def test_idempotent_and_safe(name, idempotent, safe):
    method = HttpMethod.parse(name)
    assert method.is_idempotent is idempotent
    assert method.is_safe is safe


def test_repr_and_dict_key():
    assert repr(HttpMethod.POST) == "HttpMethod('POST')"
    assert {"GET": 1}[HttpMethod.GET] == 1
    assert pickle.loads(pickle.dumps(HttpMethod.GET)) == HttpMethod.GET
