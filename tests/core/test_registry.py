"""Engine discovery through entry points (with fake entry points; see tests/packaging)."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

from client_core import HttpClient
from client_core.engine import ENGINE_API_VERSION, _registry, engines, find_engine_factory
from client_core.errors import EngineIncompatibleError, EngineNotFoundError
from tests.core.echo_engine import EchoEngine


class OldEngine(EchoEngine):
    engine_api_version = "0.3"


class FutureEngine(EchoEngine):
    engine_api_version = f"{ENGINE_API_VERSION.split('.')[0]}.99"


def _ep(name: str, target: str) -> EntryPoint:
    return EntryPoint(name=name, value=target, group=_registry.ENGINE_GROUP)


@pytest.fixture
def fake_eps(monkeypatch: pytest.MonkeyPatch) -> Any:
    def install(*eps: EntryPoint) -> None:
        ordered = tuple(sorted(eps, key=lambda ep: ep.name))
        monkeypatch.setattr(_registry, "_entry_points", lambda: ordered)

    monkeypatch.delenv("CLIENT_ENGINE", raising=False)
    return install


def test_no_engine_names_the_distributions(fake_eps: Any) -> None:
    fake_eps()
    with pytest.raises(EngineNotFoundError) as info:
        HttpClient()
    assert "pip install client-cio" in str(info.value)


def test_alphabetical_first_compatible_wins(fake_eps: Any) -> None:
    fake_eps(
        _ep("zeta", "tests.core.test_registry:OldEngine"),
        _ep("alpha", "tests.core.echo_engine:EchoEngine"),
    )
    assert find_engine_factory() is EchoEngine


def test_incompatible_engines_are_skipped(fake_eps: Any) -> None:
    fake_eps(
        _ep("aaa", "tests.core.test_registry:OldEngine"),
        _ep("bbb", "tests.core.echo_engine:EchoEngine"),
    )
    assert find_engine_factory() is EchoEngine


def test_only_incompatible_names_both_versions(fake_eps: Any) -> None:
    fake_eps(_ep("old", "tests.core.test_registry:OldEngine"))
    with pytest.raises(EngineIncompatibleError) as info:
        find_engine_factory()
    assert "0.3" in str(info.value) and ENGINE_API_VERSION in str(info.value)


def test_newer_minor_is_incompatible(fake_eps: Any) -> None:
    fake_eps(_ep("future", "tests.core.test_registry:FutureEngine"))
    with pytest.raises(EngineIncompatibleError):
        find_engine_factory("future")


def test_env_override(fake_eps: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_eps(
        _ep("aaa", "tests.core.test_registry:OldEngine"),
        _ep("echo", "tests.core.echo_engine:EchoEngine"),
    )
    monkeypatch.setenv("CLIENT_ENGINE", "echo")
    assert find_engine_factory() is EchoEngine
    monkeypatch.setenv("CLIENT_ENGINE", "nope")
    with pytest.raises(EngineNotFoundError) as info:
        find_engine_factory()
    assert "'nope'" in str(info.value) and "CLIENT_ENGINE" in str(info.value)
    assert "aaa, echo" in str(info.value)


def test_by_name(fake_eps: Any) -> None:
    fake_eps(_ep("echo", "tests.core.echo_engine:EchoEngine"))
    with pytest.raises(EngineNotFoundError):
        find_engine_factory("curl")
    assert find_engine_factory("echo") is EchoEngine


def test_broken_entry_point_is_reported(fake_eps: Any) -> None:
    fake_eps(
        _ep("broken", "no_such_module_xyz:Engine"), _ep("echo", "tests.core.echo_engine:EchoEngine")
    )
    listing = {info.name: info for info in engines()}
    assert listing["broken"].compatible is False
    assert "no_such_module_xyz" in (listing["broken"].reason or "")
    assert listing["echo"].compatible is True and listing["echo"].reason is None
    assert find_engine_factory() is EchoEngine


def test_engines_lists_in_order(fake_eps: Any) -> None:
    fake_eps(
        _ep("b", "tests.core.echo_engine:EchoEngine"),
        _ep("a", "tests.core.test_registry:OldEngine"),
    )
    listing = engines()
    assert [i.name for i in listing] == ["a", "b"]
    assert listing[0].compatible is False and "0.3" in (listing[0].reason or "")
    assert listing[0].api_version == "0.3"


def test_client_by_name_owns_engine(fake_eps: Any) -> None:
    fake_eps(_ep("echo", "tests.core.echo_engine:EchoEngine"))
    client = HttpClient("echo")
    assert isinstance(client.engine, EchoEngine)
    client.close()
    assert client.engine.is_closed


def test_incompatible_factory_passed_directly() -> None:
    with pytest.raises(EngineIncompatibleError) as info:
        HttpClient(OldEngine)
    assert "0.3" in str(info.value)
