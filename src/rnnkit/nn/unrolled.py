"""The unrolled path: the cells in a Python loop over time.

This *is* the loop the fused kernels are equivalent to, written out so a reader can
follow it and so it can do what the kernels cannot: variational recurrent dropout
and recording every step's state and gradient (:class:`~rnnkit.nn.trace.Trace`).

Per layer and direction the input projection ``x W_ih^T + b_ih`` is one GEMM over all
steps; only ``h W_hh^T`` runs per step, as in cuDNN. Variable lengths are handled by
masking (a padded step keeps the previous state and outputs zeros) and, for the
reverse direction, by reversing each sequence within its own length so it starts at
the sequence's own last step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.nn import functional as F

from rnnkit.nn.gru_cell import gru_step
from rnnkit.nn.lstm_cell import lstm_step
from rnnkit.nn.rnn_cell import rnn_step
from rnnkit.nn.sequence import length_mask, reverse_index, reverse_time
from rnnkit.nn.trace import Trace


def _step_fn(cell: str, nonlinearity: str) -> Callable:
    if cell == "lstm":
        return lstm_step
    if cell == "gru":
        return gru_step
    return lambda x_proj, h, w_hh, b_hh, h_mask=None: rnn_step(x_proj, h, w_hh, b_hh, nonlinearity, h_mask)


def _run_direction(
    step: Callable,
    x: Tensor,
    state,
    weights: tuple[Tensor, Tensor, Tensor | None, Tensor | None],
    mask: Tensor | None,
    h_mask: Tensor | None,
    record: tuple[list[Tensor], list[Tensor]] | None,
):
    """One layer, one direction over ``x`` (B, T, D) → (outputs (B, T, H), final state)."""
    w_ih, w_hh, b_ih, b_hh = weights
    x_proj = F.linear(x, w_ih, b_ih)  # (B, T, G*H): every step's input projection in one GEMM
    outputs = []
    for t in range(x.shape[1]):
        h_t, new_state = step(x_proj[:, t], state, w_hh, b_hh, h_mask=h_mask)
        if mask is not None:  # padded step: keep the old state, output zeros
            m = mask[:, t].unsqueeze(1)  # (B, 1)
            if isinstance(new_state, tuple):
                new_state = tuple(torch.where(m, new, old) for new, old in zip(new_state, state))
            else:
                new_state = torch.where(m, new_state, state)
            # output from the carried state (equal to h_t * m) so that a recorded step
            # receives both its gradients: through the output and through the next step
            h_t = (new_state[0] if isinstance(new_state, tuple) else new_state) * m
        state = new_state
        if record is not None:
            h_carried = state[0] if isinstance(state, tuple) else state
            if h_carried.requires_grad:
                h_carried.retain_grad()  # dL/dh_t for the vanishing-gradient picture
            record[0].append(h_carried)
            if isinstance(state, tuple):
                record[1].append(state[1])
        outputs.append(h_t)
    return torch.stack(outputs, dim=1), state


def run_unrolled(rec, x: Tensor, hx, lengths: Tensor | None, record: bool = False):
    """Run ``rec`` (a :class:`~rnnkit.nn.recurrent.Recurrent`) over ``x`` (B, T, D).

    ``hx`` is ``h0`` (L*dirs, B, H), or ``(h0, c0)`` for LSTM. Returns ``(output, state)``,
    or a :class:`Trace` when ``record`` is true.
    """
    B, T, _ = x.shape
    lstm = rec.cell == "lstm"
    h0, c0 = hx if lstm else (hx, None)
    step = _step_fn(rec.cell, rec.nonlinearity)
    mask = None if lengths is None else length_mask(lengths, T)
    rev = None if lengths is None else reverse_index(lengths, T)
    drop_h = rec.training and rec.recurrent_dropout > 0
    trace_h: list[list[Tensor]] = []
    trace_c: list[list[Tensor]] = []
    h_n, c_n = [], []
    layer_input = x
    for layer in range(rec.num_layers):
        outs = []
        for d in range(rec.num_directions):
            k = layer * rec.num_directions + d
            inp = layer_input if d == 0 else reverse_time(layer_input, rev)
            state = (h0[k], c0[k]) if lstm else h0[k]
            h_mask = None
            if drop_h:  # one mask per sequence for all steps (Gal & Ghahramani 2016)
                keep = 1.0 - rec.recurrent_dropout
                h_mask = torch.bernoulli(h0.new_full((B, rec.hidden_size), keep)) / keep
            rec_lists = ([], []) if record else None
            out, state = _run_direction(step, inp, state, rec.layer_weights(layer, d), mask, h_mask, rec_lists)
            if record:
                trace_h.append(rec_lists[0])
                trace_c.append(rec_lists[1])
            outs.append(out if d == 0 else reverse_time(out, rev))
            h_n.append(state[0] if lstm else state)
            if lstm:
                c_n.append(state[1])
        layer_input = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
        if layer < rec.num_layers - 1 and rec.dropout > 0:
            layer_input = F.dropout(layer_input, rec.dropout, rec.training)
    final = (torch.stack(h_n), torch.stack(c_n)) if lstm else torch.stack(h_n)
    if not record:
        return layer_input, final
    return Trace(layer_input, final, rec.num_directions, rev, trace_h, trace_c if lstm else [])
