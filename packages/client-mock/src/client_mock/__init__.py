"""client-mock: a mock engine for ``client_core``, for tests (Ktor's ``MockEngine``).

Answer requests from handlers or routes instead of the network, and inspect what was
sent::

    from client_core import HttpClient
    from client_mock import MockEngine, respond

    engine = MockEngine(lambda request: respond("hi", headers={"Content-Type": "text/plain"}))
    async with HttpClient(engine) as client:
        response = await client.get("https://example.com/")
    assert engine.request_history[0].method == "GET"

The ``mock_engine`` pytest fixture (registered automatically when this distribution is
installed) gives each test a fresh engine and fails the test when a route was never called.
"""

from client_mock._engine import MockEngine, MockEngineConfig
from client_mock._errors import UnhandledRequestError
from client_mock._request import MockRequest
from client_mock._responses import (
    respond,
    respond_bad_request,
    respond_error,
    respond_json,
    respond_ok,
    respond_redirect,
)
from client_mock._routes import Handler, Route
from client_mock._version import __version__

__all__ = [
    "Handler",
    "MockEngine",
    "MockEngineConfig",
    "MockRequest",
    "Route",
    "UnhandledRequestError",
    "__version__",
    "respond",
    "respond_bad_request",
    "respond_error",
    "respond_json",
    "respond_ok",
    "respond_redirect",
]
