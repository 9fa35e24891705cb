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

from typing import List, Optional, Tuple

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


# --------------------------------------------------------------------------- export-safe path
# Under ``torch.onnx.export`` / ``torch.export`` / ``torch.compile`` / ``torch.jit.trace`` the
# sorting above (and its host-side ``tolist()``) cannot be captured. The export-safe path runs
# the stack one layer at a time through ``rnnkit::recurrent_layer`` — a custom op whose eager
# kernel is the fused/segmented code above and whose ONNX translation
# (:mod:`rnnkit.export.onnx_ops`) is one ONNX ``LSTM``/``GRU``/``RNN`` node with
# ``sequence_lens``: the lengths mask inside the graph and the reverse direction reads each
# sequence reversed within its own length, with no sort. Under ``torch.jit.trace`` the layer is
# the TorchScript function :func:`scripted_layer` (a masked step loop; no custom op to load).

_LAYER_OPS = {"lstm": torch.lstm, "gru": torch.gru, "rnn_tanh": torch.rnn_tanh, "rnn_relu": torch.rnn_relu}


def _eager_layer(x: Tensor, lengths: Tensor, h0: Tensor, c0: Tensor, weights: list[Tensor], mode: str,
                 bidirectional: bool, has_bias: bool) -> tuple[Tensor, Tensor, Tensor]:
    from types import SimpleNamespace

    op = _LAYER_OPS[mode]
    is_lstm = mode == "lstm"
    hx = (h0, c0) if is_lstm else h0
    common = (has_bias, 1, 0.0, False, bidirectional)
    if bool((lengths >= x.shape[1]).all()):
        result = op(x, [h0, c0] if is_lstm else h0, weights, *common, True)
        out, h = result[0], result[1]
        c = result[2] if is_lstm else torch.zeros_like(c0)
    else:
        rec = SimpleNamespace(bias=has_bias, num_layers=1, dropout=0.0, training=False, bidirectional=bidirectional)
        out, state = run_segmented(op, rec, x, hx, lengths, weights)
        h, c = (state[0], state[1]) if is_lstm else (state, torch.zeros_like(c0))
    return out.contiguous(), h.contiguous(), c.contiguous()


@torch.library.custom_op("rnnkit::recurrent_layer", mutates_args=())
def recurrent_layer(x: Tensor, lengths: Tensor, h0: Tensor, c0: Tensor, weights: list[Tensor], mode: str,
                    bidirectional: bool, has_bias: bool, masked: bool) -> tuple[Tensor, Tensor, Tensor]:
    """One layer (both directions) over ``x`` (B, T, D) batch first → ``(output (B, T, dirs*H),
    h_n (dirs, B, H), c_n (dirs, B, H))``; ``c0``/``c_n`` are unused zeros unless ``mode='lstm'``.
    ``masked=False``: every sequence has all T steps (``lengths`` is ignored; the ONNX node then
    has no ``sequence_lens`` and no mask)."""
    if not masked:
        lengths = torch.full((x.shape[0],), x.shape[1], dtype=torch.int64, device=x.device)
    return _eager_layer(x, lengths, h0, c0, weights, mode, bidirectional, has_bias)


@recurrent_layer.register_fake
def _(x, lengths, h0, c0, weights, mode, bidirectional, has_bias, masked):
    dirs = 2 if bidirectional else 1
    return x.new_empty((x.shape[0], x.shape[1], dirs * h0.shape[2])), torch.empty_like(h0), torch.empty_like(c0)


def _scripted_direction(x: Tensor, lengths: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor,
                        b_ih: Optional[Tensor], b_hh: Optional[Tensor], mode: str) -> Tuple[Tensor, Tensor, Tensor]:
    """A masked step loop over ``x`` (B, T, D) from ``h``, ``c`` (B, H): steps past a sequence's
    length leave its state alone and output zeros."""
    outs: List[Tensor] = []
    for t in range(x.shape[1]):
        xt = x[:, t]
        if mode == "lstm":
            h_new, c_new = torch.lstm_cell(xt, [h, c], w_ih, w_hh, b_ih, b_hh)
        elif mode == "gru":
            h_new = torch.gru_cell(xt, h, w_ih, w_hh, b_ih, b_hh)
            c_new = c
        elif mode == "rnn_tanh":
            h_new = torch.rnn_tanh_cell(xt, h, w_ih, w_hh, b_ih, b_hh)
            c_new = c
        else:
            h_new = torch.rnn_relu_cell(xt, h, w_ih, w_hh, b_ih, b_hh)
            c_new = c
        live = (lengths > t).unsqueeze(1)
        h = torch.where(live, h_new, h)
        c = torch.where(live, c_new, c)
        outs.append(torch.where(live, h_new, torch.zeros_like(h_new)))
    return torch.stack(outs, 1), h, c


def _scripted_layer(x: Tensor, lengths: Tensor, h0: Tensor, c0: Tensor, weights: List[Tensor], mode: str,
                    bidirectional: bool, has_bias: bool, masked: bool) -> Tuple[Tensor, Tensor, Tensor]:
    if not masked:  # every sequence is whole: torch's fused kernel over the layer
        if mode == "lstm":
            res = torch.lstm(x, [h0, c0], weights, has_bias, 1, 0.0, False, bidirectional, True)
            return res[0], res[1], res[2]
        if mode == "gru":
            out, h = torch.gru(x, h0, weights, has_bias, 1, 0.0, False, bidirectional, True)
        elif mode == "rnn_tanh":
            out, h = torch.rnn_tanh(x, h0, weights, has_bias, 1, 0.0, False, bidirectional, True)
        else:
            out, h = torch.rnn_relu(x, h0, weights, has_bias, 1, 0.0, False, bidirectional, True)
        return out, h, c0
    T = x.shape[1]
    steps = torch.arange(T, device=x.device).unsqueeze(0)
    lens = lengths.unsqueeze(1)
    rev = torch.where(steps < lens, lens - 1 - steps, steps)  # reverse within each length
    per = 4 if has_bias else 2
    dirs = 2 if bidirectional else 1
    outs: List[Tensor] = []
    hs: List[Tensor] = []
    cs: List[Tensor] = []
    for d in range(dirs):
        w = weights[d * per:(d + 1) * per]
        b_ih: Optional[Tensor] = None
        b_hh: Optional[Tensor] = None
        if has_bias:
            b_ih = w[2]
            b_hh = w[3]
        seq = x
        if d == 1:
            seq = x.gather(1, rev.unsqueeze(2).expand(-1, -1, x.shape[2]))
        out, h, c = _scripted_direction(seq, lengths, h0[d], c0[d], w[0], w[1], b_ih, b_hh, mode)
        if d == 1:
            out = out.gather(1, rev.unsqueeze(2).expand(-1, -1, out.shape[2]))
        outs.append(out)
        hs.append(h)
        cs.append(c)
    return torch.cat(outs, 2), torch.stack(hs, 0), torch.stack(cs, 0)


_SCRIPTED: list = []


def scripted_layer():
    """:func:`_scripted_layer` compiled by TorchScript (once, on first use)."""
    if not _SCRIPTED:
        torch.jit.script(_scripted_direction)
        _SCRIPTED.append(torch.jit.script(_scripted_layer))
    return _SCRIPTED[0]


def export_mode() -> bool:
    """True while a graph is being captured (ONNX export, torch.export/compile, jit trace/script)."""
    return bool(torch.onnx.is_in_onnx_export() or torch.jit.is_tracing() or torch.jit.is_scripting()
                or torch.compiler.is_compiling())


def run_export_safe(rec, x: Tensor, hx, lengths: Tensor | None):
    """``rec`` over ``x`` (B, T, D) one layer at a time, with no sort, no host sync and no
    ``.item()``: the path every graph capture takes. ``lengths`` None means all T."""
    masked = lengths is not None
    if lengths is None:  # a placeholder the layers ignore (masked=False)
        lengths = x.new_ones((x.shape[0],), dtype=torch.int64)
    lengths = lengths.to(torch.int64)
    is_lstm = rec.cell == "lstm"
    h_all, c_all = (hx[0], hx[1]) if is_lstm else (hx, torch.zeros_like(hx))
    mode = f"rnn_{rec.nonlinearity}" if rec.cell == "rnn" else rec.cell
    dirs, per = rec.num_directions, (4 if rec.bias else 2)
    weights = rec.flat_weights()
    tracing = torch.jit.is_tracing()
    layer_in, hs, cs = x, [], []
    for layer in range(rec.num_layers):
        w = weights[layer * dirs * per:(layer + 1) * dirs * per]
        h0, c0 = h_all[layer * dirs:(layer + 1) * dirs], c_all[layer * dirs:(layer + 1) * dirs]
        if tracing:
            out, h, c = scripted_layer()(layer_in, lengths, h0, c0, w, mode, rec.bidirectional, rec.bias, masked)
        else:
            out, h, c = torch.ops.rnnkit.recurrent_layer(layer_in, lengths, h0, c0, w, mode, rec.bidirectional,
                                                         rec.bias, masked)
        hs.append(h)
        cs.append(c)
        layer_in = out
    h_n = torch.cat(hs, 0)
    state = (h_n, torch.cat(cs, 0)) if is_lstm else h_n
    return layer_in, state
