"""Helpers shared by the recipe experiments of issue 6's text rows: one torch thread,
a run directory outside the repository (weights are never committed), curves."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Sequence

import torch

from experiments.common import run_recipe

RUNS = Path(os.environ.get("RNNKIT_RUNS", Path(tempfile.gettempdir()) / "rnnkit-runs"))


def train(recipe: str, overrides: Sequence[str] = (), name: str | None = None, **paths: str | None):
    """Train ``recipe`` on one torch thread (the 2-core machine is shared) into RUNS/name (default: the recipe's)."""
    torch.set_num_threads(1)
    out = RUNS / (name or recipe)
    shutil.rmtree(out, ignore_errors=True)  # a fresh run: no metrics.csv rows of an earlier one
    return run_recipe(recipe, out, list(overrides), **paths)


def curves(res: Any, out_dir: Path, metrics: Sequence[str], title: str) -> str:
    """Training curves PNG in ``out_dir``; the path relative to results/ for the record."""
    from rnnkit.viz.curves import plot_training_curves

    path = plot_training_curves(res.fit.history, out_dir / "curves.png", metrics=metrics, title=title)
    return f"{out_dir.name}/{path.name}"


def command(recipe: str) -> str:
    return f"python benchmarks/results.py run {recipe}"
