#!/usr/bin/env bash
# The whole check CI runs: install, lint, type-check, docs build, tests.
source "$(dirname "$0")/_common.sh"
scripts/install.sh
scripts/lint.sh
SITE_DIR="$(mktemp -d)" scripts/docs.sh
echo "==> pytest"
"$VENV/bin/pytest" "$@"
