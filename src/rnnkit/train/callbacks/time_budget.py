"""``train.max_minutes``: stop once training (validation included) has taken this long."""

from __future__ import annotations

from typing import Any

from rnnkit.train.callbacks.base import Callback

__all__ = ["TimeBudget"]


class TimeBudget(Callback):
    """Requests ``max_time`` at the first step boundary past the budget.

    The clock is ``trainer.elapsed()``: this fit's wall time plus the seconds saved in
    the checkpoint, so a resumed run keeps counting. The cut epoch is still validated.
    """

    order = 50  # after user callbacks that take time within the step

    def __init__(self, minutes: float) -> None:
        self.seconds = 60.0 * minutes

    def on_step_end(self, trainer: Any, info: Any) -> None:
        if trainer.elapsed() >= self.seconds:
            trainer.request_stop("max_time")
