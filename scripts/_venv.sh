# Sourced by the set-up entry points: creates .venv when missing and (re)installs
# rnnkit with its dev dependencies whenever pyproject.toml or the lock changes.
# The lock pins torch==2.13.0 (a CPU build), so set-up never pulls CUDA wheels.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"
LOCK="$ROOT/requirements/dev-lock.txt"
STAMP="$VENV/.rnnkit-venv-stamp"
want="$(cat "$ROOT/pyproject.toml" "$LOCK" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$VENV/bin/python" ]; then
    echo "rnnkit: creating $VENV" >&2
    "$PY" -m venv "$VENV"
fi
if [ "$(cat "$STAMP" 2>/dev/null)" != "$want" ]; then
    echo "rnnkit: installing dependencies (pinned by requirements/dev-lock.txt)" >&2
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -c "$LOCK" -e "$ROOT[dev]"
    echo "$want" > "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
