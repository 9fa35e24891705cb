"""Time-axis helpers shared by the recurrent paths: masks and per-sequence reversal."""

from __future__ import annotations

import torch
from torch import Tensor


def length_mask(lengths: Tensor, max_len: int) -> Tensor:
    """``(B, T)`` bool mask, True at the real steps ``t < lengths[b]``."""
    steps = torch.arange(max_len, device=lengths.device)
    return steps.unsqueeze(0) < lengths.unsqueeze(1)


def reverse_index(lengths: Tensor, max_len: int) -> Tensor:
    """``(B, T)`` index that reverses each sequence within its own length.

    ``idx[b, t] = lengths[b] - 1 - t`` for real steps, ``t`` for padding; applying it
    twice is the identity, so the same index maps a reversed sequence back.
    """
    steps = torch.arange(max_len, device=lengths.device).unsqueeze(0)  # (1, T)
    lens = lengths.unsqueeze(1)  # (B, 1)
    return torch.where(steps < lens, lens - 1 - steps, steps)


def reverse_time(x: Tensor, index: Tensor | None) -> Tensor:
    """Reverse ``x`` (B, T, ...) along time, per sequence when ``index`` (from
    :func:`reverse_index`) is given, else the whole axis."""
    if index is None:
        return x.flip(1)
    gather_index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, gather_index)
