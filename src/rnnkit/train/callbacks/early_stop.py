"""Early stopping on the monitored metric, and ``restore_best``."""

from __future__ import annotations

import logging
from typing import Any

import torch

from rnnkit.train.callbacks.base import Callback
from rnnkit.train.early_stopping import EarlyStopping

__all__ = ["EarlyStop"]

log = logging.getLogger("rnnkit.train")


class EarlyStop(Callback):
    """Tracks the best ``monitor`` value; stops after ``patience`` epochs without improvement,
    with ``train.epochs = none`` never before ``train.min_steps`` optimizer steps (a tiny
    set's epochs are a few steps each).

    With ``restore_best`` the best epoch's weights are kept in memory and in
    ``RUN_DIR/best.safetensors`` (rank 0), and loaded back when fit() ends (not after
    an interruption: a resume continues from the latest weights).
    """

    def __init__(self, monitor: str, mode: str = "min", patience: int | None = None, min_delta: float = 0.0,
                 restore_best: bool = False) -> None:
        self.monitor, self.restore_best = monitor, restore_best
        self.tracker = EarlyStopping(mode, patience, min_delta)  # type: ignore[arg-type]
        self.best_weights: dict[str, torch.Tensor] | None = None

    def on_fit_start(self, trainer: Any) -> None:
        run = trainer.run_dir
        if self.restore_best and trainer.resumed and run is not None and (run.path / "best.safetensors").exists():
            self.best_weights = run.load_weights("best.safetensors")

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        value = row.get(self.monitor)
        if value is None:
            return
        if self.tracker.update(value, epoch) and self.restore_best:
            self.best_weights = {k: v.detach().cpu().clone() for k, v in trainer.deliverable_state().items()}
            if trainer.run_dir is not None and trainer.is_main:
                trainer.run_dir.save_weights(self.best_weights, "best.safetensors")
        cfg = trainer.config
        if self.tracker.should_stop and (not cfg.waits_min_steps or trainer.global_step >= cfg.min_steps):
            log.info("early stopping: %s did not improve for %d epochs (best %.6g at epoch %d)", self.monitor,
                     self.tracker.bad_epochs, self.tracker.best, (self.tracker.best_epoch or 0) + 1)
            trainer.request_stop("early_stopping")

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        if self.restore_best and self.best_weights is not None and not result.interrupted:
            trainer.module.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return self.tracker.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.tracker.load_state_dict(state)
