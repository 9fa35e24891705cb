"""What the Trainer exchanges with the code around it: Objective, StepResult, StepInfo, FitResult,
and the small helpers that move batches and cut recurrent state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Mapping, Protocol

import torch
from torch import nn

from rnnkit.train.metrics import Metric

__all__ = ["StepResult", "Objective", "StepInfo", "FitResult", "StopReason", "detach_state", "to_device", "set_epoch"]

StopReason = Literal["completed", "max_steps", "max_time", "early_stopping", "interrupted"]


@dataclass
class StepResult:
    """What an Objective returns for one batch.

    loss:    scalar tensor, the *mean* loss of the batch (what backward() sees).
    weight:  how much the batch counts in the epoch's mean loss (examples or tokens).
    updates: metric name → positional args for ``metrics[name].update(*args)``.
    state:   recurrent state to carry into the next batch (stateful LMs), else None.
    """

    loss: torch.Tensor
    weight: float | torch.Tensor = 1.0
    updates: Mapping[str, tuple] = field(default_factory=dict)
    state: Any = None


class Objective(Protocol):
    """Turns batches into losses and metric updates; the only task-specific piece.

    ``__call__`` must run the model through ``model(...)`` (under DDP ``model`` is
    the DistributedDataParallel wrapper). ``state`` is None at the start of every
    epoch and evaluation pass; return the new recurrent state in ``StepResult.state``
    to have it carried (the Trainer detaches it) or None for stateless models.
    """

    def metrics(self) -> dict[str, Metric]:
        """Fresh metric accumulators for one pass (keys match ``StepResult.updates``)."""
        ...

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult: ...

    # optional, for Trainer.predict:
    # def predict(self, model: nn.Module, batch: Any, state: Any) -> tuple[Any, Any]


@dataclass
class StepInfo:
    """Passed to ``Callback.on_step_end`` after every optimizer step (tensors detached, on device)."""

    step: int  # global step, counted from 1
    epoch: int  # 0-based
    loss: torch.Tensor  # mean loss of the step's real micro-batches on this process
    grad_norm: torch.Tensor  # global grad norm before clipping
    lr: float  # the learning rate this step used


@dataclass
class FitResult:
    history: list[dict[str, float]]  # one row per epoch (as in metrics.csv)
    global_step: int
    epochs_completed: int
    stop_reason: StopReason
    best: float | None
    checkpoint: Path | None  # the last checkpoint written (None without a run dir)

    @property
    def interrupted(self) -> bool:
        return self.stop_reason == "interrupted"


def detach_state(state: Any) -> Any:
    """Detach every tensor in a (nested tuple/list/dict) recurrent state: the TBPTT cut."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` (nested tuples/lists/dicts of tensors, or an object with ``.to``) on ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if callable(getattr(batch, "to", None)) and not isinstance(batch, nn.Module):
        return batch.to(device, non_blocking=True)  # batch objects such as rnnkit.data.Batch
    return batch


def set_epoch(batches: Any, epoch: int) -> None:
    """``set_epoch`` on the batch source, or on a DataLoader's batch_sampler / sampler."""
    for obj in (batches, getattr(batches, "batch_sampler", None), getattr(batches, "sampler", None)):
        if obj is not None and hasattr(obj, "set_epoch"):
            obj.set_epoch(epoch)
            return
