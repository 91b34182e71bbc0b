"""The conformance suite runs every installed network engine on asyncio and trio.

Engines are discovered with ``client_core.engines()`` (``mock`` is left out: it does no
networking), so an engine joins the suite by being installed. What differs between
engines is read from the engine itself (``capabilities``, configuration attributes),
never from its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from client_core import HttpClient, HttpClientConfig, engines
from client_core.engine import EngineCapability, HttpClientEngine, find_engine_factory
from tests.servers.fixtures import (  # noqa: F401  (fixtures)
    blackhole,
    hostile,
    hostile_server,
    http_server,
    https_server,
    proxy_server,
    tls_files,
    unix_server,
)

EXCLUDED = {"mock"}
# Engines that can run on more than one driver run the suite on each: name -> the
# variant's id and the environment that selects it.
VARIANTS: dict[str, list[tuple[str, dict[str, str]]]] = {
    "curl": [
        ("curl", {"CLIENT_CURL_DRIVER": "c"}),
        ("curl-pydriver", {"CLIENT_CURL_DRIVER": "python"}),
    ],
}


def _engine_params() -> list[Any]:
    params = []
    for info in engines():
        if info.compatible and info.name not in EXCLUDED:
            for variant, environ in VARIANTS.get(info.name, [(info.name, {})]):
                params.append(pytest.param((info.name, environ), id=variant))
    return params


@dataclass
class EngineUnderTest:
    """One engine, and how the tests build clients and engines with it."""

    name: str
    factory: Any

    @property
    def capabilities(self) -> frozenset[EngineCapability]:
        return frozenset(self.factory.capabilities)

    def has_option(self, option: str) -> bool:
        """Whether the engine's configuration has ``option`` (e.g. ``max_connections``)."""
        return hasattr(self.factory.config_class(), option)

    def engine(self, **options: Any) -> HttpClientEngine[Any]:
        return self.factory.create(None, **options)  # type: ignore[no-any-return]

    def client(
        self, configure: Callable[[HttpClientConfig], Any] | None = None, **engine_options: Any
    ) -> HttpClient:
        def setup(config: HttpClientConfig) -> None:
            if engine_options:
                config.engine(**engine_options)
            if configure is not None:
                configure(config)

        return HttpClient(self.factory, setup)


@pytest.fixture(params=_engine_params() or [None])
def engine_factory(
    request: pytest.FixtureRequest, anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> EngineUnderTest:
    if request.param is None:  # fail loudly: a conformance run with no engine proves nothing
        pytest.fail("no network engine is installed: run scripts/install.sh")
    name, environ = request.param
    for key, value in environ.items():
        monkeypatch.setenv(key, value)
    return EngineUnderTest(name, find_engine_factory(name))
