"""``RUN_DIR/metrics.csv``: one row per epoch (rank 0)."""

from __future__ import annotations

from typing import Any

from rnnkit.train.callbacks.base import Callback

__all__ = ["MetricsCSV"]


class MetricsCSV(Callback):
    """Appends every epoch's row. On a resume the file is rewritten from the checkpoint's
    history, so a row written after the last checkpoint (then lost to a kill) is not doubled."""

    order = 80

    def on_fit_start(self, trainer: Any) -> None:
        run = trainer.run_dir
        if trainer.resumed and run is not None and trainer.is_main:
            run.metrics_path.unlink(missing_ok=True)
            for row in trainer.state.history:
                run.append_metrics(row)

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        if trainer.run_dir is not None and trainer.is_main:
            trainer.run_dir.append_metrics(row)
