"""The fused path: torch's cuDNN (GPU) and oneDNN/native (CPU) multi-layer kernels.

It calls the same ops ``torch.nn.LSTM/GRU/RNN`` call, with the same flat weight
list, so it costs what they cost. Variable lengths go through a packed sequence on
GPU (the kernels then stop each sequence at its own last step in both directions) and
through :mod:`rnnkit.nn.segments` on CPU, where torch's packed kernels are slow.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from rnnkit.nn.segments import run_segmented

_OPS = {"lstm": torch.lstm, "gru": torch.gru, "rnn_tanh": torch.rnn_tanh, "rnn_relu": torch.rnn_relu}


def fused_op_name(cell: str, nonlinearity: str) -> str:
    return f"rnn_{nonlinearity}" if cell == "rnn" else cell


def _permute(hx, index: Tensor):
    if isinstance(hx, tuple):
        return tuple(h.index_select(1, index) for h in hx)
    return hx.index_select(1, index)


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The reduced dtype autocast runs matmuls in on ``device_type``, or None when autocast is off."""
    if not torch.is_autocast_enabled(device_type):
        return None
    return torch.get_autocast_dtype(device_type)


def _cast_state(hx, dtype: torch.dtype):
    return tuple(h.to(dtype) for h in hx) if isinstance(hx, tuple) else hx.to(dtype)


def run_fused(rec, x: Tensor, hx, lengths: Tensor | None):
    """Run ``rec`` over ``x`` (B, T, D) with the fused kernels → ``(output, state)``.

    Under CPU autocast the kernels run in the autocast dtype. oneDNN's RNN primitives
    need input, ``h0`` and weights of one dtype (``c0`` may stay float32): a mix of float32
    and bfloat16 is what raises "could not create a primitive descriptor". Under bf16
    autocast torch casts all of them (``mkldnn_rnn_layer`` is on autocast's list), so
    LSTM and RNN run in bf16 as they are. ``torch.gru`` is on no autocast list and would
    silently run in float32, so it is cast here explicitly. Only float16 LSTM has no
    oneDNN primitive on CPU at all; that one case runs in float32.
    """
    amp = autocast_dtype("cpu") if x.device.type == "cpu" else None
    if amp == torch.bfloat16 and rec.cell == "gru":
        with torch.autocast("cpu", enabled=False):
            weights = [w.to(amp) for w in rec.flat_weights()]
            return _run(rec, x.to(amp), _cast_state(hx, amp), lengths, weights)
    if amp is not None and amp != torch.bfloat16 and rec.cell == "lstm":
        with torch.autocast("cpu", enabled=False):  # no float16 LSTM primitive in oneDNN on CPU
            return _run(rec, x.float(), _cast_state(hx, torch.float32), lengths)
    return _run(rec, x, hx, lengths)


def _run(rec, x: Tensor, hx, lengths: Tensor | None, weights: list[Tensor] | None = None):
    op = _OPS[fused_op_name(rec.cell, rec.nonlinearity)]
    weights = rec.flat_weights() if weights is None else weights
    kernel_hx = list(hx) if isinstance(hx, tuple) else hx
    common = (rec.bias, rec.num_layers, rec.dropout, rec.training, rec.bidirectional)
    if lengths is None:
        result = op(x, kernel_hx, weights, *common, True)
        output = result[0]
    elif x.device.type == "cpu":
        return run_segmented(op, rec, x, hx, lengths, weights)
    else:
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        sorted_hx = _permute(hx, packed.sorted_indices)
        kernel_hx = list(sorted_hx) if isinstance(sorted_hx, tuple) else sorted_hx
        result = op(packed.data, packed.batch_sizes, kernel_hx, weights, *common)
        out_packed = PackedSequence(result[0], packed.batch_sizes, packed.sorted_indices, packed.unsorted_indices)
        output, _ = pad_packed_sequence(out_packed, batch_first=True, total_length=x.shape[1])
    state = (result[1], result[2]) if rec.cell == "lstm" else result[1]
    if lengths is not None:
        state = _permute(state, packed.unsorted_indices)
    return output, state
