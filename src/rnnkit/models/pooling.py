"""Pooling a sequence of encoder outputs (B, T, F) into one vector per sequence.

Every pooling respects ``lengths``: steps ``t >= lengths[b]`` never reach the
result, so a padded batch pools each sequence exactly as it would alone.

=========  ==========================================================  ============
name       result                                                      output size
=========  ==========================================================  ============
last       forward direction at the last real step (+ reverse at t=0)  F
mean       mean over the real steps                                    F
max        element-wise max over the real steps                        F
attention  Σ_t a_t h_t, a = softmax_t(v · tanh(W h_t)) over real steps  F
flatten    all ``max_len`` steps concatenated (padding is zero)         max_len * F
=========  ==========================================================  ============

For streaming (unidirectional encoders), :meth:`Pooling.stream` folds one chunk of
outputs into a running state and returns the pooled prefix, equal to
:meth:`Pooling.forward` over everything seen so far.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.sequence import length_mask

__all__ = [
    "POOLINGS",
    "Pooling",
    "LastPooling",
    "MeanPooling",
    "MaxPooling",
    "AttentionPooling",
    "FlattenPooling",
    "make_pooling",
]


class Pooling(nn.Module):
    """Base class. ``forward(outputs (B, T, F), lengths (B,)) -> (pooled (B, P), weights (B, T) | None)``."""

    name = ""

    def __init__(self, input_size: int, num_directions: int = 1) -> None:
        super().__init__()
        self.input_size = input_size
        self.num_directions = num_directions

    @property
    def output_size(self) -> int:
        return self.input_size

    def forward(self, outputs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor | None]:
        raise NotImplementedError

    def stream(self, outputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        """Fold a chunk (B, Tc, F) into ``state`` (None at the start); returns (pooled prefix, state)."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}"


class LastPooling(Pooling):
    name = "last"

    def forward(self, outputs: Tensor, lengths: Tensor) -> tuple[Tensor, None]:
        H = self.input_size // self.num_directions
        index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, H)
        forward_last = outputs[..., :H].gather(1, index).squeeze(1)  # (B, H)
        if self.num_directions == 1:
            return forward_last, None
        # The reverse direction has read the whole sequence when it reaches t = 0.
        return torch.cat([forward_last, outputs[:, 0, H:]], dim=-1), None

    def stream(self, outputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        return outputs[:, -1], None


class MeanPooling(Pooling):
    name = "mean"

    def forward(self, outputs: Tensor, lengths: Tensor) -> tuple[Tensor, None]:
        # Recurrent zeroes padded outputs, but pooling must not rely on its caller.
        mask = length_mask(lengths, outputs.shape[1]).unsqueeze(-1).to(outputs.dtype)
        return (outputs * mask).sum(1) / lengths.to(outputs.dtype).unsqueeze(1), None

    def stream(self, outputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        total, count = (outputs.new_zeros(outputs.shape[0], outputs.shape[2]), 0) if state is None else state
        total, count = total + outputs.sum(1), count + outputs.shape[1]
        return total / count, (total, count)


class MaxPooling(Pooling):
    name = "max"

    def forward(self, outputs: Tensor, lengths: Tensor) -> tuple[Tensor, None]:
        mask = length_mask(lengths, outputs.shape[1]).unsqueeze(-1)
        return outputs.masked_fill(~mask, float("-inf")).amax(dim=1), None

    def stream(self, outputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        best = outputs.amax(dim=1)
        if state is not None:
            best = torch.maximum(state, best)
        return best, best


class AttentionPooling(Pooling):
    """Self-attentive pooling: ``a = softmax_t(v · tanh(W h_t + b))`` over real steps, result ``Σ a_t h_t``."""

    name = "attention"

    def __init__(self, input_size: int, num_directions: int = 1, attention_size: int | None = None) -> None:
        super().__init__(input_size, num_directions)
        self.attention_size = attention_size or input_size
        self.proj = nn.Linear(input_size, self.attention_size)
        self.v = nn.Linear(self.attention_size, 1, bias=False)

    def scores(self, outputs: Tensor) -> Tensor:
        return self.v(torch.tanh(self.proj(outputs))).squeeze(-1)  # (B, T)

    def forward(self, outputs: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        mask = length_mask(lengths, outputs.shape[1])
        weights = torch.softmax(self.scores(outputs).masked_fill(~mask, float("-inf")), dim=-1)
        return torch.bmm(weights.unsqueeze(1), outputs).squeeze(1), weights

    def stream(self, outputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        # A running softmax: keep the max score m, the normaliser z = Σ exp(s - m) and
        # the weighted sum acc = Σ exp(s - m) h, rescaling both when m grows.
        s = self.scores(outputs)  # (B, Tc)
        m_new = s.amax(dim=1)
        if state is not None:
            m, z, acc = state
            m_new = torch.maximum(m, m_new)
            scale = torch.exp(m - m_new)
            z, acc = z * scale, acc * scale.unsqueeze(1)
        else:
            z, acc = s.new_zeros(s.shape[0]), outputs.new_zeros(outputs.shape[0], outputs.shape[2])
        e = torch.exp(s - m_new.unsqueeze(1))
        z = z + e.sum(1)
        acc = acc + torch.bmm(e.unsqueeze(1), outputs).squeeze(1)
        return acc / z.unsqueeze(1), (m_new, z, acc)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", attention_size={self.attention_size}"


class FlattenPooling(Pooling):
    """All steps concatenated into one vector of ``max_len * F``; shorter inputs are zero-padded."""

    name = "flatten"

    def __init__(self, input_size: int, num_directions: int = 1, max_len: int = 1) -> None:
        super().__init__(input_size, num_directions)
        self.max_len = max_len

    @property
    def output_size(self) -> int:
        return self.max_len * self.input_size

    def forward(self, outputs: Tensor, lengths: Tensor) -> tuple[Tensor, None]:
        B, T, F = outputs.shape
        if T > self.max_len:
            raise ShapeError(f"flatten pooling takes at most max_len={self.max_len} steps; got T={T}")
        mask = length_mask(lengths, T).unsqueeze(-1).to(outputs.dtype)
        padded = outputs.new_zeros(B, self.max_len, F)
        padded[:, :T] = outputs * mask
        return padded.reshape(B, self.max_len * F), None

    def stream(self, outputs: Tensor, state: Any) -> tuple[Tensor, Any]:
        raise ConfigError("pooling='flatten' cannot stream: it needs all max_len steps; use last, mean, max or attention")

    def extra_repr(self) -> str:
        return super().extra_repr() + f", max_len={self.max_len}"


POOLINGS = ("last", "mean", "max", "attention", "flatten")


def make_pooling(
    name: str,
    input_size: int,
    num_directions: int = 1,
    max_len: int | None = None,
    attention_size: int | None = None,
) -> Pooling:
    """Build the pooling called ``name`` (see the module table)."""
    if name == "last":
        return LastPooling(input_size, num_directions)
    if name == "mean":
        return MeanPooling(input_size, num_directions)
    if name == "max":
        return MaxPooling(input_size, num_directions)
    if name == "attention":
        return AttentionPooling(input_size, num_directions, attention_size)
    if name == "flatten":
        if max_len is None:
            raise ConfigError("pooling='flatten' needs max_len (the fixed number of steps T); got None")
        return FlattenPooling(input_size, num_directions, max_len)
    raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}; got {name!r}")
