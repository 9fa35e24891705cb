"""Boundary checks of :class:`~rnnkit.nn.recurrent.Recurrent`: done once per call, so
the paths behind them can trust their inputs. Messages name the argument, what was
expected and what was received."""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import ShapeError

_INT_DTYPES = (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)


def check_input(x, input_size: int, param_dtype: torch.dtype) -> None:
    if not isinstance(x, Tensor):
        raise ShapeError(f"x must be a torch.Tensor of shape (B, T, {input_size}); got {type(x).__name__}")
    if x.dim() != 3:
        hint = " (for one sequence use x.unsqueeze(0))" if x.dim() == 2 else ""
        raise ShapeError(f"x must be 3-D (B, T, D) with D=input_size={input_size}; got shape {tuple(x.shape)}{hint}")
    if x.shape[-1] != input_size:
        raise ShapeError(
            f"x must have shape (B, T, {input_size}) because input_size={input_size}; got {tuple(x.shape)}"
        )
    if not x.is_floating_point():
        raise ShapeError(
            f"x must be a floating-point tensor ({param_dtype}); got dtype {x.dtype} "
            "(token ids go through an embedding first)"
        )
    if x.dtype != param_dtype and not torch.is_autocast_enabled(x.device.type):
        raise ShapeError(
            f"x has dtype {x.dtype} but the layer's parameters are {param_dtype}; "
            f"convert one of them (x.to({param_dtype}) or layer.to({x.dtype}))"
        )
    if x.shape[0] == 0:
        raise ShapeError(f"x has an empty batch: shape {tuple(x.shape)}; B must be at least 1")
    if x.shape[1] == 0:
        raise ShapeError(f"x has zero time steps: shape {tuple(x.shape)}; every sequence needs T >= 1")


def check_lengths(lengths, batch: int, steps: int, device: torch.device) -> Tensor:
    """Returns ``lengths`` as an int64 tensor (B,) after checking it; lists are accepted."""
    if not isinstance(lengths, Tensor):
        try:
            lengths = torch.as_tensor(lengths)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ShapeError(f"lengths must be a sequence of {batch} ints; got {lengths!r}") from exc
    if lengths.dtype not in _INT_DTYPES:
        raise ShapeError(f"lengths must hold integers; got dtype {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ShapeError(f"lengths must have shape (B,) = ({batch},) to match x; got {tuple(lengths.shape)}")
    low, high = int(lengths.min()), int(lengths.max())
    if low < 1 or high > steps:
        bad = int(torch.nonzero((lengths < 1) | (lengths > steps))[0, 0])
        raise ShapeError(
            f"lengths must be in [1, T={steps}] (zero-length sequences are not allowed); "
            f"got {int(lengths[bad])} at index {bad}"
        )
    return lengths.to(device=device, dtype=torch.int64)


def check_state(state, expected: tuple[int, int, int], is_lstm: bool, like: Tensor) -> None:
    shape_text = f"(num_layers*num_directions, B, H) = {expected}"
    if is_lstm:
        if not (isinstance(state, (tuple, list)) and len(state) == 2):
            raise ShapeError(f"state for cell='lstm' must be a pair (h0, c0), each {shape_text}; got {type(state).__name__}")
        parts = (("state[0] (h0)", state[0]), ("state[1] (c0)", state[1]))
    else:
        if not isinstance(state, Tensor):
            raise ShapeError(f"state must be a tensor {shape_text}; got {type(state).__name__}")
        parts = (("state", state),)
    for name, s in parts:
        if not isinstance(s, Tensor) or tuple(s.shape) != expected:
            got = tuple(s.shape) if isinstance(s, Tensor) else type(s).__name__
            raise ShapeError(f"{name} must have shape {shape_text}; got {got}")
        if s.dtype != like.dtype or s.device != like.device:
            raise ShapeError(
                f"{name} must have x's dtype and device ({like.dtype}, {like.device}); got ({s.dtype}, {s.device})"
            )
