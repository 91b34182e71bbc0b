"""The public surface of client_mock: curated, sorted, and what API.md names."""

from __future__ import annotations

import importlib
import importlib.metadata

import client_mock


def test_all_is_sorted_and_resolves() -> None:
    names = list(client_mock.__all__)
    # isort-style order (as ruff's RUF022 keeps it): CONSTANTS, Classes, functions.
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in names:
        assert hasattr(client_mock, name), name


def test_every_public_member_is_listed() -> None:
    public = {
        name
        for name, value in vars(client_mock).items()
        if not name.startswith("_") and not isinstance(value, type(importlib))
    }
    assert public <= set(client_mock.__all__)


def test_contract_names_are_exported() -> None:
    assert {
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
    } <= set(client_mock.__all__)


def test_version_and_entry_points() -> None:
    assert client_mock.__version__ == importlib.metadata.version("client-mock") == "0.1.0"
    engines = importlib.metadata.entry_points(group="client_core.engines")
    (mock,) = [ep for ep in engines if ep.name == "mock"]
    assert mock.value == "client_mock:MockEngine"
    assert mock.load() is client_mock.MockEngine
    plugins = importlib.metadata.entry_points(group="pytest11")
    (plugin,) = [ep for ep in plugins if ep.name == "client_mock"]
    assert plugin.value == "client_mock.pytest_plugin"


def test_public_objects_have_docstrings() -> None:
    for name in client_mock.__all__:
        if name.startswith("__") or name == "Handler":
            continue
        assert getattr(client_mock, name).__doc__, name
