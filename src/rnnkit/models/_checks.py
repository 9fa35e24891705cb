"""Boundary checks shared by the models: token ids, dense features, lengths."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import ShapeError
from rnnkit.nn.validation import check_lengths

__all__ = ["check_ids", "check_features", "check_lengths", "full_lengths"]


def check_ids(ids: Tensor, vocab_size: int, name: str = "ids", dims: int = 2) -> None:
    """``ids`` must be an integer tensor with ``dims`` dimensions and values in [0, vocab_size)."""
    layout = {1: "(B,)", 2: "(B, T)", 3: "(B, T, W)"}[dims]
    if not isinstance(ids, Tensor) or ids.dim() != dims:
        got = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
        raise ShapeError(f"{name} must be a {layout} integer tensor of token ids; got {got}")
    if ids.is_floating_point() or ids.dtype == torch.bool:
        raise ShapeError(f"{name} must hold integer token ids; got dtype {ids.dtype}")
    if ids.numel() == 0:
        raise ShapeError(f"{name} must not be empty; got shape {tuple(ids.shape)}")
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or high >= vocab_size:
        bad = low if low < 0 else high
        raise ShapeError(f"{name} must lie in [0, {vocab_size}) because vocab_size={vocab_size}; got {bad}")


def check_features(x: Tensor, size: int, name: str = "x", dims: int = 3) -> None:
    """``x`` must be a float tensor (B, T, size) (or (B, size) when dims=2)."""
    layout = f"(B, T, {size})" if dims == 3 else f"(B, {size})"
    if not isinstance(x, Tensor) or x.dim() != dims or x.shape[-1] != size:
        got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ShapeError(f"{name} must have shape {layout} because input_size={size}; got {got}")
    if not x.is_floating_point():
        raise ShapeError(f"{name} must be a floating-point tensor; got dtype {x.dtype}")


def full_lengths(lengths: Tensor | None, batch: int, steps: int, device: torch.device) -> Tensor:
    """Checked ``lengths`` as int64 on ``device``; every sequence full when None."""
    if lengths is None:
        return torch.full((batch,), steps, dtype=torch.long, device=device)
    return check_lengths(lengths, batch, steps, device)
