"""The public surface: curated, sorted, and complete for API.md's names."""

from __future__ import annotations

import importlib

import pytest

import client_core
import client_core.errors
import client_core.plugins


@pytest.mark.parametrize(
    "module",
    [client_core, client_core.errors, client_core.plugins, client_core.engine, client_core.http],
)
def test_all_is_sorted_and_resolves(module: object) -> None:
    names = list(module.__all__)  # type: ignore[attr-defined]
    # isort-style order (as ruff's RUF022 keeps it): CONSTANTS, Classes, functions.
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in names:
        assert hasattr(module, name), name


def test_every_public_member_is_listed() -> None:
    public = {
        name
        for name, value in vars(client_core).items()
        if not name.startswith("_") and not isinstance(value, type(importlib))
    }
    assert public <= set(client_core.__all__) | {"annotations"}


@pytest.mark.parametrize(
    "name",
    [
        "HttpClient",
        "HttpClientConfig",
        "HttpClientEngineConfig",
        "ProxyBuilder",
        "HttpResponse",
        "HttpRequestBuilder",
        "HttpStatement",
        "Url",
        "URLBuilder",
        "Headers",
        "HeadersBuilder",
        "HttpStatusCode",
        "HttpMethod",
        "ContentType",
        "HttpHeaders",
        "ENGINE_API_VERSION",
        "engines",
        "__version__",
        "ResponseException",
        "RedirectResponseException",
        "ClientRequestException",
        "ServerResponseException",
        "HttpRequestTimeoutException",
        "ConnectTimeoutException",
        "SocketTimeoutException",
        "ConnectException",
        "ProtocolException",
        "SendCountExceedException",
        "ClientClosedException",
        "RequestCancelledException",
        "UnsupportedCapabilityException",
        "EngineNotFoundError",
        "EngineIncompatibleError",
    ],
)
def test_api_md_names_exported(name: str) -> None:
    assert name in client_core.__all__


def test_errors_are_reexported_identically() -> None:
    for name in client_core.errors.__all__:
        assert getattr(client_core, name) is getattr(client_core.errors, name)
