#!/usr/bin/env bash
# Remove build outputs and caches (keeps .venv).
source "$(dirname "$0")/_common.sh"
rm -rf dist site .mypy_cache .ruff_cache .pytest_cache
find . -name __pycache__ -type d -not -path './.venv/*' -prune -exec rm -rf {} +
