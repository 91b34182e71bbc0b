#!/usr/bin/env bash
# Build a wheel and an sdist of every distribution with hatch into dist/.
source "$(dirname "$0")/_common.sh"
scripts/install.sh
out="${DIST_DIR:-$ROOT/dist}"
mkdir -p "$out"
for dir in packages/*/; do
    [ -f "$dir/pyproject.toml" ] || continue
    echo "==> building $dir"
    (cd "$dir" && "$VENV/bin/hatch" build -t wheel -t sdist "$out" >/dev/null)
done
ls -1 "$out"
