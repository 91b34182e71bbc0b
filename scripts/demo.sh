#!/usr/bin/env bash
# Set up, then run the demo: requests to an embedded local server through the engine
# HttpClient() discovers.
source "$(dirname "$0")/_common.sh"
scripts/install.sh
"$PY" scripts/demo.py
