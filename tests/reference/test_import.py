"""rnnkit.reference is NumPy only: importing it never pulls in torch; its docstring example runs."""

from __future__ import annotations

import doctest
import importlib
import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def test_import_does_not_load_torch() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    code = "import rnnkit.reference, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_package_docstring_example_runs() -> None:
    module = importlib.import_module("rnnkit.reference")
    failures, tried = doctest.testmod(module, verbose=False)
    assert tried > 0 and failures == 0
