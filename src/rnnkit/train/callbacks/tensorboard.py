"""TensorBoard scalars in ``RUN_DIR/tensorboard`` (rank 0), when the ``tensorboard`` package is installed."""

from __future__ import annotations

import importlib.util
from typing import Any

from rnnkit.train.callbacks.base import Callback

__all__ = ["TensorBoard", "tensorboard_available"]


def tensorboard_available() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


class TensorBoard(Callback):
    """Every epoch row's numbers as scalars at the row's global step."""

    order = 80

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        if trainer.run_dir is None or not trainer.is_main:
            return
        writer = trainer.run_dir.tensorboard()
        if writer is not None:
            for k, v in row.items():
                if k not in ("epoch", "step"):
                    writer.add_scalar(k, v, row["step"])
            writer.flush()

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        if trainer.run_dir is not None:
            trainer.run_dir.close()
