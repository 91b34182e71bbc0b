"""Mock engine tests; ``pytester`` proves the ``mock_engine`` fixture's failures."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # ``pytest_plugins = ["pytester"]`` is refused in a conftest below the rootdir when the
    # whole suite runs, so the plugin is loaded here instead.
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")
