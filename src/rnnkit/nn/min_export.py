"""The export-safe path of :class:`~rnnkit.nn.min_rnn.MinRecurrent` (minGRU / minLSTM): what runs
while ``torch.onnx.export`` or ``torch.jit.trace`` captures a graph, or with
``MinRecurrent.export_safe = True`` in eager mode.

Each layer is the linear recurrence ``h_t = a_t h_{t-1} + b_t`` with ``a_t``, ``b_t`` computed
from ``x_t`` alone (the gate math of :mod:`rnnkit.nn.min_rnn`, plain elementwise ops in the
graph). Only the recurrence itself needs a loop over a dynamic number of steps; it is one
custom op, ``rnnkit::min_scan(a, b, h0) -> h`` (a, b (B, T, H), h0 (B, H), h (B, T, H)):

* eager kernel: :func:`rnnkit.nn.min_rnn.blocked_scan` (no gradient: export runs under no_grad);
* ONNX: one ``Scan`` node whose body is ``h = a_t * h + b_t``
  (:func:`rnnkit.export.onnx_ops.min_scan`), so the graph takes any T;
* ``torch.jit.trace``: the TorchScript step loop :func:`_scan_loop` (scripted, so T stays dynamic).

A graph whose time axis is fixed at one step (the streaming ``step`` graphs) needs no loop: the
step is written out as ``a * h0 + b``.

Lengths are honoured inside the graph without sorting or host syncs: at padded steps the keep
gate is set to 1 and the write to 0, so the state is carried unchanged to the last step (the
final state is each sequence's own last real state) and the output is zeroed there afterwards.
The reverse direction reads each sequence reversed within its own length (the index of
:func:`rnnkit.nn.sequence.reverse_index`), so its padding also sits at the end. A padded batch
equals each sequence run alone, as on the training paths (tested in float64).
"""

from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn.validation import check_input, check_lengths, check_state

__all__ = ["capturing", "run_export_safe", "min_scan"]


def capturing() -> bool:
    """True while an ONNX export, ``torch.export`` or ``torch.jit`` trace/script captures a graph.
    (Not under ``torch.compile``: a compiled training step keeps the differentiable scan.)"""
    return bool(torch.onnx.is_in_onnx_export() or torch.jit.is_tracing() or torch.jit.is_scripting()
                or torch.compiler.is_exporting())


@torch.library.custom_op("rnnkit::min_scan", mutates_args=())
def min_scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` over a, b (B, T, H) from h0 (B, H) -> h (B, T, H)."""
    from rnnkit.nn.min_rnn import blocked_scan

    return blocked_scan(a.contiguous(), b.contiguous(), h0.contiguous()).contiguous()


@min_scan.register_fake
def _(a, b, h0):
    return torch.empty_like(a)


def _scan_loop(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """:func:`min_scan` as a step loop (scripted for ``torch.jit.trace``)."""
    h = h0
    steps: List[Tensor] = []
    for t in range(a.shape[1]):
        h = a[:, t] * h + b[:, t]
        steps.append(h)
    return torch.stack(steps, 1)


def _steps_of(x: Tensor) -> Tensor:
    """``arange(T)`` for x (B, T, ...) (scripted for ``torch.jit.trace``: T stays dynamic)."""
    return torch.arange(x.shape[1], device=x.device)


_SCRIPTED: dict = {}


def _scripted(fn):
    if fn.__name__ not in _SCRIPTED:
        _SCRIPTED[fn.__name__] = torch.jit.script(fn)
    return _SCRIPTED[fn.__name__]


def _scan(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    if torch.jit.is_tracing():
        return _scripted(_scan_loop)(a, b, h0)
    T = a.shape[1]
    if isinstance(T, int) and T == 1 and (torch.onnx.is_in_onnx_export() or torch.compiler.is_exporting()):
        return (a[:, 0] * h0 + b[:, 0]).unsqueeze(1)  # a graph fixed at one step: no loop
    return torch.ops.rnnkit.min_scan(a, b, h0)


def _layer(rec, x: Tensor, h0: Tensor, layer: int, direction: int, live: Tensor | None) -> tuple[Tensor, Tensor]:
    from rnnkit.nn.min_rnn import MIN_GATES, _coefficients, _keep_logit

    H = rec.hidden_size
    weight, bias = rec.layer_weights(layer, direction)
    gates = tuple(F.linear(x, weight[i * H:(i + 1) * H], bias[i * H:(i + 1) * H]) for i in range(MIN_GATES[rec.cell]))
    a, b, _ = _coefficients(_keep_logit(rec.cell, gates), gates[-1])
    if live is not None:  # padded steps carry the state: keep 1, write 0
        a = torch.where(live, a, torch.ones_like(a))
        b = torch.where(live, b, torch.zeros_like(b))
    hs = _scan(a, b, h0.to(a.dtype))
    last = hs[:, -1]
    if live is not None:
        hs = torch.where(live, hs, torch.zeros_like(hs))
    return hs, last


def run_export_safe(rec, x: Tensor, state: Tensor | None, lengths) -> tuple[Tensor, Tensor]:
    """``rec`` (a :class:`~rnnkit.nn.min_rnn.MinRecurrent`) over ``x`` with the export-safe ops:
    ``(output, h_n)`` as :meth:`MinRecurrent.forward` returns them. In eager mode
    (``export_safe = True``) the inputs are checked as there; while a graph is captured only
    shapes are used (no ``.item()``, no host sync)."""
    if not capturing():
        check_input(x if rec.batch_first or not isinstance(x, Tensor) or x.dim() != 3 else x.transpose(0, 1),
                    rec.input_size, rec.weight_l0.dtype)
    if not rec.batch_first:
        x = x.transpose(0, 1)
    B = x.shape[0]
    expected = (rec.num_layers * rec.num_directions, B, rec.hidden_size)
    if lengths is not None:
        if not capturing():
            lengths = check_lengths(lengths, B, x.shape[1], x.device)
        lengths = torch.as_tensor(lengths, device=x.device).to(torch.int64)
    if state is None:
        state = x.new_zeros(expected)
    elif not capturing():
        check_state(state, expected, False, x)
    live = rev = None
    if lengths is not None:
        steps = (_scripted(_steps_of) if torch.jit.is_tracing() else _steps_of)(x).unsqueeze(0)  # (1, T)
        lens = lengths.unsqueeze(1)
        live2 = steps < lens  # (B, T)
        x = torch.where(live2.unsqueeze(-1), x, torch.zeros_like(x))  # padding content never reaches a number
        live = live2.unsqueeze(-1)
        if rec.bidirectional:
            rev = torch.where(live2, lens - 1 - steps, steps)  # rnnkit.nn.sequence.reverse_index
    return rec.run_stack(x, state, rev, lambda inp, h0, layer, d: _layer(rec, inp, h0, layer, d, live))
