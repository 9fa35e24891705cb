"""``report.md``: what a run was, what it reached and how long it took, in a run directory."""

from __future__ import annotations

import platform
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.config import dumps_config
from rnnkit.train import FitResult, RunDir
from rnnkit.train.rundir import atomic_write_text


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _table(rows: dict[str, Any]) -> str:
    if not rows:
        return "(none)\n"
    lines = ["| metric | value |", "|---|---|"] + [f"| {k} | {_fmt(v)} |" for k, v in rows.items()]
    return "\n".join(lines) + "\n"


def _plots(files: list[str]) -> str:
    return "".join(f"![{Path(f).stem}]({f})\n\n" if f.endswith(".png") else f"- [{Path(f).name}]({f})\n"
                   for f in files)


def write_report(run: RunDir, cfg: Any, task: Any, model: nn.Module, info: dict[str, Any], fit: FitResult,
                 val_metrics: dict[str, float], test_metrics: dict[str, float], wall_time_s: float,
                 plots: list[str] = ()) -> None:
    summary = model.summary(print_fn=None) if hasattr(model, "summary") else repr(model)
    history = ""
    if fit.history:
        keys = list(fit.history[0])
        history = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n"
        history += "\n".join("| " + " | ".join(_fmt(row.get(k, "")) for k in keys) + " |" for row in fit.history) + "\n"
    text = (
        f"# rnnkit run: {cfg.task}\n\n"
        f"- task: {task.description}\n"
        f"- stopped: {fit.stop_reason} after {fit.epochs_completed} epochs, {fit.global_step} optimizer steps\n"
        f"- wall time: {wall_time_s:.1f} s on {platform.machine()} with {torch.get_num_threads()} torch threads "
        f"(torch {torch.__version__})\n\n"
        "## Data\n\n" + _table(info) + "\n"
        "## Validation\n\n" + _table(val_metrics) + "\n"
        "## Test\n\n" + _table(test_metrics) + "\n"
        "## Epochs\n\n" + (history or "(none)\n") + "\n"
        "## Plots\n\n" + (_plots(plots) or "(none)\n") + "\n"
        "## Model\n\n```\n" + summary + "\n```\n\n"
        "## Config\n\n```toml\n" + dumps_config(cfg) + "```\n"
    )
    atomic_write_text(run.path / "report.md", text)


