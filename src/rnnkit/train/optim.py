"""Optimizers and learning-rate schedules built from small config dataclasses.

One schedule object covers all our cases: a linear warm-up over the first
``warmup_steps`` optimizer steps multiplies a decay that is ``constant``,
``cosine`` or ``linear`` (over the run's progress, down to ``min_lr_ratio``), ``step``
(× ``gamma`` every ``step_epochs`` epochs) or ``plateau`` (× ``factor`` after
``patience`` epochs without improvement of the monitored metric). The Trainer
calls :meth:`LRSchedule.step` after every optimizer step and
:meth:`LRSchedule.epoch_end` after every epoch; the state is plain JSON.

Progress of a cosine/linear decay: ``(steps - warmup) / (total_steps - warmup)``;
with a time budget (``budget_seconds``, from ``train.max_minutes``) it is
``max(step progress, elapsed / budget)`` (elapsed alone without a step bound), so a
time-capped run still decays. The Trainer sets :attr:`LRSchedule.elapsed` (seconds
agreed by every rank) before each ``step()``; it is part of the state, so a resumed
run continues on exactly the same learning rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Literal, Optional

import torch

from rnnkit.errors import ConfigError

__all__ = ["OptimConfig", "ScheduleConfig", "build_optimizer", "LRSchedule", "build_schedule"]


@dataclass
class OptimConfig:
    """Which optimizer and its hyper-parameters. ``momentum`` is used by sgd and rmsprop."""

    # the optimizer: adam, adamw, sgd or rmsprop
    name: Literal["adam", "adamw", "sgd", "rmsprop"] = "adam"
    # learning rate (the peak, under a schedule)
    lr: float = 1e-3
    # L2 penalty (decoupled for adamw)
    weight_decay: float = 0.0
    # adam / adamw: decay rates of the moment estimates
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    # term added to denominators for numerical stability
    eps: float = 1e-8
    # sgd and rmsprop momentum
    momentum: float = 0.9
    # sgd: Nesterov momentum
    nesterov: bool = False

    def __post_init__(self) -> None:
        for name in ("lr", "eps"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v > 0):
                raise ConfigError(f"train.optim.{name} must be a finite number > 0; got {v!r}")
        for name in ("weight_decay", "momentum"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (math.isfinite(v) and v >= 0):
                raise ConfigError(f"train.optim.{name} must be a finite number >= 0; got {v!r}")
        if len(self.betas) != 2 or not all(0 <= b < 1 for b in self.betas):
            raise ConfigError(f"optim.betas must be two numbers in [0, 1); got {self.betas}")


@dataclass
class ScheduleConfig:
    """Learning-rate schedule; see the module docstring."""

    # the learning-rate schedule: constant, cosine, linear, step or plateau
    name: Literal["constant", "cosine", "linear", "step", "plateau"] = "constant"
    # optimizer steps of linear warm-up from 0 to lr first
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0  # cosine/linear: final lr = base lr × min_lr_ratio
    step_epochs: int = 1  # step: decay every this many epochs
    gamma: float = 0.5  # step: decay factor
    factor: float = 0.5  # plateau: decay factor
    patience: int = 2  # plateau: epochs without improvement before decaying
    threshold: float = 1e-4  # plateau: relative improvement that counts
    # plateau: lower ("min") or higher ("max") monitored metric is better; none: train.monitor_mode's choice
    mode: Optional[Literal["min", "max"]] = None
    min_lr: float = 0.0  # plateau: floor

    def __post_init__(self) -> None:
        if self.warmup_steps < 0:
            raise ConfigError(f"schedule.warmup_steps must be >= 0; got {self.warmup_steps}")
        if self.step_epochs < 1:
            raise ConfigError(f"schedule.step_epochs must be >= 1; got {self.step_epochs}")


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: OptimConfig) -> torch.optim.Optimizer:
    """The torch optimizer named by ``cfg`` over ``params``."""
    params = [p for p in params if p.requires_grad]
    if cfg.name == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.name == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, betas=tuple(cfg.betas), eps=cfg.eps, weight_decay=cfg.weight_decay)
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov and cfg.momentum > 0,
            weight_decay=cfg.weight_decay,
        )
    if cfg.name == "rmsprop":
        return torch.optim.RMSprop(params, lr=cfg.lr, momentum=cfg.momentum, eps=cfg.eps, weight_decay=cfg.weight_decay)
    raise ConfigError(f"optim.name must be one of 'adam', 'adamw', 'sgd', 'rmsprop'; got {cfg.name!r}")


class LRSchedule:
    """Sets ``lr = base_lr × warmup(step) × decay`` on every param group of ``optimizer``.

    ``total_steps`` (optimizer steps in the whole run) and/or ``budget_seconds`` (the
    time budget) are needed by ``cosine`` and ``linear``. Call ``step()`` after each
    optimizer step and ``epoch_end(metric)`` after each epoch (``metric`` only matters
    for plateau).
    """

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, total_steps: Optional[int] = None,
                 budget_seconds: Optional[float] = None, mode: str = "min") -> None:
        if cfg.name in ("cosine", "linear") and not total_steps and not budget_seconds:
            raise ConfigError(f"schedule.name={cfg.name!r} needs the run's total number of steps "
                              "(train.max_steps or a batch source with a length) or train.max_minutes; got neither")
        self.optimizer, self.cfg, self.total_steps = optimizer, cfg, total_steps
        self.budget_seconds = budget_seconds
        self.mode = cfg.mode or mode  # plateau: the schedule's own mode, else the monitored metric's
        self.elapsed = 0.0  # training seconds so far; the Trainer sets it before each step()
        # the configured lr, remembered in the group (as torch schedulers do) so that a
        # second schedule on the same optimizer does not take an already-scaled lr as its base
        self.base_lrs = [g.setdefault("initial_lr", g["lr"]) for g in optimizer.param_groups]
        self.steps = 0
        self.epochs = 0
        self.plateau_scale = 1.0
        self.best: float | None = None
        self.bad_epochs = 0
        self._apply()

    def factor(self) -> float:
        """The current multiplier of the base learning rates."""
        c = self.cfg
        warm = min(1.0, (self.steps + 1) / (c.warmup_steps + 1)) if c.warmup_steps else 1.0
        if c.name in ("cosine", "linear"):
            t = self.progress()
            shape = 0.5 * (1 + math.cos(math.pi * t)) if c.name == "cosine" else 1.0 - t
            decay = c.min_lr_ratio + (1 - c.min_lr_ratio) * shape
        elif c.name == "step":
            decay = c.gamma ** (self.epochs // c.step_epochs)
        elif c.name == "plateau":
            decay = self.plateau_scale
        else:
            decay = 1.0
        return warm * decay

    def progress(self) -> float:
        """How far the decay has gone, in [0, 1]: by steps, by time, whichever is further."""
        parts = [0.0]
        if self.total_steps:
            span = max(1, self.total_steps - self.cfg.warmup_steps)
            parts.append(max(0, self.steps - self.cfg.warmup_steps) / span)
        if self.budget_seconds:
            parts.append(self.elapsed / self.budget_seconds)
        return min(1.0, max(parts))

    def _apply(self) -> None:
        f = self.factor()
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            lr = base * f
            if self.cfg.name == "plateau":
                lr = max(lr, self.cfg.min_lr)
            group["lr"] = lr

    def step(self) -> None:
        self.steps += 1
        self._apply()

    def epoch_end(self, metric: float | None = None) -> None:
        self.epochs += 1
        c = self.cfg
        if c.name == "plateau" and metric is not None and not math.isnan(metric):
            better = (
                self.best is None
                # relative threshold, as torch's ReduceLROnPlateau(threshold_mode="rel")
                or (self.mode == "min" and metric < self.best * (1 - c.threshold))
                or (self.mode == "max" and metric > self.best * (1 + c.threshold))
            )
            if better:
                self.best, self.bad_epochs = metric, 0
            else:
                self.bad_epochs += 1
                if self.bad_epochs > c.patience:
                    self.plateau_scale *= c.factor
                    self.bad_epochs = 0
        self._apply()

    def get_last_lr(self) -> list[float]:
        return [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {
            "base_lrs": self.base_lrs, "steps": self.steps, "epochs": self.epochs,
            "plateau_scale": self.plateau_scale, "best": self.best, "bad_epochs": self.bad_epochs,
            "elapsed": self.elapsed,
        }

    def load_state_dict(self, sd: dict[str, Any]) -> None:
        self.base_lrs = list(sd["base_lrs"])
        self.steps, self.epochs = int(sd["steps"]), int(sd["epochs"])
        self.plateau_scale, self.best, self.bad_epochs = float(sd["plateau_scale"]), sd["best"], int(sd["bad_epochs"])
        self.elapsed = float(sd.get("elapsed", 0.0))
        self._apply()


def build_schedule(optimizer: torch.optim.Optimizer, cfg: ScheduleConfig, total_steps: Optional[int] = None,
                   budget_seconds: Optional[float] = None, mode: str = "min") -> LRSchedule:
    """The :class:`LRSchedule` for ``cfg`` (cosine/linear need ``total_steps`` or ``budget_seconds``;
    ``mode``: the monitored metric's direction, for plateau when ``cfg.mode`` is none)."""
    return LRSchedule(optimizer, cfg, total_steps, budget_seconds, mode)
