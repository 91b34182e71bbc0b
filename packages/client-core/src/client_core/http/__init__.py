"""HTTP value types: URLs, headers, methods, status codes and content types.

Pure values with no I/O, shared by the client, its plugins and the engines. Values are
immutable (``Url``, ``Headers``, ``Parameters``, ``ContentType``, ``HttpMethod``,
``HttpStatusCode``); builders (``URLBuilder``, ``HeadersBuilder``, ``ParametersBuilder``)
are their mutable counterparts.
"""

from client_core.http._content_type import ContentType
from client_core.http._headers import (
    Headers,
    HeadersBuilder,
    HttpHeaders,
    check_header_name,
    check_header_value,
)
from client_core.http._method import HttpMethod
from client_core.http._parameters import Parameters, ParametersBuilder
from client_core.http._status import HttpStatusCode
from client_core.http._url import (
    Url,
    URLBuilder,
    check_request_url,
)

__all__ = [
    "ContentType",
    "Headers",
    "HeadersBuilder",
    "HttpHeaders",
    "HttpMethod",
    "HttpStatusCode",
    "Parameters",
    "ParametersBuilder",
    "URLBuilder",
    "Url",
    "check_header_name",
    "check_header_value",
    "check_request_url",
]
