"""``RUN_DIR/metrics.csv``: one row per epoch (``partial = 0``) and, every 30 s of training,
a partial row of the epoch so far (``partial = 1``, from :class:`Progress`; rank 0)."""

from __future__ import annotations

import csv
import io
import math
from typing import Any

from rnnkit.train.callbacks.base import Callback

__all__ = ["MetricsCSV"]


class MetricsCSV(Callback):
    """Appends every epoch's row and every partial row :class:`Progress` hands it. On a resume
    the file is rewritten from the checkpoint's history (the epoch rows), keeping the partial
    rows written up to the checkpoint's step, so a row written after the last checkpoint (then
    lost to a kill) is not doubled."""

    order = 80

    def on_fit_start(self, trainer: Any) -> None:
        run = trainer.run_dir
        if trainer.resumed and run is not None and trainer.is_main:
            epochs = [{**r, "partial": 0} for r in trainer.state.history]
            partial = _partial_rows(run, trainer.state.global_step)
            # a partial row comes before the epoch row of the same step; sorted() is stable
            _write(run, sorted(partial + epochs, key=lambda r: (_step(r), 0 if r["partial"] == "1" else 1)),
                   header=list(dict.fromkeys(k for r in epochs + partial for k in r)))

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        if trainer.run_dir is not None and trainer.is_main:
            trainer.run_dir.append_metrics({**row, "partial": 0})

    def on_progress_row(self, trainer: Any, row: dict[str, Any]) -> None:
        """A partial row of the epoch in progress (``partial = 1``)."""
        if trainer.run_dir is not None and trainer.is_main:
            trainer.run_dir.append_metrics(row)


def _step(row: dict[str, Any]) -> float:
    try:
        return float(row.get("step"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.inf


def _partial_rows(run: Any, up_to_step: int) -> list[dict[str, Any]]:
    """The partial rows of the current metrics.csv at steps <= ``up_to_step`` (none from a
    damaged or unreadable file: the history alone is then rewritten)."""
    try:
        rows = run.read_metrics()
    except (OSError, UnicodeDecodeError, csv.Error, ValueError):
        return []
    return [{k: v for k, v in r.items() if k is not None and v not in (None, "")} for r in rows
            if isinstance(r, dict) and r.get("partial") == "1" and _step(r) <= up_to_step]


def _write(run: Any, rows: list[dict[str, Any]], header: list[str]) -> None:
    """Replace metrics.csv with ``rows`` under ``header``."""
    from rnnkit.train.rundir import atomic_write_text

    if not rows:
        run.metrics_path.unlink(missing_ok=True)
        return
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
    w.writeheader()
    w.writerows({k: repr(float(v)) if isinstance(v, float) and not math.isnan(v) else v for k, v in r.items()}
                for r in rows)
    atomic_write_text(run.metrics_path, buf.getvalue())
