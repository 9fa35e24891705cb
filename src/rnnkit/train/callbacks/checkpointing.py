"""Checkpoints at every epoch end, every ``train.checkpoint_every_steps`` steps and on Ctrl-C;
the final weights in ``RUN_DIR/model.safetensors``."""

from __future__ import annotations

from typing import Any

from rnnkit.train.callbacks.base import Callback

__all__ = ["Checkpointing"]


class Checkpointing(Callback):
    """Calls ``trainer.save_checkpoint()`` (a collective under DDP: every rank calls it at the
    same step; rank 0 writes). Runs late so that the saved LoopState holds every other
    callback's updated state and the final epoch row."""

    order = 90

    def __init__(self, every_steps: int | None = None) -> None:
        self.every_steps = every_steps

    def on_step_end(self, trainer: Any, info: Any) -> None:
        if self.every_steps and info.step % self.every_steps == 0:
            trainer.save_checkpoint()

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        trainer.save_checkpoint()

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        if result.interrupted:
            trainer.save_checkpoint()
        if trainer.run_dir is not None and trainer.is_main:
            # a finished fit() left the weights it hands over in the module (best epoch or average);
            # an interrupted one left the training weights, and the average is saved instead
            weights = trainer.deliverable_state() if result.interrupted else trainer.module.state_dict()
            trainer.run_dir.save_weights(weights)
