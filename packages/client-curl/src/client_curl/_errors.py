"""libcurl result codes, translated into ``client_core.errors`` at the engine boundary.

Every ``CURLcode`` a transfer can end with maps to one class of the client's error tree;
the libcurl message is kept in the text and the raw code travels as the ``__cause__``
(a :class:`CurlError`), so nothing from pycurl is ever raised to the user.
"""

from __future__ import annotations

from typing import Final

from client_core.errors import (
    ConnectException,
    ConnectTimeoutException,
    HttpClientError,
    InvalidUrlException,
    ProtocolException,
    RequestBodyReplayException,
    SendCountExceedException,
    SocketTimeoutException,
)

__all__ = ["CurlError", "connect_timeout_error", "socket_timeout_error", "translate"]


class CurlError(Exception):
    """A libcurl result code and message; only ever the ``__cause__`` of a client error.

    Attributes:
        code: The ``CURLcode``.
        message: libcurl's error text.
    """

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"libcurl error {self.code}: {self.message}"


# What each class of failure is, for the message. Codes pycurl has no constant for
# (92 and up, added by newer libcurl) are listed by number.
_CONNECT: Final = ConnectException
_PROTOCOL: Final = ProtocolException

_TABLE: Final[dict[int, tuple[type[HttpClientError], str]]] = {
    1: (_PROTOCOL, "the response is not HTTP"),  # UNSUPPORTED_PROTOCOL: HTTP/0.9 replies
    2: (HttpClientError, "libcurl failed to start the transfer"),  # FAILED_INIT
    3: (InvalidUrlException, "libcurl rejected the URL"),  # URL_MALFORMAT
    4: (HttpClientError, "a libcurl feature is not built in"),  # NOT_BUILT_IN
    5: (_CONNECT, "cannot resolve the proxy host"),  # COULDNT_RESOLVE_PROXY
    6: (_CONNECT, "cannot resolve the host"),  # COULDNT_RESOLVE_HOST
    7: (_CONNECT, "cannot connect"),  # COULDNT_CONNECT
    8: (_PROTOCOL, "malformed response"),  # WEIRD_SERVER_REPLY
    16: (_PROTOCOL, "HTTP/2 error"),  # HTTP2
    18: (_PROTOCOL, "the response body is truncated"),  # PARTIAL_FILE
    22: (_PROTOCOL, "HTTP error"),  # HTTP_RETURNED_ERROR (FAILONERROR is never set)
    23: (_PROTOCOL, "the response body could not be delivered"),  # WRITE_ERROR
    25: (_PROTOCOL, "the upload failed"),  # UPLOAD_FAILED
    26: (_PROTOCOL, "the request body could not be read"),  # READ_ERROR
    27: (HttpClientError, "libcurl ran out of memory"),  # OUT_OF_MEMORY
    28: (ConnectTimeoutException, "timed out"),  # OPERATION_TIMEDOUT (connect only)
    33: (_PROTOCOL, "range error"),  # RANGE_ERROR
    34: (_PROTOCOL, "the request body could not be sent"),  # HTTP_POST_ERROR
    35: (_CONNECT, "TLS handshake failed"),  # SSL_CONNECT_ERROR
    36: (_PROTOCOL, "resume failed"),  # BAD_DOWNLOAD_RESUME
    37: (_CONNECT, "a file libcurl needs could not be read"),  # FILE_COULDNT_READ_FILE
    42: (_PROTOCOL, "the transfer was aborted"),  # ABORTED_BY_CALLBACK
    43: (HttpClientError, "libcurl was called wrongly"),  # BAD_FUNCTION_ARGUMENT
    45: (_CONNECT, "cannot use the network interface"),  # INTERFACE_FAILED
    47: (SendCountExceedException, "too many redirects"),  # TOO_MANY_REDIRECTS
    48: (HttpClientError, "unknown libcurl option"),  # UNKNOWN_OPTION
    52: (_PROTOCOL, "the server closed the connection without a response"),  # GOT_NOTHING
    53: (_CONNECT, "TLS engine not found"),  # SSL_ENGINE_NOTFOUND
    54: (_CONNECT, "TLS engine unusable"),  # SSL_ENGINE_SETFAILED
    55: (_PROTOCOL, "the connection was lost while sending"),  # SEND_ERROR
    56: (_PROTOCOL, "the connection was lost while receiving"),  # RECV_ERROR
    58: (_CONNECT, "the client certificate cannot be used"),  # SSL_CERTPROBLEM
    59: (_CONNECT, "no usable TLS cipher"),  # SSL_CIPHER
    60: (_CONNECT, "TLS certificate verification failed"),  # PEER_FAILED_VERIFICATION
    61: (_PROTOCOL, "unknown content encoding"),  # BAD_CONTENT_ENCODING
    63: (_PROTOCOL, "the response body is too large"),  # FILESIZE_EXCEEDED
    64: (_CONNECT, "TLS is required but unavailable"),  # USE_SSL_FAILED
    65: (RequestBodyReplayException, "the streamed request body cannot be sent again"),
    66: (_CONNECT, "the TLS engine failed to start"),  # SSL_ENGINE_INITFAILED
    67: (_CONNECT, "login denied"),  # LOGIN_DENIED
    75: (_PROTOCOL, "conversion failed"),  # CONV_FAILED
    77: (_CONNECT, "the CA certificates cannot be read"),  # SSL_CACERT_BADFILE
    80: (_PROTOCOL, "TLS shutdown failed"),  # SSL_SHUTDOWN_FAILED
    81: (_PROTOCOL, "the socket is not ready"),  # AGAIN
    82: (_CONNECT, "the CRL file cannot be read"),  # SSL_CRL_BADFILE
    83: (_CONNECT, "TLS issuer check failed"),  # SSL_ISSUER_ERROR
    88: (_PROTOCOL, "chunk callback failed"),  # CHUNK_FAILED
    89: (_CONNECT, "no connection available"),  # NO_CONNECTION_AVAILABLE
    90: (_CONNECT, "TLS public key pinning failed"),  # SSL_PINNEDPUBKEYNOTMATCH
    91: (_CONNECT, "TLS certificate status is invalid"),  # SSL_INVALIDCERTSTATUS
    92: (_PROTOCOL, "HTTP/2 stream error"),  # HTTP2_STREAM
    93: (HttpClientError, "libcurl was called recursively"),  # RECURSIVE_API_CALL
    94: (_PROTOCOL, "authentication failed"),  # AUTH_ERROR
    95: (_PROTOCOL, "HTTP/3 error"),  # HTTP3
    96: (_CONNECT, "QUIC connection failed"),  # QUIC_CONNECT_ERROR
    97: (_CONNECT, "proxy failure"),  # PROXY
    98: (_CONNECT, "the server requires a client certificate"),  # SSL_CLIENTCERT
    99: (HttpClientError, "polling failed"),  # UNRECOVERABLE_POLL
    100: (_PROTOCOL, "the response head is too large"),  # TOO_LARGE
    101: (_CONNECT, "TLS Encrypted Client Hello is required"),  # ECH_REQUIRED
}

_DEFAULT: Final = (_PROTOCOL, "transfer failed")


def _seconds(value: float | None) -> str:
    return "unlimited" if value is None else f"{value:g}s"


def connect_timeout_error(method: str, url: str, timeout: float | None) -> HttpClientError:
    """The error for a connection not established within ``timeout``.

    Args:
        method: The request method.
        url: The redacted request URL.
        timeout: The connect timeout in seconds.

    Returns:
        A ``ConnectTimeoutException``.
    """
    return ConnectTimeoutException(
        f"Connect timeout has expired [method={method}, url={url}, "
        f"connect_timeout={_seconds(timeout)}]"
    )


def socket_timeout_error(method: str, url: str, timeout: float | None) -> HttpClientError:
    """The error for a connection where no byte moved for ``timeout``.

    Args:
        method: The request method.
        url: The redacted request URL.
        timeout: The socket timeout in seconds.

    Returns:
        A ``SocketTimeoutException``.
    """
    return SocketTimeoutException(
        f"Socket timeout has expired [method={method}, url={url}, "
        f"socket_timeout={_seconds(timeout)}]"
    )


def translate(
    code: int, message: str, method: str, url: str, connect_timeout: float | None
) -> HttpClientError:
    """Map a libcurl result code to the client's error for it.

    Args:
        code: The ``CURLcode`` the transfer ended with (not 0).
        message: libcurl's error text.
        method: The request method.
        url: The redacted request URL.
        connect_timeout: The connect timeout in force (named in timeout messages).

    Returns:
        The exception to raise, its ``__cause__`` set to a :class:`CurlError`.
    """
    cls, summary = _TABLE.get(code, _DEFAULT)
    error: HttpClientError
    if cls is ConnectTimeoutException:
        # The engine never sets CURLOPT_TIMEOUT nor low-speed limits: libcurl only times
        # out while connecting (DNS, TCP, proxy and TLS handshakes).
        error = connect_timeout_error(method, url, connect_timeout)
    else:
        detail = message.strip() or f"libcurl error {code}"
        error = cls(f"{method} {url}: {summary} ({detail})")
    error.__cause__ = CurlError(code, message)
    return error
