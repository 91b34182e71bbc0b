"""The one error hierarchy of the client.

Every failure a user can see is one of these classes; engines translate what their
transport raises (``h11``, ``pycurl``, ``anyio``, ``ssl``, ``OSError``) at their boundary,
chaining the original with ``raise ... from exc``. Messages name the method and the URL
(credentials removed) and what was expected::

    HttpClientError
    ├── ResponseException(response)         expect_success / HttpCallValidator
    │   ├── RedirectResponseException       3xx
    │   ├── ClientRequestException          4xx
    │   └── ServerResponseException         5xx
    ├── HttpRequestTimeoutException         also a TimeoutError
    ├── ConnectTimeoutException             also a TimeoutError
    ├── SocketTimeoutException              also a TimeoutError
    ├── ConnectException                    also a ConnectionError: refused, DNS, TLS
    ├── ProtocolException                   malformed or truncated response
    │   └── ContentDecodingException        a body that cannot be decoded or is too large
    ├── SendCountExceedException            redirect/retry loops beyond the limit
    ├── ClientClosedException               request after close()
    ├── RequestCancelledException           in flight when cancel() was called
    ├── UnsupportedCapabilityException      a plugin needs what the engine lacks
    ├── ResponseBodyConsumedException       a streamed body read a second time
    ├── NoTransformationFoundException      also a TypeError: no converter for a body type
    ├── InvalidRequestException             also a ValueError: rejected before sending
    │   ├── InvalidUrlException             bad URL or unsupported scheme
    │   ├── InvalidHeaderException          bad header name, or CR/LF in a value
    │   └── RequestBodyReplayException      a one-shot streamed body cannot be resent
    ├── EngineNotFoundError                 no engine installed (or the named one is not)
    └── EngineIncompatibleError             an engine built for another engine-API version
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from client_core._response import HttpResponse

__all__ = [
    "ClientClosedException",
    "ClientRequestException",
    "ConnectException",
    "ConnectTimeoutException",
    "ContentDecodingException",
    "EngineIncompatibleError",
    "EngineNotFoundError",
    "HttpClientError",
    "HttpRequestTimeoutException",
    "InvalidHeaderException",
    "InvalidRequestException",
    "InvalidUrlException",
    "NoTransformationFoundException",
    "ProtocolException",
    "RedirectResponseException",
    "RequestBodyReplayException",
    "RequestCancelledException",
    "ResponseBodyConsumedException",
    "ResponseException",
    "SendCountExceedException",
    "ServerResponseException",
    "SocketTimeoutException",
    "UnsupportedCapabilityException",
]


class HttpClientError(Exception):
    """Base class of every error this client raises."""


class ResponseException(HttpClientError):
    """A response whose status failed validation (``expect_success`` or a validator).

    Attributes:
        response: The response that failed validation. Its body has been read.
        body_excerpt: At most the first 1 KiB of the body, decoded leniently as text.
    """

    def __init__(self, response: HttpResponse, body_excerpt: str = "") -> None:
        self.response = response
        self.body_excerpt = body_excerpt
        request = response.request
        message = f"{request.method} {request.url.redacted()}: unexpected status {response.status}"
        if body_excerpt:
            message += f". Text: {body_excerpt!r}"
        super().__init__(message)


class RedirectResponseException(ResponseException):
    """A 3xx response that was not followed, while success was expected."""


class ClientRequestException(ResponseException):
    """A 4xx response while success was expected."""


class ServerResponseException(ResponseException):
    """A 5xx response while success was expected."""


class HttpRequestTimeoutException(HttpClientError, TimeoutError):
    """The whole request (connect, send, receive the body) took longer than allowed."""


class ConnectTimeoutException(HttpClientError, TimeoutError):
    """No connection could be established within the connect timeout."""


class SocketTimeoutException(HttpClientError, TimeoutError):
    """No data moved on the connection within the socket (idle) timeout."""


class ConnectException(HttpClientError, ConnectionError):
    """The connection failed: refused, unreachable, DNS failure or TLS handshake."""


class ProtocolException(HttpClientError):
    """The peer broke HTTP: a malformed, oversized or truncated response."""


class ContentDecodingException(ProtocolException):
    """A body could not be decoded, or decoding exceeded the configured limits."""


class SendCountExceedException(HttpClientError):
    """A call sent more requests than allowed (a redirect or retry loop)."""


class ClientClosedException(HttpClientError):
    """A request was started on a client that has been closed."""


class RequestCancelledException(HttpClientError):
    """The request was in flight when the client was cancelled."""


class UnsupportedCapabilityException(HttpClientError):
    """A request needs a capability (timeouts, WebSockets, ...) the engine lacks."""


class ResponseBodyConsumedException(HttpClientError):
    """A streamed response body was read again after it had been consumed."""


class NoTransformationFoundException(HttpClientError, TypeError):
    """No converter turns a body into (or from) the requested type."""


class InvalidRequestException(HttpClientError, ValueError):
    """The request was rejected before anything was sent."""


class InvalidUrlException(InvalidRequestException):
    """A URL could not be parsed, has no host, or has an unsupported scheme."""


class InvalidHeaderException(InvalidRequestException):
    """A header name is not a token, or a value contains CR, LF or NUL."""


class RequestBodyReplayException(InvalidRequestException):
    """A one-shot streamed request body would have to be sent a second time."""


class EngineNotFoundError(HttpClientError, LookupError):
    """No engine could be discovered, or the requested one is not installed."""


class EngineIncompatibleError(HttpClientError):
    """An engine was built for an engine-API version this core does not support."""
