"""ONNX translations of rnnkit's custom ops.

``rnnkit::recurrent_layer`` (see :mod:`rnnkit.nn.segments`): one ONNX
``LSTM`` / ``GRU`` / ``RNN`` node per layer with ``sequence_lens``, so the lengths mask inside
the graph and the reverse direction reads each sequence reversed within its own length (no
sort, no loop). Weights keep torch's layout in the graph and are reordered to ONNX's gate
order (LSTM ``i f g o`` → ``i o f c``, GRU ``r z n`` → ``z r h``) by slices that the exporter's
optimizer folds into the initializers.

``rnnkit::min_scan`` (see :mod:`rnnkit.nn.min_export`, minGRU / minLSTM): the linear recurrence
``h_t = a_t h_{t-1} + b_t`` as one ONNX ``Scan`` over the time axis (any T), its body one
``Mul`` and one ``Add``; the gates and the lengths mask are ordinary nodes around it. It is an
onnxscript function (the converter builds the ``Scan`` body graph), inlined by the exporter.
"""

from __future__ import annotations

import onnxscript
from onnxscript import FLOAT
from onnxscript import opset18 as op

# torch gate blocks → ONNX gate order
_ORDER = {"lstm": (0, 3, 1, 2), "gru": (1, 0, 2), "rnn_tanh": (0,), "rnn_relu": (0,)}


def _reorder(w, mode: str, hidden: int):
    blocks = [op.Slice(w, [g * hidden], [(g + 1) * hidden], [0]) for g in _ORDER[mode]]
    return blocks[0] if len(blocks) == 1 else op.Concat(*blocks, axis=0)


def recurrent_layer(x, lengths, h0, c0, weights, mode: str, bidirectional: bool, has_bias: bool, masked: bool):
    hidden = h0.shape[2]
    dirs = 2 if bidirectional else 1
    per = 4 if has_bias else 2
    Ws, Rs, Bs = [], [], []
    for d in range(dirs):
        w = weights[d * per:(d + 1) * per]
        Ws.append(op.Unsqueeze(_reorder(w[0], mode, hidden), [0]))
        Rs.append(op.Unsqueeze(_reorder(w[1], mode, hidden), [0]))
        if has_bias:
            Bs.append(op.Unsqueeze(op.Concat(_reorder(w[2], mode, hidden), _reorder(w[3], mode, hidden), axis=0), [0]))
    W = Ws[0] if dirs == 1 else op.Concat(*Ws, axis=0)
    R = Rs[0] if dirs == 1 else op.Concat(*Rs, axis=0)
    B = None if not has_bias else (Bs[0] if dirs == 1 else op.Concat(*Bs, axis=0))
    xt = op.Transpose(x, perm=[1, 0, 2])  # (T, B, D)
    seq_lens = op.Cast(lengths, to=6) if masked else None  # int32; none when every sequence is whole
    direction = "bidirectional" if bidirectional else "forward"
    if mode == "lstm":
        Y, Y_h, Y_c = op.LSTM(xt, W, R, B, seq_lens, h0, c0, direction=direction, hidden_size=hidden)
    elif mode == "gru":
        Y, Y_h = op.GRU(xt, W, R, B, seq_lens, h0, direction=direction, hidden_size=hidden, linear_before_reset=1)
        Y_c = c0
    else:
        act = "Tanh" if mode == "rnn_tanh" else "Relu"
        Y, Y_h = op.RNN(xt, W, R, B, seq_lens, h0, direction=direction, hidden_size=hidden,
                        activations=[act] * dirs)
        Y_c = c0
    # Y (T, dirs, B, H) → (B, T, dirs*H); steps past each length are zeroed explicitly
    Y = op.Transpose(Y, perm=[2, 0, 1, 3])
    shape = op.Concat(op.Shape(Y, start=0, end=2), op.Constant(value_ints=[dirs * hidden]), axis=0)
    Y = op.Reshape(Y, shape)
    if not masked:
        return Y, Y_h, Y_c
    steps = op.Range(op.Constant(value_int=0), op.Squeeze(op.Shape(Y, start=1, end=2), [0]), op.Constant(value_int=1))
    live = op.Less(op.Unsqueeze(steps, [0]), op.Unsqueeze(op.Cast(lengths, to=7), [1]))  # (B, T)
    Y = op.Where(op.Unsqueeze(live, [2]), Y, op.CastLike(op.Constant(value_float=0.0), Y))
    return Y, Y_h, Y_c


_RNNKIT = onnxscript.values.Opset("rnnkit", 1)


@onnxscript.script(_RNNKIT, default_opset=op)
def min_scan(a: FLOAT, b: FLOAT, h0: FLOAT) -> FLOAT:
    """a, b (B, T, H), h0 (B, H) -> h (B, T, H): ``h_t = a_t * h_{t-1} + b_t``, scanned over axis 1."""

    @onnxscript.graph()
    def step(h, a_t, b_t):
        h_new = op.Add(op.Mul(a_t, h), b_t)
        out = op.Identity(h_new)
        return h_new, out

    h_last, hs = op.Scan(h0, a, b, body=step, num_scan_inputs=2, scan_input_axes=[1, 1], scan_output_axes=[1])
    return hs


def translation_table() -> dict:
    import torch

    import rnnkit.nn.min_export  # noqa: F401  (registers rnnkit::min_scan)
    import rnnkit.nn.segments  # noqa: F401  (registers rnnkit::recurrent_layer)

    return {torch.ops.rnnkit.recurrent_layer.default: recurrent_layer,
            torch.ops.rnnkit.min_scan.default: min_scan}
