"""Variable lengths on the fused kernels without packing: the time axis cut at each distinct length.

torch's packed CPU kernels step through time one batch-size change at a time and are
several times slower than the padded oneDNN kernels (``benchmarks/lengths_speed.py``).
Here the batch is sorted by length (longest first) and the time axis is cut at every
distinct length. Within a segment every active sequence is real, so one padded fused
call runs it exactly; the sequences that end at a segment's last step hand over their
final state there and drop out, and the rest carry their state into the next segment.
A bucketed batch has few distinct lengths, so this costs about what the padded kernel
costs. Results equal the packed kernel's (and each sequence run alone) to rounding.

A bidirectional stack runs layer by layer: the reverse direction reads each sequence
reversed within its own length, so it too starts at step 0 with its padding at the end.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.nn.sequence import reverse_index, reverse_time


def _split_state(hx, start: int, stop: int):
    if isinstance(hx, list):
        return [h[:, start:stop] for h in hx]
    return hx[:, start:stop]


def _split_layer(hx, k: int):
    """Layer-direction ``k``'s initial state, kept 3-D (1, B, H)."""
    if isinstance(hx, list):
        return [h[k:k + 1] for h in hx]
    return hx[k:k + 1]


def _cat_state(pieces: list, dim: int = 1):
    if isinstance(pieces[0], (list, tuple)):
        return [torch.cat([p[i] for p in pieces], dim) for i in range(len(pieces[0]))]
    return torch.cat(pieces, dim)


def _segments(sorted_lengths: list[int]) -> list[tuple[int, int, int]]:
    """``(start, stop, active)`` per segment for lengths sorted longest first: steps
    ``[start, stop)`` run the first ``active`` sequences, and those of them with length
    ``stop`` end there."""
    segments, start = [], 0
    for stop in sorted(set(sorted_lengths)):
        active = sum(1 for n in sorted_lengths if n >= stop)
        segments.append((start, stop, active))
        start = stop
    return segments


def _run_stack(op, x: Tensor, hx, weights: list[Tensor], segments, common: tuple, total_len: int):
    """One unidirectional stack over sorted ``x`` (B, T, D) → output (B, total_len, H), final state."""
    B = x.shape[0]
    outputs: list[Tensor] = []
    finished: list = []  # final states of the sequences that ended, shortest first
    state = hx
    for i, (start, stop, active) in enumerate(segments):
        state = _split_state(state, 0, active)
        result = op(x[:active, start:stop], state, weights, *common, False, True)
        out = result[0]
        if active < B:
            out = F.pad(out, (0, 0, 0, 0, 0, B - active))
        outputs.append(out)
        state = [result[1], result[2]] if isinstance(hx, list) else result[1]
        still_running = segments[i + 1][2] if i + 1 < len(segments) else 0
        finished.append(_split_state(state, still_running, active))
    output = torch.cat(outputs, 1)
    if output.shape[1] < total_len:
        output = F.pad(output, (0, 0, 0, total_len - output.shape[1]))
    return output, _cat_state(finished[::-1])


def run_segmented(op, rec, x: Tensor, hx, lengths: Tensor, weights: list[Tensor]):
    """The fused kernel ``op`` over ``x`` (B, T, D) with ``lengths``; returns ``(output, state)``
    as the packed kernel would: output zero past each length, state at each sequence's last step."""
    lengths = lengths.to(x.device)
    order = torch.argsort(lengths, descending=True, stable=True)
    unorder = torch.empty_like(order)
    unorder[order] = torch.arange(order.numel(), device=order.device)
    sorted_lengths = lengths.index_select(0, order)
    segments = _segments(sorted_lengths.tolist())
    xs = x.index_select(0, order)
    hxs = [h.index_select(1, order) for h in hx] if isinstance(hx, tuple) else hx.index_select(1, order)
    T = x.shape[1]
    per_layer = 4 if rec.bias else 2
    if not rec.bidirectional:
        common = (rec.bias, rec.num_layers, rec.dropout, rec.training)
        output, state = _run_stack(op, xs, hxs, weights, segments, common, T)
    else:
        rev = reverse_index(sorted_lengths, T)
        finals: list = []
        layer_in = xs
        for layer in range(rec.num_layers):
            outs = []
            for d in range(2):
                k = 2 * layer + d
                w = weights[k * per_layer:(k + 1) * per_layer]
                h0 = _split_layer(hxs, k)
                seq = layer_in if d == 0 else reverse_time(layer_in, rev)
                out, fin = _run_stack(op, seq, h0, w, segments, (rec.bias, 1, 0.0, rec.training), T)
                outs.append(out if d == 0 else reverse_time(out, rev))
                finals.append(fin)
            layer_in = torch.cat(outs, 2)
            if layer < rec.num_layers - 1 and rec.dropout and rec.training:
                layer_in = F.dropout(layer_in, rec.dropout, True)
        output = layer_in
        state = _cat_state(finals, 0)
    output = output.index_select(0, unorder)
    if isinstance(state, list):
        return output, tuple(s.index_select(1, unorder) for s in state)
    return output, state.index_select(1, unorder)
