#!/usr/bin/env bash
# Build the documentation site with --strict (warnings fail the build) into site/.
source "$(dirname "$0")/_common.sh"
echo "==> mkdocs build --strict"
NO_MKDOCS_2_WARNING=1 "$VENV/bin/mkdocs" build --strict --quiet --site-dir "${SITE_DIR:-site}"
