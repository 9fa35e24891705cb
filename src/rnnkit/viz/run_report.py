"""``rnnkit report RUN_DIR`` / ``Run.report()``: rebuild a finished run's plots,
``report.md`` and ``report.html`` from its directory.

The figures and the epochs come from the run's ``report.json`` (what training measured;
nothing is re-scored); the plots are drawn again from the saved model and the split the
run was scored on when its data can still be read, otherwise the plots already there are
kept (and the run says why).
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from rnnkit.errors import RnnkitError
from rnnkit.tasks import pipeline, runner
from rnnkit.tasks.report import load_report_content, write_report_files
from rnnkit.train.rundir import RunDirLock
from rnnkit.viz.report_html import write_html_report
from rnnkit.viz.run_plots import write_run_plots

log = logging.getLogger("rnnkit.viz")

__all__ = ["rebuild_report"]


def _scored_split(task: Any) -> dict[str, Any]:
    """The test split (else validation) the run's plots are drawn from; {} when it cannot be read."""
    for split in ("test", "val"):
        try:
            return {split: pipeline.read_split_only(task, split)}
        except (RnnkitError, OSError) as exc:
            reason = exc
    log.warning("per-task plots kept as they were: the run's data cannot be read again (%s)", reason)
    return {}


def rebuild_report(run_dir: str | Path, plots: bool = True) -> list[Path]:
    """Rewrite ``report.md`` and ``report.html`` (and, with ``plots``, ``plots/``) of a
    finished run; returns the report files written."""
    path = Path(run_dir)
    load_report_content(path)  # a missing or unfinished run is named before anything is locked or loaded
    with RunDirLock(path):
        content = load_report_content(path)
        if plots:
            task, model = runner.load_run(path)
            examples = _scored_split(task) if task.name not in ("lm", "generate") else {}
            result = SimpleNamespace(run_dir=path, task=task, model=model,
                                     fit=SimpleNamespace(history=content["history"]),
                                     data=SimpleNamespace(examples=examples))
            drawn = write_run_plots(result)
            kept = [f for f in content["plots"] if f not in drawn and (path / f).is_file()]
            content["plots"] = drawn + kept
        write_report_files(path, content)
        return [path / "report.md", write_html_report(path)]
