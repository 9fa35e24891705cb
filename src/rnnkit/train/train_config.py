"""``[train]``: the Trainer's settings, range-checked when the config is built.

Every check names the key, the expected range and the value received, e.g.
``train.max_steps must be an integer >= 1 or none; got 0``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

from rnnkit.errors import ConfigError
from rnnkit.train.optim import OptimConfig, ScheduleConfig

__all__ = ["TrainConfig"]

SEED_MAX = 2**63 - 1
RESTORE_BEST_MIN_VAL = 100  # train.restore_best = none: on from this many validation examples
DEFAULT_EPOCHS = 10  # train.epochs = none: at least this many epochs (and train.min_steps steps)
DEFAULT_MONITOR = "val_loss"  # train.monitor = none outside a task that names its own
# train.monitor_mode = none: a metric whose name holds one of these words is better high / low
HIGHER_IS_BETTER = ("accuracy", "acc", "f1", "bleu", "precision", "recall", "r2", "auc")
LOWER_IS_BETTER = ("loss", "nll", "ppl", "perplexity", "bpc", "mse", "mae", "rmse", "error", "errors", "cer", "wer")


def mode_of(metric: str) -> Optional[str]:
    """The better direction, "max" or "min", of a metric name such as ``val_accuracy`` or
    ``val_mse_orig`` (its words split on ``_``); None when the name says neither or both."""
    words = set(metric.lower().split("_"))
    high, low = bool(words & set(HIGHER_IS_BETTER)), bool(words & set(LOWER_IS_BETTER))
    return "max" if high and not low else "min" if low and not high else None


def _int_at_least(name: str, value: Any, low: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"train.{name} must be an integer >= {low}{' or none' if optional else ''}; got {value!r}")


def _positive(name: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not value > 0:
        raise ConfigError(f"train.{name} must be a finite number > 0{' or none' if optional else ''}; got {value!r}")


@dataclass
class TrainConfig:
    """Everything the Trainer needs to know; a ``[train]`` table in a recipe."""

    # none: 10 epochs, or more when those give fewer than min_steps optimizer steps (small data sets)
    epochs: Optional[int] = None
    max_steps: Optional[int] = None  # stop after this many optimizer steps
    min_steps: int = 1000  # with epochs = none: train at least this many optimizer steps; early stopping waits for them
    max_minutes: Optional[float] = None  # stop once training (validation included) has taken this long; resumes carry it
    grad_accum: int = 1  # micro-batches per optimizer step
    clip_norm: Optional[float] = None  # clip the global grad norm to this
    clip_value: Optional[float] = None  # clip every grad element to ±this
    # keep an exponential moving average of the weights with this decay (e.g. 0.999, about the last
    # 1000 steps); validation, restore_best and the saved model then use the averaged weights
    ema_decay: Optional[float] = None
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast dtype (fp16 adds a GradScaler)
    seed: int = 0  # applied once by the caller (the task runner), before data and model are built
    # ask torch for deterministic kernels (slower; same results run to run)
    deterministic: bool = False
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" ...
    # metric for early stopping, plateau and restore_best; none: the task's own (classify: val_accuracy,
    # every other task: val_loss; the task runner decides and writes it here; a Trainer on its own: val_loss)
    monitor: Optional[str] = None
    # whether the monitored metric is better "min" (a loss) or "max" (an accuracy); none: from its name
    # (max for accuracy, f1, bleu, precision, recall, r2; min for loss, nll, ppl, bpc, mse, mae, error)
    monitor_mode: Optional[Literal["min", "max"]] = None
    early_stopping_patience: Optional[int] = None  # stop after more than this many epochs without improvement
    # smallest change of the monitored metric that counts as an improvement
    early_stopping_min_delta: float = 0.0
    # end with the best monitored epoch's weights; none: on when the validation split holds at least
    # 100 examples (RESTORE_BEST_MIN_VAL; on a smaller one the best epoch is mostly noise), off otherwise
    # (the task runner decides; a Trainer used on its own treats none as off)
    restore_best: Optional[bool] = None
    checkpoint_every_steps: Optional[int] = None  # besides every epoch end
    # newest checkpoints kept in checkpoints/ (older ones are deleted)
    keep_checkpoints: int = 3
    log_every_steps: int = 20  # progress refresh and non-finite-loss check (a host sync) every this many steps
    # no progress output
    quiet: bool = False
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    def __post_init__(self) -> None:
        for name in ("grad_accum", "log_every_steps", "keep_checkpoints", "min_steps"):
            _int_at_least(name, getattr(self, name), 1)
        for name in ("epochs", "max_steps", "checkpoint_every_steps", "early_stopping_patience"):
            _int_at_least(name, getattr(self, name), 1, optional=True)
        for name in ("clip_norm", "clip_value", "max_minutes"):
            _positive(name, getattr(self, name))
        e = self.ema_decay
        if e is not None and (isinstance(e, bool) or not isinstance(e, (int, float)) or not 0 < e < 1):
            raise ConfigError(f"train.ema_decay must be a number between 0 and 1 (exclusive), such as 0.999, "
                              f"or none; got {e!r}")
        d = self.early_stopping_min_delta
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not (math.isfinite(d) and d >= 0):
            raise ConfigError(f"train.early_stopping_min_delta must be a finite number >= 0; got {d!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX:
            raise ConfigError(f"train.seed must be an integer in 0..{SEED_MAX} (2**63-1); got {self.seed!r}")
        if self.monitor is not None and (not isinstance(self.monitor, str) or not self.monitor):
            raise ConfigError(f"train.monitor must be a metric name such as 'val_loss' or none; got {self.monitor!r}")
        if self.monitor_mode is None and mode_of(self.monitored) is None:
            raise ConfigError(
                f"train.monitor_mode = none cannot tell from the name whether train.monitor={self.monitor!r} is "
                f"better high or low; set train.monitor_mode = 'max' or 'min'"
            )

    @property
    def monitored(self) -> str:
        """The metric early stopping, plateau and restore_best watch: ``monitor``, or val_loss."""
        return self.monitor if self.monitor is not None else DEFAULT_MONITOR

    @property
    def mode(self) -> str:
        """The better direction of ``monitored``: ``monitor_mode``, or read from the metric's name."""
        return self.monitor_mode if self.monitor_mode is not None else mode_of(self.monitored)  # type: ignore[return-value]

    @property
    def waits_min_steps(self) -> bool:
        """True when ``min_steps`` applies (``epochs`` left at none)."""
        return self.epochs is None

    def planned_epochs(self, steps_per_epoch: Optional[int]) -> int:
        """Epochs the run trains before any stop reason: ``epochs`` when given; with ``epochs =
        none`` 10, or more to reach ``min_steps`` optimizer steps of ``steps_per_epoch`` (when known)."""
        if self.epochs is not None:
            return self.epochs
        if not steps_per_epoch:
            return DEFAULT_EPOCHS
        return max(DEFAULT_EPOCHS, math.ceil(self.min_steps / steps_per_epoch))

    def restore_best_for(self, val_examples: int | None) -> bool:
        """``restore_best`` resolved for a validation split of ``val_examples`` examples (None: no
        validation split): the setting when given; with none, on from RESTORE_BEST_MIN_VAL examples."""
        if self.restore_best is not None:
            return self.restore_best
        return val_examples is not None and val_examples >= RESTORE_BEST_MIN_VAL

    def epochs_done(self, epoch: int, global_step: int) -> bool:
        """True when a run at ``epoch`` epochs and ``global_step`` steps has trained all its epochs."""
        if self.epochs is not None:
            return epoch >= self.epochs
        return epoch >= DEFAULT_EPOCHS and global_step >= self.min_steps
