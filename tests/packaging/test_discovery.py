"""Engine discovery with real installed wheels, each scenario in a fresh virtualenv."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from tests.packaging.conftest import (
    DISTS,
    ENGINE_DISTS,
    ENGINE_ENTRY_POINTS,
    REQUIRED_DISTS,
    Wheels,
    import_name,
    source_version,
)

pytestmark = pytest.mark.slow

CORE_API_VERSION_PROBE = "from client_core import ENGINE_API_VERSION; print(ENGINE_API_VERSION)"


def test_required_distributions_exist() -> None:
    missing = [d for d in REQUIRED_DISTS if d not in DISTS]
    assert not missing, f"packages/ lacks {missing}"


def test_core_alone_finds_no_engine(wheels: Wheels, make_venv: Any) -> None:
    venv = make_venv(wheels["client-core"])
    result = venv.probe()
    assert result["engines"] == []
    error = result["error"]
    assert error["type"] == "EngineNotFoundError"
    assert "LookupError" in error["mro"] and "HttpClientError" in error["mro"]
    assert "pip install client-cio" in error["message"]


@pytest.mark.parametrize("dist", ENGINE_DISTS)
def test_each_engine_alone_is_discovered(wheels: Wheels, make_venv: Any, dist: str) -> None:
    name, target = ENGINE_ENTRY_POINTS[dist]
    venv = make_venv(wheels["client-core"], wheels[dist])
    result = venv.probe()
    assert "error" not in result, result.get("error")
    [info] = result["engines"]
    assert info["api_version"] is not None
    assert info == {
        "name": name,
        "distribution": dist,
        "version": source_version(dist),
        "compatible": True,
        "reason": None,
        "api_version": info["api_version"],
    }
    assert result["engine"]["module"].split(".")[0] == import_name(dist), target
    assert venv.probe(name)["engine"] == result["engine"]


def test_mock_engine_is_discovered_and_answers(wheels: Wheels, make_venv: Any) -> None:
    venv = make_venv(wheels["client-core"], wheels["client-mock"])
    assert venv.probe()["engine"]["name"] == "MockEngine"
    code = textwrap.dedent(
        """
        import anyio
        from client_core import HttpClient
        from client_mock import respond

        def configure(config):
            config.engine(lambda engine: engine.add_handler(lambda request: respond("hi")))

        async def main():
            async with HttpClient(configure) as client:
                response = await client.get("https://example.com/")
                print(type(client.engine).__name__, response.status.value, await response.text())

        anyio.run(main)
        """
    )
    proc = venv.run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["MockEngine", "200", "hi"]


def test_all_engines_together_pick_the_first_name(wheels: Wheels, make_venv: Any) -> None:
    venv = make_venv(wheels["client-core"], *(wheels[d] for d in ENGINE_DISTS))
    result = venv.probe()
    names = [info["name"] for info in result["engines"]]
    assert names == sorted(ENGINE_ENTRY_POINTS[d][0] for d in ENGINE_DISTS)
    first = min(ENGINE_DISTS, key=lambda d: ENGINE_ENTRY_POINTS[d][0])
    # With client-cio built, this is "core + cio + mock -> cio".
    assert result["engine"]["module"].split(".")[0] == import_name(first)


def test_incompatible_engine_is_reported_and_skipped(
    wheels: Wheels, make_venv: Any, engine_wheel: Any
) -> None:
    venv = make_venv(wheels["client-core"], wheels["client-mock"], engine_wheel("aaa", "99.0"))
    result = venv.probe()
    core_api = result["api_version"]
    listing = {info["name"]: info for info in result["engines"]}
    assert list(listing) == ["aaa", "mock"]
    aaa = listing["aaa"]
    assert aaa["distribution"] == "client-test-engine-aaa" and aaa["version"] == "0.0.1"
    assert aaa["compatible"] is False
    assert "99.0" in aaa["reason"] and core_api in aaa["reason"]
    assert listing["mock"]["compatible"] is True
    assert result["engine"]["name"] == "MockEngine"

    for by_name, env in ((("aaa",), None), ((), {"CLIENT_ENGINE": "aaa"})):
        error = venv.probe(*by_name, env=env)["error"]
        assert error["type"] == "EngineIncompatibleError"
        assert "99.0" in error["message"] and core_api in error["message"]


def test_client_engine_variable_overrides_discovery(
    wheels: Wheels, make_venv: Any, engine_wheel: Any
) -> None:
    core_api = make_venv(wheels["client-core"]).run(CORE_API_VERSION_PROBE).stdout.strip()
    venv = make_venv(wheels["client-core"], wheels["client-mock"], engine_wheel("aab", core_api))
    result = venv.probe()
    assert [i["compatible"] for i in result["engines"]] == [True, True]
    assert result["engine"]["name"] == "AabEngine"  # "aab" sorts before "mock"

    assert venv.probe(env={"CLIENT_ENGINE": "mock"})["engine"]["name"] == "MockEngine"

    error = venv.probe(env={"CLIENT_ENGINE": "nope"})["error"]
    assert error["type"] == "EngineNotFoundError"
    assert "'nope'" in error["message"] and "CLIENT_ENGINE" in error["message"]
    assert "aab, mock" in error["message"]
