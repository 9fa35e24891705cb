"""Callbacks: everything around the training loop (see :mod:`rnnkit.train.callbacks.base` for the hooks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rnnkit.train.callbacks.base import Callback
from rnnkit.train.callbacks.checkpointing import Checkpointing
from rnnkit.train.callbacks.early_stop import EarlyStop
from rnnkit.train.callbacks.metrics_csv import MetricsCSV
from rnnkit.train.callbacks.progress import Progress
from rnnkit.train.callbacks.tensorboard import TensorBoard, tensorboard_available
from rnnkit.train.callbacks.time_budget import TimeBudget

if TYPE_CHECKING:
    from rnnkit.train.train_config import TrainConfig

__all__ = ["Callback", "Checkpointing", "EarlyStop", "MetricsCSV", "Progress", "TensorBoard", "TimeBudget",
           "default_callbacks", "tensorboard_available"]


def default_callbacks(cfg: "TrainConfig") -> list[Callback]:
    """The callbacks every Trainer runs, built from its TrainConfig."""
    cbs: list[Callback] = [EarlyStop(cfg.monitored, cfg.mode, cfg.early_stopping_patience,
                                     cfg.early_stopping_min_delta, cfg.restore_best)]
    if cfg.max_minutes is not None:
        cbs.append(TimeBudget(cfg.max_minutes))
    cbs += [MetricsCSV(), Checkpointing(cfg.checkpoint_every_steps), Progress(cfg.log_every_steps)]
    if tensorboard_available():
        cbs.append(TensorBoard())
    return cbs
