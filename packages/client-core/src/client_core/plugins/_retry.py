"""``HttpRequestRetry``: resend failed requests with a delay (Ktor's ``HttpRequestRetry``)."""

from __future__ import annotations

import dataclasses
import email.utils
import inspect
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import anyio

from client_core._attributes import AttributeKey
from client_core._content import OutgoingContent
from client_core.errors import (
    ConnectException,
    ContentDecodingException,
    ProtocolException,
    RequestBodyReplayException,
)
from client_core.http import HttpHeaders
from client_core.plugins._api import HookOrder, PluginBuilder, Proceed, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = ["HttpRequestRetry", "HttpRequestRetryConfig", "RetryContext", "retry"]

_log = logging.getLogger("client_core.retry")

RETRY_ORDER: Final = HookOrder.NORMAL
"""Where retries wrap sending: inside HttpRedirect (each hop is retried on its own)."""

ShouldRetry = Callable[["HttpRequestBuilder", "HttpResponse"], bool]
ShouldRetryOnException = Callable[["HttpRequestBuilder", BaseException], bool]
DelayFunction = Callable[["RetryContext"], float]
ModifyRequest = Callable[["RetryContext"], "Awaitable[None] | None"]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryContext:
    """What delay functions and ``modify_request`` receive for each retry.

    Attributes:
        request: The request about to be resent (a fresh copy of the original request;
            ``modify_request`` may change it).
        retry_count: 1 for the first retry, 2 for the second ...
        response: The response that is being retried, or ``None`` after an exception.
            Its body has been released; status and headers remain.
        cause: The exception that is being retried, or ``None`` after a response.
    """

    request: HttpRequestBuilder
    retry_count: int
    response: HttpResponse | None
    cause: BaseException | None


def _is_retryable_exception(cause: BaseException, retry_on_timeout: bool) -> bool:
    """Transport failures are worth retrying; mistakes and decoding errors are not."""
    if isinstance(cause, TimeoutError):
        return retry_on_timeout
    if isinstance(cause, ContentDecodingException):
        return False
    return isinstance(cause, ConnectException | ProtocolException)


def _never_response(request: HttpRequestBuilder, response: HttpResponse) -> bool:
    return False


def _never_exception(request: HttpRequestBuilder, cause: BaseException) -> bool:
    return False


def _is_server_error(request: HttpRequestBuilder, response: HttpResponse) -> bool:
    return 500 <= response.status.value <= 599


def retry_after_seconds(response: HttpResponse | None, now: float | None = None) -> float | None:
    """Return how long ``Retry-After`` asks to wait, in seconds.

    Args:
        response: The response (``None``: no header).
        now: The current time (``time.time()``) for an HTTP-date value.

    Returns:
        Seconds (>= 0), or ``None`` when the header is absent or malformed.
    """
    if response is None:
        return None
    value = response.headers.get(HttpHeaders.RETRY_AFTER)
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _check_count(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")
    return value


def _check_seconds(name: str, value: float) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
    return float(value)


@dataclass
class HttpRequestRetryConfig:
    """Configuration of :data:`HttpRequestRetry`.

    The defaults are Ktor's: up to 3 retries on a 5xx response or a transport failure
    (``retry_on_exception_or_server_errors(3)``), waiting with ``exponential_delay()``.
    Configure it with the methods (``retry_on_server_errors(5)``, ``constant_delay(0.5)``
    ...), in a block or as options: ``install(HttpRequestRetry, retry_on_server_errors=5)``.

    Attributes:
        max_retries: The most retries of one request (``0``: never retry).
        should_retry: ``(request, response) -> bool``: whether a response is retried.
        should_retry_on_exception: ``(request, exception) -> bool``: whether a failure is
            retried.
        delay_function: ``(RetryContext) -> seconds`` before each retry.
        modify_request_function: ``(RetryContext) -> None`` (sync or async) run on the
            copy of the request before it is resent, or ``None``.
        retry_non_idempotent: Also retry methods that are not idempotent (POST, PATCH).
            Default ``False``: only GET, HEAD, PUT, DELETE, OPTIONS, TRACE and QUERY are
            retried, whatever the predicates say.
        sleep: The function that waits between attempts (``anyio.sleep``); tests can
            replace it.
    """

    max_retries: int = 3
    should_retry: ShouldRetry = _is_server_error
    should_retry_on_exception: ShouldRetryOnException = field(
        default=lambda request, cause: _is_retryable_exception(cause, False)
    )
    delay_function: DelayFunction = field(default_factory=lambda: _exponential())
    modify_request_function: ModifyRequest | None = None
    retry_non_idempotent: bool = False
    sleep: Sleep = field(default=anyio.sleep)

    # -- when to retry ---------------------------------------------------------------------

    def retry_on_server_errors(self, max_retries: int = 3) -> None:
        """Retry responses with a 5xx status.

        Args:
            max_retries: The most retries.

        Raises:
            ValueError: ``max_retries`` is negative.
        """
        self.max_retries = _check_count("max_retries", max_retries)
        self.should_retry = _is_server_error

    def retry_on_exception(self, max_retries: int = 3, retry_on_timeout: bool = False) -> None:
        """Retry transport failures: ``ConnectException`` and ``ProtocolException``.

        Decoding errors (``ContentDecodingException``) and errors in the request itself
        are never retried.

        Args:
            max_retries: The most retries.
            retry_on_timeout: Also retry the three timeout exceptions.

        Raises:
            ValueError: ``max_retries`` is negative.
        """
        self.max_retries = _check_count("max_retries", max_retries)

        def on_exception(request: HttpRequestBuilder, cause: BaseException) -> bool:
            return _is_retryable_exception(cause, retry_on_timeout)

        self.should_retry_on_exception = on_exception

    def retry_on_exception_or_server_errors(
        self, max_retries: int = 3, retry_on_timeout: bool = False
    ) -> None:
        """Retry 5xx responses and transport failures (the default, with 3).

        Args:
            max_retries: The most retries.
            retry_on_timeout: Also retry the three timeout exceptions.

        Raises:
            ValueError: ``max_retries`` is negative.
        """
        self.retry_on_server_errors(max_retries)
        self.retry_on_exception(max_retries, retry_on_timeout)

    def retry_if(self, predicate: ShouldRetry, max_retries: int | None = None) -> None:
        """Retry responses for which ``predicate(request, response)`` is true.

        Args:
            predicate: Decides from the request and the response (status, headers; the
                body is not read yet for streaming calls).
            max_retries: The most retries; ``None`` keeps the current value.

        Raises:
            ValueError: ``max_retries`` is negative.
        """
        if max_retries is not None:
            self.max_retries = _check_count("max_retries", max_retries)
        self.should_retry = predicate

    def retry_on_exception_if(
        self, predicate: ShouldRetryOnException, max_retries: int | None = None
    ) -> None:
        """Retry exceptions for which ``predicate(request, exception)`` is true.

        Args:
            predicate: Decides from the request and the exception.
            max_retries: The most retries; ``None`` keeps the current value.

        Raises:
            ValueError: ``max_retries`` is negative.
        """
        if max_retries is not None:
            self.max_retries = _check_count("max_retries", max_retries)
        self.should_retry_on_exception = predicate

    def no_retry(self) -> None:
        """Never retry (for one request: ``retry(request, HttpRequestRetryConfig.no_retry)``)."""
        self.max_retries = 0
        self.should_retry = _never_response
        self.should_retry_on_exception = _never_exception

    # -- how long to wait ------------------------------------------------------------------

    def exponential_delay(
        self,
        base: float = 2.0,
        base_delay: float = 1.0,
        max_delay: float = 60.0,
        randomization: float = 1.0,
        respect_retry_after_header: bool = True,
    ) -> None:
        """Wait ``min(base ** retry_count * base_delay, max_delay)`` plus jitter (the default).

        With the defaults: about 2 s, 4 s, 8 s ... plus up to 1 s of random jitter.

        Args:
            base: The growth factor (> 1 grows).
            base_delay: Seconds multiplied by ``base ** retry_count``.
            max_delay: The longest computed wait, in seconds; also caps ``Retry-After``.
            randomization: Up to this many random seconds added to each wait (jitter,
                so that many clients do not retry in lockstep).
            respect_retry_after_header: Wait at least what a ``Retry-After`` header on
                the response asks (seconds or an HTTP date), up to ``max_delay``.

        Raises:
            ValueError: A negative value, or ``base`` below 1.
        """
        self.delay_function = _exponential(
            base, base_delay, max_delay, randomization, respect_retry_after_header
        )

    def constant_delay(
        self,
        delay: float = 1.0,
        randomization: float = 0.0,
        respect_retry_after_header: bool = False,
        max_delay: float = 60.0,
    ) -> None:
        """Wait the same time before every retry.

        Args:
            delay: Seconds to wait.
            randomization: Up to this many random seconds added to each wait.
            respect_retry_after_header: Wait at least what ``Retry-After`` asks, up to
                ``max_delay``.
            max_delay: The cap for ``Retry-After``.

        Raises:
            ValueError: A negative value.
        """
        _check_seconds("delay", delay)
        _check_seconds("randomization", randomization)
        _check_seconds("max_delay", max_delay)

        def constant(context: RetryContext) -> float:
            return delay + random.uniform(0.0, randomization) if randomization else delay

        self.delay_function = _with_retry_after(constant, respect_retry_after_header, max_delay)

    def custom_delay(
        self, function: DelayFunction, respect_retry_after_header: bool = False
    ) -> None:
        """Wait ``function(context)`` seconds before each retry (Ktor's ``delayMillis``).

        Args:
            function: ``(RetryContext) -> seconds``.
            respect_retry_after_header: Wait at least what ``Retry-After`` asks (uncapped).
        """
        self.delay_function = _with_retry_after(function, respect_retry_after_header, None)

    # -- what to resend --------------------------------------------------------------------

    def modify_request(self, function: ModifyRequest) -> None:
        """Run ``function(context)`` on each copy of the request before it is resent.

        For example, to tell the server which attempt this is::

            config.modify_request(
                lambda ctx: ctx.request.headers.set("X-Retry-Count", str(ctx.retry_count))
            )

        Args:
            function: ``(RetryContext) -> None``, sync or async.
        """
        self.modify_request_function = function

    def copy(self) -> HttpRequestRetryConfig:
        """Return a copy (per-request overrides start from the client's configuration)."""
        return dataclasses.replace(self)


def _exponential(
    base: float = 2.0,
    base_delay: float = 1.0,
    max_delay: float = 60.0,
    randomization: float = 1.0,
    respect_retry_after_header: bool = True,
) -> DelayFunction:
    if not isinstance(base, int | float) or isinstance(base, bool) or base < 1:
        raise ValueError(f"base must be a number >= 1, got {base!r}")
    _check_seconds("base_delay", base_delay)
    _check_seconds("max_delay", max_delay)
    _check_seconds("randomization", randomization)

    def delay(context: RetryContext) -> float:
        exponent = min(context.retry_count, 64)
        wait = min(float(base) ** exponent * base_delay, max_delay)
        return wait + random.uniform(0.0, randomization) if randomization else wait

    return _with_retry_after(delay, respect_retry_after_header, max_delay)


def _with_retry_after(function: DelayFunction, respect: bool, cap: float | None) -> DelayFunction:
    if not respect:
        return function

    def delay(context: RetryContext) -> float:
        wait = function(context)
        asked = retry_after_seconds(context.response)
        if asked is not None:
            wait = max(wait, asked if cap is None else min(asked, cap))
        return wait

    return delay


PerRequest = tuple[Callable[[HttpRequestRetryConfig], Any] | None, dict[str, Any]]
_PER_REQUEST: Final[AttributeKey[list[PerRequest]]] = AttributeKey("HttpRequestRetry.per_request")


def retry(
    request: HttpRequestBuilder,
    block: Callable[[HttpRequestRetryConfig], Any] | None = None,
    /,
    **options: Any,
) -> None:
    """Override the retry policy for one request (Ktor's ``retry { }`` in a request block).

    The override starts from the client's :class:`HttpRequestRetryConfig`; ``block`` and
    ``options`` change it as ``install`` does. ``HttpRequestRetry`` must be installed::

        await client.get(url, lambda req: retry(req, max_retries=1))
        await client.get(url, lambda req: retry(req, HttpRequestRetryConfig.no_retry))

    Args:
        request: The request builder.
        block: A function receiving the configuration copy.
        **options: Attributes to set or methods to call (``retry_on_server_errors=5``).
    """
    request.attributes.compute_if_absent(_PER_REQUEST, list).append((block, options))


def _config_for(
    request: HttpRequestBuilder, base: HttpRequestRetryConfig
) -> HttpRequestRetryConfig:
    overrides = request.attributes.get(_PER_REQUEST)
    if not overrides:
        return base
    from client_core._config import _set_options

    config = base.copy()
    for block, options in overrides:
        _set_options("HttpRequestRetry", config, options)
        if block is not None:
            block(config)
    return config


def _replay_refused(request: HttpRequestBuilder, what: str) -> RequestBodyReplayException | None:
    body = request.body
    if isinstance(body, OutgoingContent) and body.is_one_shot and getattr(body, "started", True):
        return RequestBodyReplayException(
            f"{request.method} {request.build_url().redacted()}: {what} would be retried, but "
            "the request body was a one-shot stream that was already sent and cannot be sent "
            "again; send bytes to allow retries, or disable them for this request with "
            "retry(request, HttpRequestRetryConfig.no_retry)"
        )
    return None


def _install(plugin: PluginBuilder[HttpRequestRetryConfig]) -> None:
    client = plugin.client
    client_config = plugin.config
    _check_count("max_retries", client_config.max_retries)

    async def send_with_retries(request: HttpRequestBuilder, proceed: Proceed) -> HttpResponse:
        config = _config_for(request, client_config)
        if config.max_retries <= 0 or not (
            config.retry_non_idempotent or request.method.is_idempotent
        ):
            return await proceed(request)
        retry_count = 0
        attempt = request
        while True:
            response: HttpResponse | None = None
            cause: Exception | None = None
            try:
                response = await proceed(attempt)
            except Exception as exc:
                if retry_count >= config.max_retries or not config.should_retry_on_exception(
                    attempt, exc
                ):
                    raise
                refused = _replay_refused(attempt, f"the failure ({type(exc).__name__})")
                if refused is not None:
                    raise refused from exc
                cause = exc
            else:
                if retry_count >= config.max_retries or not config.should_retry(attempt, response):
                    return response
                refused = _replay_refused(attempt, f"the {response.status} response")
                if refused is not None:
                    await response.discard()
                    raise refused
                await response.discard()
            retry_count += 1
            attempt = type(request)().take_from(request)
            context = RetryContext(attempt, retry_count, response, cause)
            wait = max(0.0, float(config.delay_function(context)))
            _log.debug(
                "%s %s: retry %d of %d in %.3fs after %s",
                request.method,
                request.build_url().redacted(),
                retry_count,
                config.max_retries,
                wait,
                response.status if response is not None else repr(cause),
            )
            if wait > 0:
                # The client's sleep ends early (RequestCancelledException) on cancel().
                await (client.sleep(wait) if config.sleep is anyio.sleep else config.sleep(wait))
            if config.modify_request_function is not None:
                result = config.modify_request_function(context)
                if inspect.isawaitable(result):
                    await result

    plugin.on_send(send_with_retries, order=RETRY_ORDER)


HttpRequestRetry = create_client_plugin("HttpRequestRetry", HttpRequestRetryConfig, _install)
"""Retries failed requests: 5xx responses and transport failures by default.

Only idempotent methods are retried unless ``retry_non_idempotent`` is set, and a
one-shot streamed request body is never resent (``RequestBodyReplayException``).
"""
