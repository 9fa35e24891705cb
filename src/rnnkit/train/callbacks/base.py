"""The public Callback base: everything around the training loop hooks in here.

Hooks, in the order the Trainer calls them::

    on_fit_start(trainer)                  after a resume has restored the LoopState
    on_epoch_start(trainer, epoch)         before the epoch's first batch (0-based epoch)
    on_step_end(trainer, info)             after every optimizer step (StepInfo), at a step boundary
    on_epoch_end(trainer, epoch, row)      after validation; ``row`` is the metrics.csv row (mutable)
    on_fit_end(trainer, result)            once, with the FitResult (also after Ctrl-C)

Callbacks run in ascending ``order`` (default 0; ties keep list order: the defaults
built from TrainConfig first, then the user's). The defaults that must see the final
row or stop decision run late: TimeBudget 50, MetricsCSV/TensorBoard 80,
Checkpointing 90, Progress 100. A callback stops the run with
``trainer.request_stop(reason)``; ``trainer.should_stop()`` collects every reason at the
next step boundary (and agrees on it across DDP ranks).

A callback with state that must survive a resume returns it from ``state_dict()``
(JSON-able values and tensors); it is stored in the checkpoint's LoopState under
``state_key`` and handed back to ``load_state_dict`` on resume.
Duck-typed objects with some of these methods work too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rnnkit.train.contracts import FitResult, StepInfo
    from rnnkit.train.trainer import Trainer

__all__ = ["Callback"]


class Callback:
    """No-op hooks; override the ones you need."""

    order: int = 0

    @property
    def state_key(self) -> str:
        """Where this callback's state lives in the checkpoint (unique among a Trainer's callbacks)."""
        return type(self).__name__

    def on_fit_start(self, trainer: "Trainer") -> None:
        """Training is about to start (or continue after a resume)."""

    def on_epoch_start(self, trainer: "Trainer", epoch: int) -> None:
        """Epoch ``epoch`` (0-based) is about to start; on a resume, mid-epoch."""

    def on_step_end(self, trainer: "Trainer", info: "StepInfo") -> None:
        """An optimizer step finished; ``trainer.state`` is the step boundary."""

    def on_epoch_end(self, trainer: "Trainer", epoch: int, row: dict[str, float]) -> None:
        """Epoch ``epoch`` ended (or was cut by max_steps / max_time) and was validated."""

    def on_fit_end(self, trainer: "Trainer", result: "FitResult") -> None:
        """fit() is returning ``result``."""

    def state_dict(self) -> dict[str, Any] | None:
        """State to checkpoint, or None for a stateless callback."""
        return None

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""
