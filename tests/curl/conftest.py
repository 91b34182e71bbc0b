"""Fixtures of the curl engine tests: the shared loopback servers, plus hypercorn for
HTTP/2 and HTTP/3."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.curl.h2_server import H2Server, serve_hypercorn, serve_hypercorn_quic
from tests.servers.fixtures import (  # noqa: F401  (fixtures)
    blackhole,
    hostile,
    hostile_server,
    http_server,
    https_server,
    proxy_server,
    unix_server,
)
from tests.servers.fixtures import tls_files as tls_files
from tests.servers.tls import TLSFiles


@pytest.fixture(scope="session")
def h2_server(tls_files: TLSFiles) -> Iterator[H2Server]:
    """Hypercorn over TLS offering h2 and http/1.1 by ALPN."""
    with serve_hypercorn(tls_files.cert_file, tls_files.key_file) as server:
        yield server


@pytest.fixture(scope="session")
def h2c_server() -> Iterator[H2Server]:
    """Hypercorn on cleartext: HTTP/1.1, or HTTP/2 with prior knowledge."""
    with serve_hypercorn() as server:
        yield server


@pytest.fixture(scope="session")
def h3_server(tls_files: TLSFiles) -> Iterator[H2Server]:
    """Hypercorn with QUIC (HTTP/3) on the same port number over UDP (aioquic, a dev dep)."""
    import aioquic  # noqa: F401  - fail loudly, not skip, when the dev install lacks it

    with serve_hypercorn_quic(tls_files.cert_file, tls_files.key_file) as server:
        yield server


@pytest.fixture(autouse=True, params=["c", "python"])
def curl_driver(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every curl test runs on both drivers (``CurlEngineConfig.driver="auto"`` reads it).

    The C driver is built by the dev install: where it is missing, its half fails.
    """
    driver: str = request.param
    monkeypatch.setenv("CLIENT_CURL_DRIVER", driver)
    return driver
