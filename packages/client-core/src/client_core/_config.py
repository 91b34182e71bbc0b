"""Client configuration (Ktor's ``HttpClientConfig``)."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

from client_core.engine import HttpClientEngineConfig, apply_config
from client_core.plugins._api import ClientPlugin

__all__ = ["HttpClientConfig"]

TConfig = TypeVar("TConfig")


class _Installation:
    __slots__ = ("blocks", "plugin")

    def __init__(self, plugin: ClientPlugin[Any]) -> None:
        self.plugin = plugin
        self.blocks: list[tuple[Callable[[Any], Any] | None, dict[str, Any]]] = []


class HttpClientConfig:
    """What a configure block receives: engine options, plugins and defaults.

    Attributes:
        expect_success: Raise :class:`~client_core.errors.ResponseException` subclasses for
            non-2xx responses (Ktor's ``expectSuccess``). Default ``False``.
        follow_redirects: Install ``HttpRedirect`` (default ``True``).
        use_default_transformers: Install ``HttpPlainText`` (default ``True``).
        max_send_count: The most requests one call may send, all redirects, retries and
            re-authentications together: a safety net behind each plugin's own limit
            (``max_redirects``, ``max_retries``). Default 50.
        body_limit: Fail a non-streaming call whose body exceeds this many bytes
            (``None``: no limit).
    """

    def __init__(self) -> None:
        self.expect_success: bool = False
        self.follow_redirects: bool = True
        self.use_default_transformers: bool = True
        self.max_send_count: int = 50
        self.body_limit: int | None = None
        self._engine_blocks: list[tuple[Callable[[Any], Any] | None, dict[str, Any]]] = []
        self._plugins: dict[str, _Installation] = {}

    def engine(self, block: Callable[[Any], Any] | None = None, /, **options: Any) -> None:
        """Configure the engine (Ktor's ``engine { }``); blocks accumulate in order.

        Args:
            block: A function receiving the engine's configuration object.
            **options: Attributes to set on it, e.g. ``thread_count=2``.
        """
        self._engine_blocks.append((block, options))

    def install(
        self,
        plugin: ClientPlugin[TConfig],
        block: Callable[[TConfig], Any] | None = None,
        /,
        **options: Any,
    ) -> None:
        """Install ``plugin``; installing it again adds to its configuration.

        Args:
            plugin: The plugin.
            block: A function receiving the plugin's configuration.
            **options: Attributes to set on the plugin's configuration.

        Raises:
            TypeError: ``plugin`` is not a plugin.
        """
        if not isinstance(plugin, ClientPlugin):
            raise TypeError(f"install() takes a plugin, got {plugin!r}")
        inst = self._plugins.get(plugin.name)
        if inst is None:
            inst = self._plugins[plugin.name] = _Installation(plugin)
        inst.blocks.append((block, options))

    def default_request(self, block: Callable[[Any], Any] | None = None, /, **options: Any) -> None:
        """Set defaults merged into every request (installs ``DefaultRequest``).

        Args:
            block: A function receiving the ``DefaultRequest`` configuration.
            **options: ``url=``, ``headers=``, ``params=`` ...
        """
        from client_core.plugins._default_request import DefaultRequest

        self.install(DefaultRequest, block, **options)

    def is_installed(self, plugin: ClientPlugin[Any]) -> bool:
        """Whether ``plugin`` was installed on this configuration.

        Args:
            plugin: The plugin.

        Returns:
            True when installed.
        """
        return plugin.name in self._plugins

    # -- used by HttpClient ----------------------------------------------------------------

    def _apply_engine(self, config: HttpClientEngineConfig) -> None:
        for block, options in self._engine_blocks:
            apply_config(config, block, options)

    def _plugin_configs(self) -> list[tuple[ClientPlugin[Any], Any]]:
        out: list[tuple[ClientPlugin[Any], Any]] = []
        for inst in self._plugins.values():
            config = inst.plugin.create_config()
            for block, options in inst.blocks:
                _set_options(inst.plugin.name, config, options)
                if block is not None:
                    block(config)
            out.append((inst.plugin, config))
        return out


def _set_options(plugin_name: str, config: Any, options: dict[str, Any]) -> None:
    for name, value in options.items():
        if name.startswith("_") or not hasattr(config, name):
            valid = (
                ", ".join(f.name for f in dataclasses.fields(config) if not f.name.startswith("_"))
                if dataclasses.is_dataclass(config)
                else ", ".join(n for n in vars(config) if not n.startswith("_"))
            )
            raise TypeError(f"{plugin_name} has no option {name!r}; valid options: {valid}")
        attr = getattr(config, name)
        if inspect.ismethod(attr):
            # A configuration method (``retry_on_server_errors=3``): call it with the value.
            if isinstance(value, dict):
                attr(**value)
            elif isinstance(value, tuple):
                attr(*value)
            else:
                attr(value)
        else:
            setattr(config, name, value)
