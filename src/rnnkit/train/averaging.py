"""An exponential moving average (EMA) of the weights, kept beside the training weights
(``train.ema_decay``).

After every optimizer step ``avg = d * avg + (1 - d) * w`` for every floating-point entry of
the model's state dict (parameters and float buffers), with the warm-up of TensorFlow's
``ExponentialMovingAverage``: ``d = min(decay, (1 + n) / (10 + n))`` at the n-th update, so
the first steps' random weights fade fast instead of lingering for ``1 / (1 - decay)`` steps.
Integer buffers are not averaged; the average takes them from the model.

The Trainer validates, keeps the best epoch of, and ends with the averaged weights; the
training weights go on learning underneath and are what a checkpoint's ``model.safetensors``
holds, with the average in its trainer state, so a resume continues both exactly.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
from torch import nn

__all__ = ["WeightEMA", "warmed_decay", "averaged_weights"]


def warmed_decay(decay: float, updates: int) -> float:
    """The decay used at the ``updates``-th update (1-based): ``min(decay, (1 + n) / (10 + n))``."""
    return min(decay, (1.0 + updates) / (10.0 + updates))


class WeightEMA:
    """The moving average of ``module``'s floating-point state (see the module docstring)."""

    def __init__(self, module: nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be in (0, 1); got {decay!r}")
        self.module, self.decay, self.updates = module, float(decay), 0
        self.names = [k for k, v in module.state_dict().items() if v.is_floating_point()]
        self.shadow = [v.detach().clone() for v in self._live()]

    def reset(self) -> None:
        """Start the average again from the module's current weights."""
        self.updates = 0
        with torch.no_grad():
            torch._foreach_copy_(self.shadow, self._live())

    def _live(self) -> list[torch.Tensor]:
        """The module's current tensors for ``names`` (they share storage with the parameters)."""
        state = self.module.state_dict()
        return [state[k] for k in self.names]

    @torch.no_grad()
    def update(self) -> None:
        """Fold the module's current weights into the average (after an optimizer step)."""
        self.updates += 1
        weight = 1.0 - warmed_decay(self.decay, self.updates)
        torch._foreach_lerp_(self.shadow, self._live(), weight)  # shadow: clones of these, same dtypes

    def state(self) -> dict[str, torch.Tensor]:
        """The module's state dict with the averaged tensors in place of the trained ones (copies on the CPU)."""
        state = averaged_weights(self.module.state_dict(), {"shadow": dict(zip(self.names, self.shadow))})
        return {k: v.detach().cpu().clone() for k, v in state.items()}

    @contextlib.contextmanager
    def swapped(self) -> Iterator[None]:
        """Run the block with the averaged weights in the module; the trained ones come back after."""
        live = self._live()
        kept = [v.detach().clone() for v in live]
        with torch.no_grad():
            torch._foreach_copy_(live, self.shadow)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(live, kept)

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates,
                "shadow": {k: v.detach().cpu() for k, v in zip(self.names, self.shadow)}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`; a table that does not fit the module raises a ValueError."""
        shadow = state.get("shadow") if isinstance(state, dict) else None
        updates = state.get("updates") if isinstance(state, dict) else None
        if not isinstance(shadow, dict) or isinstance(updates, bool) or not isinstance(updates, int) or updates < 0:
            raise ValueError("the weight average must be a table with 'updates' (an integer >= 0) and "
                                  f"'shadow' (name -> tensor); got {type(state).__name__}")
        if sorted(shadow) != sorted(self.names):
            missing, extra = sorted(set(self.names) - set(shadow)), sorted(set(shadow) - set(self.names))
            raise ValueError(f"the weight average does not fit the model: missing {missing[:3]}, "
                                  f"unexpected {extra[:3]}")
        for name, mine in zip(self.names, self.shadow):
            theirs = shadow[name]
            if not isinstance(theirs, torch.Tensor) or theirs.shape != mine.shape:
                got = tuple(theirs.shape) if isinstance(theirs, torch.Tensor) else type(theirs).__name__
                raise ValueError(f"the weight average's {name} must have shape {tuple(mine.shape)}; got {got}")
        with torch.no_grad():
            for name, mine in zip(self.names, self.shadow):
                mine.copy_(shadow[name])
        self.updates = updates


def averaged_weights(model_state: dict[str, torch.Tensor], average: Any) -> dict[str, torch.Tensor]:
    """``model_state`` (a checkpoint's training weights) with the averaged tensors of ``average``
    (a :meth:`WeightEMA.state_dict` read back) in place: the weights that run would have saved."""
    shadow = average.get("shadow") if isinstance(average, dict) else None
    if not isinstance(shadow, dict) or not set(shadow) <= set(model_state):
        raise ValueError("the weight average must be a table with 'shadow' naming entries of the model's weights")
    return {k: shadow.get(k, v) for k, v in model_state.items()}
