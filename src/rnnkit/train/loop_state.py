"""LoopState: where the training loop is. It *is* the checkpoint (with the weights, the
optimizer, the schedule and the grad scaler, which live in their own objects).

Per-rank parts (``rng``, ``recurrent_state``, ``epoch_sums``) hold one entry per DDP
rank, gathered to rank 0 when a checkpoint is written, so a DDP resume is exact too.
Every field read back from a checkpoint is validated by :meth:`LoopState.from_dict`;
a bad one raises a CheckpointError naming the file and the field.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.errors import CheckpointError
from rnnkit.train.seed import rng_state

__all__ = ["LoopState", "capture_rng", "rng_as_state"]


@dataclass
class LoopState:
    global_step: int = 0  # optimizer steps done
    epoch: int = 0  # the epoch in progress (0-based)
    batch_in_epoch: int = 0  # this rank's batches of ``epoch`` consumed (at an optimizer-step boundary)
    sampler_seed: int | None = None  # the batch source's shuffling seed, to warn if a resume differs
    train_seconds: float = 0.0  # training wall time spent, earlier runs of a resumed training included
    history: list[dict[str, float]] = field(default_factory=list)  # one row per epoch (metrics.csv)
    world_size: int = 1  # processes that wrote the per-rank lists below
    rng: list[dict[str, Any]] = field(default_factory=list)  # per rank: Python/NumPy/torch(/CUDA) RNG streams
    recurrent_state: list[Any] = field(default_factory=list)  # per rank: the carried TBPTT state (or None)
    epoch_sums: list[dict[str, Any] | None] = field(default_factory=list)  # per rank: running loss/grad/metric sums
    callbacks: dict[str, Any] = field(default_factory=dict)  # Callback.state_key -> Callback.state_dict()

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: Any, source: Path | str) -> "LoopState":
        """Validate every field of ``d`` (read from ``source``) and build the LoopState."""

        def bad(name: str, expected: str, value: Any) -> CheckpointError:
            shown = repr(value)
            return CheckpointError(f"{source}: field loop.{name} must be {expected}; got "
                                   f"{shown if len(shown) < 80 else shown[:77] + '...'}")

        if not isinstance(d, dict):
            raise bad("", "a table", d)
        missing = [f.name for f in fields(cls) if f.name not in d]
        if missing:
            raise CheckpointError(f"{source}: field loop.{missing[0]} is missing")
        for name in ("global_step", "epoch", "batch_in_epoch"):
            v = d[name]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise bad(name, "an integer >= 0", v)
        w = d["world_size"]
        if isinstance(w, bool) or not isinstance(w, int) or w < 1:
            raise bad("world_size", "an integer >= 1", w)
        if d["sampler_seed"] is not None and (isinstance(d["sampler_seed"], bool) or not isinstance(d["sampler_seed"], int)):
            raise bad("sampler_seed", "an integer or none", d["sampler_seed"])
        s = d["train_seconds"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not (math.isfinite(s) and s >= 0):
            raise bad("train_seconds", "a finite number >= 0", s)
        h = d["history"]
        if not isinstance(h, list) or not all(
                isinstance(r, dict) and all(isinstance(k, str) and isinstance(v, (int, float)) for k, v in r.items())
                for r in h):
            raise bad("history", "a list of rows {name: number}", h)
        for name in ("rng", "recurrent_state", "epoch_sums"):
            if not isinstance(d[name], list) or len(d[name]) != w:
                raise bad(name, f"a list of one entry per rank ({w})", d[name])
        for i, r in enumerate(d["rng"]):
            if not (isinstance(r, dict) and {"python", "numpy", "torch"} <= set(r)
                    and isinstance(r["torch"], torch.Tensor) and r["torch"].dtype == torch.uint8):
                raise bad(f"rng[{i}]", "a table with python, numpy and torch (uint8 tensor) states", r)
        for i, e in enumerate(d["epoch_sums"]):
            if e is not None and not (isinstance(e, dict) and {"loss", "grad_norms", "metrics"} <= set(e)
                                      and isinstance(e["metrics"], dict)):
                raise bad(f"epoch_sums[{i}]", "none or a table with loss, grad_norms and metrics", e)
        if d["batch_in_epoch"] and any(e is None for e in d["epoch_sums"]):
            raise bad("epoch_sums", "sums for every rank when batch_in_epoch > 0", d["epoch_sums"])
        if not isinstance(d["callbacks"], dict):
            raise bad("callbacks", "a table", d["callbacks"])
        return cls(**{f.name: d[f.name] for f in fields(cls)})


def capture_rng() -> tuple:
    """Raw RNG snapshot, cheap enough to take at every step boundary."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda


def rng_as_state(raw: tuple) -> dict[str, Any]:
    """Turn a raw snapshot into the form of :func:`rnnkit.train.seed.rng_state`."""
    now = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    random.setstate(raw[0])
    np.random.set_state(raw[1])
    torch.set_rng_state(raw[2])
    state = rng_state()
    if raw[3] is not None:
        state["cuda"] = raw[3]
    random.setstate(now[0])
    np.random.set_state(now[1])
    torch.set_rng_state(now[2])
    return state
