#!/usr/bin/env bash
# Create .venv (if needed) and install every distribution editable plus the dev tools.
# Re-running is cheap: it reinstalls only when a pyproject or the requirements changed.
source "$(dirname "$0")/_common.sh"

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "Python 3.11 or newer is required as '$PYTHON' (set PYTHON=...)" >&2
    exit 1
fi
if [ ! -x "$PY" ]; then
    echo "==> creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi

packages=()
for dir in packages/*/; do
    [ -f "$dir/pyproject.toml" ] && packages+=("-e" "$dir")
done

stamp="$VENV/.client-install-stamp"
# The C driver of client-curl is compiled by its build hook: a change to either reinstalls.
digest="$(cat scripts/requirements-dev.txt packages/*/pyproject.toml packages/*/hatch_build.py \
    packages/*/src/*/*.c 2>/dev/null | sha256sum | cut -d' ' -f1)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
    exit 0
fi
echo "==> installing packages and dev tools into $VENV"
"$PY" -m pip install --quiet --disable-pip-version-check --upgrade pip
# The tests run both curl drivers: a dev install without the C one fails here, loudly.
CLIENT_CURL_REQUIRE_CDRIVER=1 "$PY" -m pip install --quiet --disable-pip-version-check \
    -r scripts/requirements-dev.txt "${packages[@]}"
echo "$digest" > "$stamp"
