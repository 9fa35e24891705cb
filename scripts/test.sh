#!/usr/bin/env bash
# The README's test command: set up .venv if needed, then run the whole suite.
# Extra arguments go to pytest (e.g. scripts/test.sh -k parity -x).
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
exec python -m pytest -q "$@"
