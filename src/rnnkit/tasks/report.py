"""A run's report: what a run was, what it reached and how long it took, in a run directory.

One source, several renderers: :func:`report_content` gathers the report's information
once (saved as ``report.json``); :func:`render_markdown` writes ``report.md`` from it, and
``rnnkit.viz.report_html`` writes ``report.html`` from the same ``report.json``.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.config import dumps_config
from rnnkit.errors import CheckpointError
from rnnkit.train import FitResult, RunDir
from rnnkit.train.rundir import atomic_write_text

REPORT_JSON = "report.json"
REPORT_FORMAT = 1


def format_value(value: Any) -> str:
    """A metric or data figure as the reports print it (floats to 4 decimals)."""
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def reproduce_command(run_dir: str | Path, in_memory: bool = False) -> str:
    """The command that trains the run again from its fully resolved ``config.toml``."""
    path = Path(run_dir)
    command = f"rnnkit train {path / 'config.toml'} --out {path.name}-again"
    if in_memory:
        command += "  # the data was given in memory (rnnkit.fit): save it to files and pass --data/--val/--test"
    return command


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    return str(value)


def report_content(run: RunDir, cfg: Any, task: Any, model: nn.Module, info: dict[str, Any], fit: FitResult,
                   val_metrics: dict[str, float], test_metrics: dict[str, float], wall_time_s: float,
                   plots: list[str] = ()) -> dict[str, Any]:
    """Everything a run's report shows, as JSON-ready values."""
    content = {
        "format": REPORT_FORMAT,
        "task": cfg.task,
        "description": task.description,
        "stop_reason": fit.stop_reason,
        "epochs": fit.epochs_completed,
        "steps": fit.global_step,
        "wall_time_s": wall_time_s,
        "machine": platform.machine(),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "data": dict(info),
        "val": dict(val_metrics),
        "test": dict(test_metrics),
        "history": [dict(row) for row in fit.history],
        "plots": list(plots),
        "model": model.summary(print_fn=None) if hasattr(model, "summary") else repr(model),
        "config": dumps_config(cfg),
        "command": reproduce_command(run.path, in_memory=info.get("data") == "in memory"),
    }
    return json.loads(json.dumps(content, default=_jsonable))  # what report.json reads back


def load_report_content(run_dir: str | Path) -> dict[str, Any]:
    """The ``report.json`` of a run directory (written at the end of training)."""
    path = Path(run_dir) / REPORT_JSON
    if not Path(run_dir).is_dir():
        raise CheckpointError(f"{run_dir} is not a run directory (no such folder)")
    if not path.is_file():
        raise CheckpointError(f"{path} is missing: the run has not finished (continue it with `rnnkit resume "
                              f"{run_dir}`) or it was trained by an rnnkit older than report.json")
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{path} cannot be read: {exc}") from None
    if not isinstance(content, dict) or content.get("format") != REPORT_FORMAT:
        raise CheckpointError(f"{path}: expected a report of format {REPORT_FORMAT}, "
                              f"got format {content.get('format') if isinstance(content, dict) else content!r}")
    return content


def _table(rows: dict[str, Any]) -> str:
    if not rows:
        return "(none)\n"
    lines = ["| metric | value |", "|---|---|"] + [f"| {k} | {format_value(v)} |" for k, v in rows.items()]
    return "\n".join(lines) + "\n"


def _plots(files: list[str]) -> str:
    return "".join(f"![{Path(f).stem}]({f})\n\n" if f.endswith(".png") else f"- [{Path(f).name}]({f})\n"
                   for f in files)


def render_markdown(content: dict[str, Any]) -> str:
    """``report.md`` from :func:`report_content`."""
    c = content
    history = ""
    if c["history"]:
        keys = list(c["history"][0])
        history = "| " + " | ".join(keys) + " |\n|" + "---|" * len(keys) + "\n"
        history += "\n".join("| " + " | ".join(format_value(row.get(k, "")) for k in keys) + " |"
                             for row in c["history"]) + "\n"
    return (
        f"# rnnkit run: {c['task']}\n\n"
        f"- task: {c['description']}\n"
        f"- stopped: {c['stop_reason']} after {c['epochs']} epochs, {c['steps']} optimizer steps\n"
        f"- wall time: {c['wall_time_s']:.1f} s on {c['machine']} with {c['threads']} torch threads "
        f"(torch {c['torch']})\n\n"
        "## Data\n\n" + _table(c["data"]) + "\n"
        "## Validation\n\n" + _table(c["val"]) + "\n"
        "## Test\n\n" + _table(c["test"]) + "\n"
        "## Epochs\n\n" + (history or "(none)\n") + "\n"
        "## Plots\n\n" + (_plots(c["plots"]) or "(none)\n") + "\n"
        "## Model\n\n```\n" + c["model"] + "\n```\n\n"
        "## Config\n\n```toml\n" + c["config"] + "```\n\n"
        "## Reproduce\n\n```\n" + c["command"] + "\n```\n"
    )


def write_report_files(run_dir: str | Path, content: dict[str, Any]) -> None:
    """``report.json`` and ``report.md`` of ``content`` in ``run_dir``."""
    path = Path(run_dir)
    atomic_write_text(path / REPORT_JSON, json.dumps(content, indent=1) + "\n")
    atomic_write_text(path / "report.md", render_markdown(content))


def write_report(run: RunDir, cfg: Any, task: Any, model: nn.Module, info: dict[str, Any], fit: FitResult,
                 val_metrics: dict[str, float], test_metrics: dict[str, float], wall_time_s: float,
                 plots: list[str] = ()) -> None:
    write_report_files(run.path, report_content(run, cfg, task, model, info, fit, val_metrics, test_metrics,
                                                wall_time_s, plots))
