"""Build the distributions once per session and install them into fresh virtualenvs.

How the virtualenvs get their third-party dependencies (anyio, yarl, multidict, h11 and
what those need) without the network and without leaking the development packages:

- ``python -m venv --system-site-packages`` would expose the dev venv, including the
  editable ``client-*`` installs and their entry points, so discovery would see engines
  that were never installed in the scenario. Not an option.
- ``pip install`` of the dependencies into every venv needs PyPI and takes seconds per
  venv; a ``pip download`` wheelhouse needs PyPI too.
- So: once per session, the distributions the built wheels require (the closure of their
  ``Requires-Dist``, markers evaluated) are copied, file by file as their ``RECORD`` lists
  them, from the environment running the tests into one shared directory. Each scenario
  venv is a plain ``python -m venv --without-pip`` (0.1 s), gets the built ``client-*``
  wheels with ``pip --python <venv> install --no-deps --no-index``, and reaches the shared
  directory through a ``.pth`` file. Offline, the same dependency versions as the dev
  environment, and nothing but third-party code in the shared directory.

The dev environment is created by ``scripts/install.sh`` from the same requirements, so
every dependency the wheels declare is installed there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ROOT / "packages"

# Every distribution in packages/ (a folder with a pyproject.toml) is built and checked;
# client-core and client-mock must exist.
DISTS: tuple[str, ...] = tuple(
    sorted(p.name for p in PACKAGES.iterdir() if (p / "pyproject.toml").is_file())
)
REQUIRED_DISTS = ("client-core", "client-mock")

# The engine distributions of the public contract (docs/API.md): entry-point name and target.
ENGINE_ENTRY_POINTS: Mapping[str, tuple[str, str]] = {
    "client-cio": ("cio", "client_cio:CIO"),
    "client-curl": ("curl", "client_curl:Curl"),
    "client-mock": ("mock", "client_mock:MockEngine"),
}
ENGINE_DISTS: tuple[str, ...] = tuple(d for d in DISTS if d in ENGINE_ENTRY_POINTS)

ENGINE_GROUP = "client_core.engines"
BUILD_TIMEOUT = 120
RUN_TIMEOUT = 60


def import_name(dist: str) -> str:
    """``client-cio`` -> ``client_cio`` (house rule 2)."""
    return dist.replace("-", "_")


def source_version(dist: str) -> str:
    """The version in ``src/<pkg>/_version.py``, which hatch reads."""
    namespace: dict[str, Any] = {}
    path = PACKAGES / dist / "src" / import_name(dist) / "_version.py"
    exec(compile(path.read_text(), str(path), "exec"), namespace)
    return str(namespace["__version__"])


def pyproject(dist: str) -> dict[str, Any]:
    with (PACKAGES / dist / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


def _run(
    args: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    timeout: float = BUILD_TIMEOUT,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {proc.returncode}):\n--- stdout\n{proc.stdout[-4000:]}"
            f"\n--- stderr\n{proc.stderr[-4000:]}",
            pytrace=False,
        )
    return proc


def build_wheel(project: Path, outdir: Path) -> Path:
    """Build one wheel with ``python -m build --no-isolation`` (hatchling is in the venv)."""
    before = set(outdir.glob("*.whl"))
    _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", outdir, project],
        what=f"building the wheel of {project.name}",
    )
    built = sorted(set(outdir.glob("*.whl")) - before)
    assert len(built) == 1, f"expected one new wheel from {project}, got {built}"
    return built[0]


class Wheels:
    """The session's wheels: each distribution in packages/ built once, on first use."""

    def __init__(self, outdir: Path) -> None:
        self.outdir = outdir
        self._built: dict[str, Path] = {}

    def __getitem__(self, dist: str) -> Path:
        if dist not in self._built:
            assert dist in DISTS, f"{dist} is not in packages/ (found: {', '.join(DISTS)})"
            self._built[dist] = build_wheel(PACKAGES / dist, self.outdir)
        return self._built[dist]


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Wheels:
    return Wheels(tmp_path_factory.mktemp("wheels"))


def _dependency_closure(roots: list[Requirement]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need, transitively (extras left out)."""
    env = {"extra": ""}
    found: dict[str, metadata.Distribution] = {}
    todo = [r for r in roots if r.marker is None or r.marker.evaluate(env)]
    while todo:
        req = todo.pop()
        key = canonicalize_name(req.name)
        if key in found or key.startswith("client-"):
            continue
        dist = metadata.distribution(req.name)
        assert req.specifier.contains(dist.version, prereleases=True), (
            f"{dist.metadata['Name']} {dist.version} in the dev environment does not satisfy "
            f"{req}; run scripts/install.sh"
        )
        found[key] = dist
        for text in dist.requires or []:
            sub = Requirement(text)
            if sub.marker is None or sub.marker.evaluate(env):
                todo.append(sub)
    return [found[k] for k in sorted(found)]


@pytest.fixture(scope="session")
def deps_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The third-party dependencies of every distribution, copied from this environment.

    Read from each ``pyproject.toml`` (what becomes the wheels' ``Requires-Dist``, as
    ``test_wheel_contents`` checks), so one distribution that fails to build does not
    break the scenarios of the others.
    """
    roots = [
        Requirement(text) for dist in DISTS for text in pyproject(dist)["project"]["dependencies"]
    ]
    target = tmp_path_factory.mktemp("deps")
    for dist in _dependency_closure(roots):
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # console scripts live outside site-packages; caches are rebuilt
            src = Path(str(dist.locate_file(file)))
            if src.is_file():
                dest = target / file
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
    return target


PROBE = textwrap.dedent(
    """
    import dataclasses, json, os, sys
    import client_core
    from client_core import ENGINE_API_VERSION, HttpClient, engines

    args = sys.argv[1:]
    result = {
        "core_file": client_core.__file__,
        "api_version": ENGINE_API_VERSION,
        "engines": [dataclasses.asdict(info) for info in engines()],
    }
    try:
        client = HttpClient(*args)
    except Exception as exc:
        result["error"] = {
            "type": type(exc).__name__,
            "mro": [c.__name__ for c in type(exc).__mro__],
            "message": str(exc),
        }
    else:
        engine = type(client.engine)
        result["engine"] = {"name": engine.__name__, "module": engine.__module__}
        client.close()
    print(json.dumps(result))
    """
)


@dataclass
class ScenarioVenv:
    """A fresh virtualenv holding only the given wheels (plus the shared dependencies)."""

    path: Path
    installed: tuple[str, ...]

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def run(
        self, code: str, *args: str, env: Mapping[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``code`` isolated (``-I``: no user site, no cwd, no PYTHON* variables)."""
        clean = {k: v for k, v in os.environ.items() if k != "CLIENT_ENGINE"}
        clean.update(env or {})
        return subprocess.run(
            [str(self.python), "-I", "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT,
            env=clean,
            check=False,
        )

    def probe(self, *args: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Discovery as ``HttpClient(*args)`` sees it in this venv, as JSON."""
        proc = self.run(PROBE, *args, env=env)
        assert proc.returncode == 0, f"probe failed:\n{proc.stdout}\n{proc.stderr}"
        result: dict[str, Any] = json.loads(proc.stdout)
        # The core must come from this venv, never from the repository or the dev venv.
        assert Path(result["core_file"]).is_relative_to(self.path), result["core_file"]
        return result


@pytest.fixture(scope="session")
def make_venv(tmp_path_factory: pytest.TempPathFactory, deps_dir: Path) -> Any:
    made: dict[tuple[str, ...], ScenarioVenv] = {}

    def make(*wheel_files: Path) -> ScenarioVenv:
        key = tuple(sorted(w.name for w in wheel_files))
        if key in made:
            return made[key]
        path = tmp_path_factory.mktemp("venv")
        _run([sys.executable, "-m", "venv", "--without-pip", path], what="python -m venv")
        python = path / "bin" / "python"
        purelib = _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            what="locating site-packages",
        ).stdout.strip()
        Path(purelib, "_client_test_deps.pth").write_text(f"{deps_dir}\n")
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                python,
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-deps",
                "--no-index",
                *wheel_files,
            ],
            what=f"installing {', '.join(key)}",
        )
        venv = made[key] = ScenarioVenv(path, key)
        return venv

    return make


def write_engine_project(root: Path, name: str, api_version: str) -> Path:
    """A throwaway engine distribution ``client-test-engine-<name>``, entry point ``name``."""
    package = f"test_engine_{name}"
    project = root / f"engine-{name}"
    (project / package).mkdir(parents=True)
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [build-system]
            requires = ["hatchling"]
            build-backend = "hatchling.build"

            [project]
            name = "client-test-engine-{name}"
            version = "0.0.1"
            requires-python = ">=3.11"
            dependencies = ["client-core>=0.1,<1"]

            [project.entry-points."{ENGINE_GROUP}"]
            {name} = "{package}:{name.capitalize()}Engine"

            [tool.hatch.build.targets.wheel]
            packages = ["{package}"]
            """
        )
    )
    (project / package / "__init__.py").write_text(
        textwrap.dedent(
            f'''
            """A throwaway engine implementing engine API {api_version}."""

            from client_core.engine import HttpClientEngine, HttpRequestData, HttpResponseData


            class {name.capitalize()}Engine(HttpClientEngine):
                name = "{name}"
                engine_api_version = "{api_version}"

                async def execute(self, request: HttpRequestData) -> HttpResponseData:
                    raise NotImplementedError
            '''
        )
    )
    return project


@pytest.fixture(scope="session")
def engine_wheel(tmp_path_factory: pytest.TempPathFactory, wheels: Wheels) -> Any:
    """Build a throwaway engine wheel: ``engine_wheel("aaa", "99.0")``."""
    root = tmp_path_factory.mktemp("engines")
    built: dict[tuple[str, str], Path] = {}

    def make(name: str, api_version: str) -> Path:
        if (name, api_version) not in built:
            project = write_engine_project(root, name, api_version)
            built[name, api_version] = build_wheel(project, wheels.outdir)
        return built[name, api_version]

    return make
