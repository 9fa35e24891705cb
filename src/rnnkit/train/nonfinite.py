"""Stopping a run whose loss went NaN/inf, with a diagnosis, without a host sync per step.

Every optimizer step :meth:`NonFiniteWatch.observe` folds the step's loss into a few
device tensors (first bad step, the loss there, its gradient norm, the last finite
loss) with ``torch.where`` — no ``.item()``. :meth:`NonFiniteWatch.check` reads them
(one sync, one all-reduce under DDP) and raises :class:`~rnnkit.errors.NonFiniteLossError`.
The Trainer checks every ``train.log_every_steps`` steps, at every epoch end and before
every checkpoint is written, so no checkpoint ever holds weights trained on a
non-finite loss: the last good one stays intact.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from rnnkit.errors import NonFiniteLossError
from rnnkit.train import distributed as dist_utils

__all__ = ["NonFiniteWatch"]


class NonFiniteWatch:
    def __init__(self) -> None:
        self._t: dict[str, torch.Tensor] | None = None

    def observe(self, step: int, loss: torch.Tensor, grad_norm: torch.Tensor) -> None:
        """Record step ``step`` (1-based) with its mean loss and pre-clip gradient norm (device tensors)."""
        loss = loss.detach().float()
        if self._t is None:
            nan = torch.full((), float("nan"), device=loss.device)
            self._t = {"step": torch.full((), -1, dtype=torch.int64, device=loss.device),
                       "loss": nan, "grad_norm": nan.clone(), "last_finite": nan.clone()}
        t = self._t
        ok = torch.isfinite(loss)
        first = (t["step"] < 0) & ~ok
        t["last_finite"] = torch.where(ok & (t["step"] < 0), loss, t["last_finite"])
        t["loss"] = torch.where(first, loss, t["loss"])
        t["grad_norm"] = torch.where(first, grad_norm.detach().float().to(loss.device), t["grad_norm"])
        t["step"] = torch.where(first, torch.full_like(t["step"], step), t["step"])

    def check(self, module: nn.Module, last_checkpoint: Any = None) -> None:
        """Raise NonFiniteLossError if any rank saw a non-finite loss (a collective under DDP)."""
        t = self._t
        bad = float(t["step"].item()) if t is not None else -1.0
        if max(dist_utils.all_reduce_max([bad])) < 0:
            return
        if bad < 0:
            raise NonFiniteLossError("the training loss became non-finite on another process; see rank 0's error")
        params = next((n for n, p in module.named_parameters() if not torch.isfinite(p).all()), None)
        where = (f"the last checkpoint, {last_checkpoint}, was written before it and is intact"
                 if last_checkpoint else "no checkpoint was written")
        raise NonFiniteLossError(
            f"the training loss became {float(t['loss']):g} at step {int(bad)}; last finite loss "
            f"{float(t['last_finite']):.6g}, gradient norm at that step {float(t['grad_norm']):.6g}; "
            f"first non-finite parameter: {params or 'none (the weights are still finite)'}; {where}. "
            "Try a lower train.optim.lr, train.clip_norm, or precision = \"fp32\"")
