"""The mock engine's own error: a request nothing was set up to answer."""

from __future__ import annotations

from client_core.errors import HttpClientError

__all__ = ["UnhandledRequestError"]


class UnhandledRequestError(HttpClientError, AssertionError):
    """A request matched no route and no handler was left to answer it.

    It is an :class:`~client_core.errors.HttpClientError`, so it travels through the
    client like any engine failure, and an :class:`AssertionError`, because it means the
    test set the mock up for different requests. The message names the request (method
    and URL without credentials), lists the registered routes and says how many handlers
    remain.
    """
