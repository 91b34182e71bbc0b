#!/usr/bin/env bash
# ruff (lint + format check) and mypy --strict on every distribution.
source "$(dirname "$0")/_common.sh"
echo "==> ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
echo "==> mypy --strict"
srcs=()
for dir in packages/*/src; do srcs+=("$dir"); done
"$VENV/bin/mypy" --strict "${srcs[@]}"
