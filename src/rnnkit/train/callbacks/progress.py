"""The tqdm progress bar: rank 0, only on a TTY, never with ``train.quiet``."""

from __future__ import annotations

import sys
from typing import Any

from rnnkit.train.callbacks.base import Callback

__all__ = ["Progress"]


class Progress(Callback):
    """One bar per epoch, in optimizer steps; loss and lr refreshed every ``log_every_steps``
    (the only host sync it causes)."""

    order = 100

    def __init__(self, log_every_steps: int = 20) -> None:
        self.log_every_steps, self.bar, self.enabled = log_every_steps, None, False

    def on_fit_start(self, trainer: Any) -> None:
        self.enabled = trainer.is_main and not trainer.config.quiet and sys.stderr.isatty()

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        if not self.enabled:
            return
        from tqdm.auto import tqdm

        done = trainer.state.batch_in_epoch // trainer.config.grad_accum if trainer.state.epoch == epoch else 0
        self.bar = tqdm(total=trainer.steps_per_epoch, initial=done, desc=f"epoch {epoch + 1}/{trainer.config.epochs}",
                        unit="step", leave=False, dynamic_ncols=True)

    def on_step_end(self, trainer: Any, info: Any) -> None:
        if self.bar is None:
            return
        self.bar.update(1)
        if info.step % self.log_every_steps == 0:
            self.bar.set_postfix(loss=f"{float(info.loss):.4f}", lr=f"{info.lr:.2e}")

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        self._close()

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        self._close()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None
