"""Engine discovery through the ``client_core.engines`` entry-point group."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from client_core.engine._base import ENGINE_API_VERSION, HttpClientEngineFactory
from client_core.errors import EngineIncompatibleError, EngineNotFoundError

__all__ = ["ENGINE_GROUP", "EngineInfo", "engines", "find_engine_factory"]

ENGINE_GROUP = "client_core.engines"
_ENV_VAR = "CLIENT_ENGINE"
_INSTALL_HINT = (
    "install one: `pip install client-cio` (pure Python, HTTP/1.1), "
    "`pip install client-curl` (libcurl, HTTP/2) or `pip install client-mock` (tests)"
)


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """One installed engine, as :func:`engines` reports it.

    Attributes:
        name: The entry-point name (what ``HttpClient("name")`` and ``CLIENT_ENGINE`` take).
        distribution: The distribution providing it, e.g. ``client-cio``.
        version: That distribution's version.
        compatible: Whether it loads and implements a compatible engine API.
        reason: Why it is not compatible, or ``None``.
        api_version: The engine-API version it implements, when it loaded.
    """

    name: str
    distribution: str
    version: str
    compatible: bool
    reason: str | None
    api_version: str | None = None


@functools.cache
def _entry_points() -> tuple[EntryPoint, ...]:
    found = {ep.name: ep for ep in entry_points(group=ENGINE_GROUP)}
    return tuple(found[name] for name in sorted(found))


def _parse_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def _incompatibility(api_version: str) -> str | None:
    try:
        major, minor = _parse_version(api_version)
    except ValueError:
        return f"engine API version {api_version!r} is not MAJOR.MINOR"
    core_major, core_minor = _parse_version(ENGINE_API_VERSION)
    if major != core_major or minor > core_minor:
        return (
            f"implements engine API {api_version}, but this client-core provides "
            f"engine API {ENGINE_API_VERSION}"
        )
    return None


def _load(ep: EntryPoint) -> tuple[HttpClientEngineFactory | None, EngineInfo]:
    dist = ep.dist
    dist_name = dist.metadata["Name"] if dist is not None else "?"
    dist_version = dist.version if dist is not None else "?"
    try:
        factory: Any = ep.load()
    except Exception as exc:
        reason = f"failed to load {ep.value}: {type(exc).__name__}: {exc}"
        return None, EngineInfo(ep.name, dist_name, dist_version, False, reason)
    api_version = getattr(factory, "engine_api_version", None)
    if not isinstance(api_version, str) or not callable(getattr(factory, "create", None)):
        reason = f"{ep.value} is not an engine factory (no engine_api_version and create())"
        return None, EngineInfo(ep.name, dist_name, dist_version, False, reason)
    problem = _incompatibility(api_version)
    info = EngineInfo(ep.name, dist_name, dist_version, problem is None, problem, api_version)
    return factory, info


def engines() -> list[EngineInfo]:
    """List the installed engines in discovery order, loading each to check it.

    Returns:
        One record per entry point of the ``client_core.engines`` group.
    """
    return [_load(ep)[1] for ep in _entry_points()]


def find_engine_factory(name: str | None = None) -> HttpClientEngineFactory:
    """Find an engine factory by name, or discover one.

    With no name, ``CLIENT_ENGINE`` names it when set; otherwise the first engine in
    entry-point-name order that loads and is compatible wins.

    Args:
        name: An entry-point name such as ``"cio"``.

    Returns:
        The engine factory.

    Raises:
        EngineNotFoundError: No engine is installed, or none by that name.
        EngineIncompatibleError: The chosen engine (or every installed one) was built for
            an incompatible engine API.
    """
    eps = _entry_points()
    wanted = name or os.environ.get(_ENV_VAR) or None
    if wanted is not None:
        source = "" if name else f" (from {_ENV_VAR})"
        for ep in eps:
            if ep.name == wanted:
                factory, info = _load(ep)
                if factory is None or not info.compatible:
                    raise EngineIncompatibleError(
                        f"engine {wanted!r}{source} from {info.distribution} {info.version} "
                        f"cannot be used: {info.reason}"
                    )
                return factory
        installed = ", ".join(ep.name for ep in eps) or "none"
        raise EngineNotFoundError(
            f"no engine named {wanted!r}{source} is installed (installed: {installed}); "
            + _INSTALL_HINT
        )
    if not eps:
        raise EngineNotFoundError("no HTTP client engine is installed; " + _INSTALL_HINT)
    problems: list[str] = []
    for ep in eps:
        factory, info = _load(ep)
        if factory is not None and info.compatible:
            return factory
        problems.append(f"{info.name} ({info.distribution} {info.version}): {info.reason}")
    raise EngineIncompatibleError(
        "no installed engine is compatible with this client-core: " + "; ".join(problems)
    )
