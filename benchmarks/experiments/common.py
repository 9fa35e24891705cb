"""What every experiment shares: running a recipe through rnnkit's own runner, the
machine description, the result record and the RESULTS.md renderer."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any, Sequence

import torch


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} CPU cores ({cpu}), torch {torch.__version__}, {torch.get_num_threads()} threads"


def result(recipe: str, title: str, *, demo: str, to_beat: str, target: str, rows: list[dict[str, Any]],
           command: str, wall_time_s: float, met: bool | None, plots: Sequence[str] = (), samples: str = "",
           notes: str = "") -> dict[str, Any]:
    """One experiment's record. ``rows``: [{"metric": ..., "value": ..., "split": ...}, ...]."""
    return {"recipe": recipe, "title": title, "demo": demo, "figure_to_beat": to_beat, "target": target,
            "met": met, "rows": rows, "command": command, "wall_time_s": round(wall_time_s, 1),
            "machine": machine(), "plots": list(plots), "samples": samples, "notes": notes,
            "date": time.strftime("%Y-%m-%d")}


def run_recipe(recipe: str, out: Path, overrides: Sequence[str] = (), **paths: str | None):
    """Train built-in ``recipe`` into ``out`` with rnnkit's runner; returns the RunResult."""
    from rnnkit.tasks import runner

    cfg = runner.load_run_config(recipe, list(overrides), **paths)
    return runner.train(cfg, out, quiet=True)


def render_results(results_dir: Path, root: Path) -> str:
    records = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    lines = ["# Results", "",
             "Filled by `python benchmarks/results.py run ...` from `results/*.json`; no figure here is typed by hand.",
             "Each row's command reproduces it. Trained from scratch, no pretrained embeddings.", "",
             "| recipe | demo / task | figure to beat | target | achieved | met | wall time |",
             "|---|---|---|---|---|---|---|"]
    for r in records:
        achieved = "; ".join(f"{row.get('split', '')} {row['metric']} {_fmt(row['value'])}".strip() for row in r["rows"])
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        lines.append(f"| `{r['recipe']}` | {r['demo']} | {r['figure_to_beat']} | {r['target']} | {achieved} | {met} "
                     f"| {r['wall_time_s']:.0f} s |")
    for r in records:
        lines += ["", f"## {r['recipe']}: {r['title']}", "", f"- command: `{r['command']}`", f"- machine: {r['machine']}",
                  f"- date: {r['date']}"]
        if r["notes"]:
            lines += ["", r["notes"]]
        for plot in r["plots"]:
            rel = os.path.relpath(results_dir / plot, root)
            lines += ["", f"![{Path(plot).stem}]({rel})"]
        if r["samples"]:
            lines += ["", "```", r["samples"].rstrip(), "```"]
    for section in sorted(results_dir.glob("*.md")):  # whole sections written by other scripts (benchmarks/defaults.py)
        lines += ["", section.read_text().rstrip()]
    return "\n".join(lines) + "\n"


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
