"""``HttpCallValidator``: ``expect_success`` and custom response validation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from client_core.errors import (
    ClientRequestException,
    RedirectResponseException,
    ResponseException,
    ServerResponseException,
)
from client_core.plugins._api import HookOrder, PluginBuilder, Proceed, create_client_plugin

if TYPE_CHECKING:
    from client_core._request import HttpRequestBuilder
    from client_core._response import HttpResponse

__all__ = ["HttpCallValidator", "HttpCallValidatorConfig"]

ResponseValidator = Callable[["HttpResponse"], Awaitable[None]]
ExceptionHandler = Callable[[BaseException, "HttpRequestBuilder"], Awaitable[None]]

EXCERPT_LIMIT = 1024


@dataclass
class HttpCallValidatorConfig:
    """Configuration of :data:`HttpCallValidator` (installed by default).

    Attributes:
        expect_success: Raise for non-2xx responses; ``None`` takes the client's
            ``expect_success``. A request's own ``expect_success`` wins over both.
        validators: Functions run on every final response, in order; they raise to fail.
        exception_handlers: Functions run with any exception of a call (and its request);
            they may raise a different exception.
    """

    expect_success: bool | None = None
    validators: list[ResponseValidator] = field(default_factory=list)
    exception_handlers: list[ExceptionHandler] = field(default_factory=list)

    def validate_response(self, validator: ResponseValidator) -> ResponseValidator:
        """Add a validator (Ktor's ``validateResponse``); usable as a decorator.

        Args:
            validator: ``async (response) -> None`` that raises to reject.

        Returns:
            ``validator``.
        """
        self.validators.append(validator)
        return validator

    def handle_response_exception(self, handler: ExceptionHandler) -> ExceptionHandler:
        """Add an exception handler (``handleResponseExceptionWithRequest``).

        Args:
            handler: ``async (exception, request) -> None``.

        Returns:
            ``handler``.
        """
        self.exception_handlers.append(handler)
        return handler


async def default_validation(response: HttpResponse) -> None:
    """Raise the ``ResponseException`` subclass for a 3xx, 4xx or 5xx response.

    Args:
        response: The final response.

    Raises:
        RedirectResponseException: 3xx.
        ClientRequestException: 4xx.
        ServerResponseException: 5xx.
    """
    code = response.status.value
    if code < 300:
        return
    excerpt = await response.excerpt(EXCERPT_LIMIT)
    cls: type[ResponseException]
    if code < 400:
        cls = RedirectResponseException
    elif code < 500:
        cls = ClientRequestException
    elif code < 600:
        cls = ServerResponseException
    else:
        cls = ResponseException
    raise cls(response, excerpt)


def _install(plugin: PluginBuilder[HttpCallValidatorConfig]) -> None:
    config = plugin.config
    client_default = plugin.client.config.expect_success
    validators = list(config.validators)
    handlers = list(config.exception_handlers)
    if not (client_default or config.expect_success or validators or handlers):
        # Nothing to check by default: skip the interceptor (one layer less on every call);
        # the core still validates a request that sets expect_success=True itself.
        plugin.client._lazy_validation = default_validation
        return

    async def validate(request: HttpRequestBuilder, proceed: Proceed) -> HttpResponse:
        expect = request.expect_success
        if expect is None:
            expect = config.expect_success if config.expect_success is not None else client_default
        if not handlers:
            response = await proceed(request)
            if expect:
                await default_validation(response)
            for validator in validators:
                await validator(response)
            return response
        try:
            response = await proceed(request)
            if expect:
                await default_validation(response)
            for validator in validators:
                await validator(response)
            return response
        except Exception as exc:
            for handler in handlers:
                await handler(exc, request)
            raise

    plugin.on_send(validate, order=HookOrder.FIRST)


HttpCallValidator = create_client_plugin("HttpCallValidator", HttpCallValidatorConfig, _install)
"""Validates responses: ``expect_success`` and custom validators (installed by default)."""
