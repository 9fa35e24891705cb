"""Per-step states and gradients recorded by the unrolled path.

``Recurrent.trace(x)`` returns a :class:`Trace`. After ``loss.backward()``,
:meth:`Trace.hidden_grads` gives dL/dh_t for every step — the quantity whose norm
per time step shows vanishing or exploding gradients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from rnnkit.nn.sequence import reverse_time


@dataclass
class Trace:
    """What one unrolled forward pass recorded.

    ``output`` and ``state`` are what ``forward`` returns. Per-step lists are indexed
    ``[layer * num_directions + direction][s]`` in *processing* order ``s``; the
    accessors below put them back in input time order as ``(B, T, H)`` tensors.
    """

    output: Tensor
    state: Tensor | tuple[Tensor, Tensor]
    num_directions: int
    reverse_index: Tensor | None
    h_steps: list[list[Tensor]] = field(default_factory=list)
    c_steps: list[list[Tensor]] = field(default_factory=list)

    def _in_time_order(self, k: int, steps: list[Tensor]) -> Tensor:
        seq = torch.stack(steps, dim=1)  # (B, T, H) in processing order
        if k % self.num_directions == 1:  # the reverse direction ran back to front
            seq = reverse_time(seq, self.reverse_index)
        return seq

    def hidden(self, k: int) -> Tensor:
        """h_t of layer/direction ``k`` for every step, ``(B, T, H)``; padded steps carry the last real state."""
        return self._in_time_order(k, self.h_steps[k]).detach()

    def cell(self, k: int) -> Tensor:
        """c_t of layer/direction ``k`` for every step (LSTM only), ``(B, T, H)``."""
        if not self.c_steps:
            raise ValueError("cell states exist only for cell='lstm'")
        return self._in_time_order(k, self.c_steps[k]).detach()

    def hidden_grads(self, k: int) -> Tensor:
        """Total dL/dh_t (through the output and the next step) for layer/direction ``k``, ``(B, T, H)``.

        Call after ``backward()``; steps that did not reach the loss have zero gradient.
        """
        grads = [torch.zeros_like(h) if h.grad is None else h.grad for h in self.h_steps[k]]
        return self._in_time_order(k, grads)

    def grad_norms(self, k: int | None = None) -> Tensor:
        """``||dL/dh_t||`` averaged over the batch, ``(T,)``; ``k`` defaults to the last layer's forward direction."""
        if k is None:
            k = len(self.h_steps) - self.num_directions
        return self.hidden_grads(k).norm(dim=-1).mean(dim=0)
