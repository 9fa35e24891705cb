#!/usr/bin/env bash
# The README's main-job command: set up .venv if needed, then run the main job.
source "$(dirname "$0")/_venv.sh"
cd "$ROOT"
exec python -m rnnkit.cli.main main "$@"
