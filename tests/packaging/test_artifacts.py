"""What the built wheels and sdists contain, and ``scripts/dist.sh`` (``make dist``)."""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from tests.packaging.conftest import (
    DISTS,
    ENGINE_DISTS,
    ENGINE_ENTRY_POINTS,
    ENGINE_GROUP,
    ROOT,
    Wheels,
    _run,
    import_name,
    pyproject,
    source_version,
)

pytestmark = pytest.mark.slow

CORE_PIN = SpecifierSet(">=0.1,<1")
# Distributions with a compiled module (built for the interpreter building them): the
# module's name in the wheel.
COMPILED = {"client-curl": "client_curl/_cdriver."}


def wheel_name_ok(dist: str, name: str) -> bool:
    """Whether ``name`` is the wheel file name of ``dist``: pure, or for this platform."""
    stem = f"{import_name(dist)}-{source_version(dist)}"
    if dist in COMPILED:
        return re.fullmatch(rf"{re.escape(stem)}-cp3\d+-cp3\d+-[a-z0-9_]+\.whl", name) is not None
    return name == f"{stem}-py3-none-any.whl"


def _dist_info(names: list[str]) -> str:
    [info] = {n.split("/", 1)[0] for n in names if ".dist-info/" in n}
    return info


@pytest.mark.parametrize("dist", DISTS)
def test_wheel_contents(wheels: Wheels, dist: str) -> None:
    wheel = wheels[dist]
    package = import_name(dist)
    version = source_version(dist)
    assert wheel_name_ok(dist, wheel.name), wheel.name
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        info = _dist_info(names)
        meta = Parser().parsestr(zf.read(f"{info}/METADATA").decode())
        entry_points = configparser.ConfigParser(delimiters=("=",))
        if f"{info}/entry_points.txt" in names:
            entry_points.read_string(zf.read(f"{info}/entry_points.txt").decode())
        version_file = zf.read(f"{package}/_version.py").decode()

    # Only the package and its metadata: no tests, no src/ prefix, no stray files.
    assert all(n.startswith((f"{package}/", f"{info}/")) for n in names), names
    assert f"{package}/__init__.py" in names
    assert f"{package}/py.typed" in names
    assert f'__version__ = "{version}"' in version_file
    compiled = [n for n in names if n.endswith((".so", ".pyd"))]
    if dist in COMPILED:  # the C driver, built here; its source stays in the sdist
        assert [n for n in compiled if n.startswith(COMPILED[dist])], names
        assert not [n for n in names if n.endswith(".c")], names
    else:
        assert not compiled, names

    assert meta["Name"] == dist and meta["Version"] == version
    assert meta["Requires-Python"] == ">=3.11"
    requires = {
        canonicalize_name(r.name): r
        for r in map(Requirement, meta.get_all("Requires-Dist") or [])
        if r.marker is None
    }
    dependencies = pyproject(dist)["project"]["dependencies"]
    declared = {canonicalize_name(r.name): r for r in map(Requirement, dependencies)}
    assert requires.keys() == declared.keys()
    for name, req in declared.items():
        assert requires[name].specifier == req.specifier, name

    if dist in ENGINE_DISTS:
        assert requires["client-core"].specifier == CORE_PIN
        name, target = ENGINE_ENTRY_POINTS[dist]
        assert dict(entry_points[ENGINE_GROUP]) == {name: target}
    else:
        assert "client-core" not in requires
        assert not entry_points.has_section(ENGINE_GROUP)
    if dist == "client-mock":
        assert dict(entry_points["pytest11"]) == {"client_mock": "client_mock.pytest_plugin"}


def test_make_dist_builds_a_wheel_and_an_sdist_per_distribution(tmp_path: Path) -> None:
    out = tmp_path / "dist"
    env = {**os.environ, "DIST_DIR": str(out), "VENV": str(Path(sys.executable).parents[1])}
    _run([ROOT / "scripts" / "dist.sh"], what="scripts/dist.sh", cwd=ROOT, env=env, timeout=300)
    built = {p.name for p in out.iterdir()}
    assert len(built) == 2 * len(DISTS), built
    for dist in DISTS:
        stem = f"{import_name(dist)}-{source_version(dist)}"
        assert f"{stem}.tar.gz" in built
        assert [name for name in built if wheel_name_ok(dist, name)], (dist, built)

    for dist in DISTS:
        stem = f"{import_name(dist)}-{source_version(dist)}"
        with tarfile.open(out / f"{stem}.tar.gz") as tf:
            members = set(tf.getnames())
        package = import_name(dist)
        for needed in (
            "PKG-INFO",
            "pyproject.toml",
            f"src/{package}/__init__.py",
            f"src/{package}/_version.py",
            f"src/{package}/py.typed",
        ):
            assert f"{stem}/{needed}" in members, f"{stem}.tar.gz lacks {needed}"
        if dist in COMPILED:  # what building the C driver from the sdist needs, no binary
            assert f"{stem}/hatch_build.py" in members
            assert f"{stem}/src/{package}/_cdriver.c" in members
            assert not [m for m in members if m.endswith(".so")], members
        [wheel] = [name for name in built if wheel_name_ok(dist, name)]
        with zipfile.ZipFile(out / wheel) as zf:
            assert f"{package}/py.typed" in zf.namelist()


def _curl_source_without_binary(tmp_path: Path) -> Path:
    """client-curl's project copied without the C driver built in place (as an sdist)."""
    project = tmp_path / "client-curl"
    shutil.copytree(
        ROOT / "packages" / "client-curl",
        project,
        ignore=shutil.ignore_patterns("*.so", "*.tmp", "__pycache__"),
    )
    return project


def test_without_a_compiler_client_curl_builds_pure_and_runs_the_python_driver(
    tmp_path: Path, wheels: Wheels, make_venv: Any
) -> None:
    project = _curl_source_without_binary(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "LDSHARED": "false"}  # the compiler "fails"
    env.pop("CLIENT_CURL_REQUIRE_CDRIVER", None)
    proc = _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, project],
        what="building client-curl with no compiler",
        env=env,
    )
    assert "could not build the C driver" in proc.stdout + proc.stderr
    [wheel] = out.glob("*.whl")
    assert wheel.name == f"client_curl-{source_version('client-curl')}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        assert not [n for n in zf.namelist() if n.endswith(".so")]

    venv = make_venv(wheels["client-core"], wheel)
    proc = venv.run(
        "from client_curl import Curl\n"
        "from client_curl._cmulti import available\n"
        "from client_curl._multi import Driver\n"
        "assert not available()\n"
        "assert type(Curl()._driver) is Driver\n"
        "try:\n"
        "    Curl.create(driver='c')\n"
        "except ValueError as exc:\n"
        "    print('refused:', exc)\n"
    )
    assert proc.returncode == 0, proc.stderr
    assert "built without its C driver" in proc.stdout


def test_a_required_c_driver_that_cannot_be_built_fails_the_build(tmp_path: Path) -> None:
    project = _curl_source_without_binary(tmp_path)
    env = {**os.environ, "LDSHARED": "false", "CLIENT_CURL_REQUIRE_CDRIVER": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path, project],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode != 0
    assert not list(tmp_path.glob("*.whl"))
