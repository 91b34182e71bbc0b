#!/usr/bin/env bash
# Benchmark CIO and curl against httpx and aiohttp on a local nginx (benchmarks/RESULTS.md).
# Installs nginx (and wrk, to show the server's headroom) from Debian when missing, then
# runs benchmarks/curl_bench.py (the harness plus the curl clients) with the workspace venv; the harness starts nginx itself on
# a free loopback port with its own configuration and stops it afterwards.
#
# Usage: scripts/bench.sh [harness options]   e.g. scripts/bench.sh --quick
#        (default: every client, --repeat 5 --seconds 1.0 --output benchmarks/RESULTS.md)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-.venv/bin/python}"

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v wrk >/dev/null 2>&1 || need+=(wrk)
if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "installing ${need[*]} from Debian..." >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null \
        || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx wrk >/dev/null
fi

"$PYTHON" -c "import client_cio, client_curl, httpx, aiohttp" 2>/dev/null || {
    echo "the venv lacks client-cio, client-curl, httpx or aiohttp: run scripts/install.sh" >&2
    exit 1
}

if [ "$#" -eq 0 ]; then
    set -- --clients cio,cio-engine,curl,curl-engine,curl-floor,httpx,aiohttp \
        --repeat 5 --seconds 1.0 --output benchmarks/RESULTS.md
fi
exec "$PYTHON" benchmarks/curl_bench.py "$@"
