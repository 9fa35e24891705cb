"""Early stopping on a monitored metric."""

from __future__ import annotations

import math
from typing import Any, Literal, Optional

__all__ = ["EarlyStopping"]


class EarlyStopping:
    """Stop after ``patience`` epochs without an improvement larger than ``min_delta``.

    ``patience=None`` never stops but still tracks the best epoch (for restore_best).
    A NaN metric never counts as an improvement.
    """

    def __init__(self, mode: Literal["min", "max"] = "min", patience: Optional[int] = None, min_delta: float = 0.0) -> None:
        self.mode, self.patience, self.min_delta = mode, patience, min_delta
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    def improved(self, value: float) -> bool:
        if value is None or math.isnan(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, value: float, epoch: int) -> bool:
        """Record this epoch's value; True when it is the best so far."""
        if self.improved(value):
            self.best, self.best_epoch, self.bad_epochs = float(value), epoch, 0
            return True
        self.bad_epochs += 1
        return False

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_epochs > self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = sd["best"], sd["best_epoch"], int(sd["bad_epochs"])
