"""The error hierarchy: the shape API.md draws, and the stdlib bases users catch."""

from __future__ import annotations

import client_core.errors as e


def test_every_error_is_an_http_client_error() -> None:
    for name in e.__all__:
        assert issubclass(getattr(e, name), e.HttpClientError), name


def test_response_exception_family() -> None:
    for cls in (e.RedirectResponseException, e.ClientRequestException, e.ServerResponseException):
        assert issubclass(cls, e.ResponseException)


def test_timeouts_are_timeout_errors() -> None:
    for cls in (e.HttpRequestTimeoutException, e.ConnectTimeoutException, e.SocketTimeoutException):
        assert issubclass(cls, TimeoutError)
    assert not issubclass(e.ConnectException, TimeoutError)


def test_connect_errors_are_connection_errors() -> None:
    assert issubclass(e.ConnectException, ConnectionError)


def test_invalid_input_is_value_error() -> None:
    for cls in (e.InvalidUrlException, e.InvalidHeaderException, e.RequestBodyReplayException):
        assert issubclass(cls, ValueError)
        assert issubclass(cls, e.InvalidRequestException)


def test_docstring_draws_every_class() -> None:
    doc = e.__doc__ or ""
    for name in e.__all__:
        assert name in doc, name
