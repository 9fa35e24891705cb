r"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): recurrent layers whose
training runs in parallel over time.

The gates read only the input, never the previous state, so each layer is a *linear*
recurrence ``h_t = a_t * h_{t-1} + b_t`` with ``a_t``, ``b_t`` computed from ``x_t`` by one
matmul over the whole sequence (equations in :mod:`rnnkit.reference.min_rnn`, the NumPy copy
with hand-written BPTT this layer is tested against):

=========  =================================  ===============================
cell       a_t (keep)                         b_t (write)
=========  =================================  ===============================
mingru     1 - z_t                            z_t * g(k_h)
minlstm    f'_t = f_t / (f_t + i_t)           i'_t * g(k_h), i' = 1 - f'
=========  =================================  ===============================

with ``g(v) = v + 0.5`` (v >= 0) and ``sigmoid(v)`` (v < 0), positive so that ``log b_t`` exists.

Two paths that agree (tested forward and backward in float64):

* ``"scan"`` (training): Heinsen's (2023) log-space scan. With ``a*_t = sum_{s<=t} log a_s``,
  ``h_t = exp(a*_t) h_0 + exp(a*_t + logcumsumexp_t(log b_s - a*_s))``. Every term is a cumsum,
  a logcumsumexp or an exp: O(log T) depth instead of T dependent steps. The log gates are
  log-sigmoids (``-softplus``), never ``log(sigmoid)``. ``h_0`` enters linearly (not in log
  space), so a carried state may have any sign. Time is cut into chunks of ``chunk_size``
  steps carried one to the next, which bounds ``|a*|`` and so the float32 cancellation in
  ``a*_t + logcumsumexp``.
* ``"sequential"`` (streaming, generation): the plain loop ``h = a * h + b``, one step at a
  time. ``backend="auto"`` takes it for one-step calls (``stream()``) and the scan otherwise.

Lengths: the recurrence is causal, so padded steps (at the end) never reach a real step; the
output is zeroed there and the final state is taken at each sequence's own last step, so a
padded batch equals each sequence run alone. The reverse direction reads each sequence
reversed within its own length (:func:`rnnkit.nn.sequence.reverse_index`).

Shapes as :class:`~rnnkit.nn.recurrent.Recurrent`: ``x`` (B, T, D), ``lengths`` (B,),
``state`` (L*dirs, B, H) (one tensor for both cells: minLSTM has no cell state), output
(B, T, dirs*H). Parameters ``weight_l{k}`` (G*H, in) and ``bias_l{k}`` (G*H,), ``_reverse``
for the reverse direction; gate order ``z | h`` (minGRU) and ``f | i | h`` (minLSTM).
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import ConfigError
from rnnkit.nn.sequence import length_mask, reverse_index, reverse_time
from rnnkit.nn.validation import check_input, check_lengths, check_state

__all__ = ["MinRecurrent", "MIN_CELLS", "MIN_BACKENDS", "log_scan", "log_g", "g"]

MIN_CELLS = ("mingru", "minlstm")
MIN_GATES = {"mingru": 2, "minlstm": 3}
MIN_BACKENDS = ("auto", "scan", "sequential")


def g(v: Tensor) -> Tensor:
    """``v + 0.5`` for v >= 0, ``sigmoid(v)`` below: positive, continuous, slope continuous at 0."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: Tensor) -> Tensor:
    """``log g(v)`` without forming g: ``log(v + 0.5)`` / ``-softplus(-v)`` (both branches finite)."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def log_scan(log_a: Tensor, log_b: Tensor, h0: Tensor, chunk_size: int | None = None) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` for t = 1..T from log a, log b (B, T, H) and h0 (B, H), b > 0.

    Returns h (B, T, H). ``chunk_size`` None scans the whole axis at once."""
    T = log_a.shape[1]
    step = T if not chunk_size else chunk_size
    outs, h = [], h0
    for start in range(0, T, step):
        la, lb = log_a[:, start:start + step], log_b[:, start:start + step]
        a_star = la.cumsum(dim=1)  # log of the product a_1 ... a_t within the chunk
        h_chunk = torch.exp(a_star + torch.logcumsumexp(lb - a_star, dim=1)) + torch.exp(a_star) * h.unsqueeze(1)
        outs.append(h_chunk)
        h = h_chunk[:, -1]
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


class MinRecurrent(nn.Module):
    r"""Multi-layer, optionally bidirectional minGRU / minLSTM.

    Args:
        cell: ``"mingru"`` or ``"minlstm"``.
        input_size, hidden_size, num_layers, bidirectional, dropout, batch_first: as
            :class:`~rnnkit.nn.recurrent.Recurrent` (dropout on each layer's output but the last).
        backend: ``"scan"`` (parallel log-space scan), ``"sequential"`` (the step loop) or
            ``"auto"`` (sequential for a single step, the scan otherwise); :meth:`path_for` tells.
        chunk_size: steps per scan chunk (None: the whole sequence in one scan).
    """

    def __init__(
        self,
        cell: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        batch_first: bool = True,
        backend: Literal["auto", "scan", "sequential"] = "auto",
        chunk_size: int | None = 256,
    ) -> None:
        super().__init__()
        if cell not in MIN_GATES:
            raise ConfigError(f"cell must be one of {', '.join(map(repr, MIN_CELLS))}; got {cell!r}")
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigError(f"{name} must be a positive int; got {value!r}")
        if not 0.0 <= float(dropout) < 1.0:
            raise ConfigError(f"dropout must be in [0, 1); got {dropout!r}")
        if backend not in MIN_BACKENDS:
            raise ConfigError(f"backend must be one of {', '.join(map(repr, MIN_BACKENDS))} for cell={cell!r}; got {backend!r}")
        if chunk_size is not None and (not isinstance(chunk_size, int) or chunk_size < 1):
            raise ConfigError(f"chunk_size must be a positive int or None; got {chunk_size!r}")
        self.cell, self.input_size, self.hidden_size, self.num_layers = cell, input_size, hidden_size, num_layers
        self.bidirectional, self.dropout, self.batch_first = bool(bidirectional), float(dropout), batch_first
        self.backend, self.chunk_size = backend, chunk_size
        self.num_directions = 2 if bidirectional else 1
        self.output_size = self.num_directions * hidden_size
        rows = MIN_GATES[cell] * hidden_size
        for layer in range(num_layers):
            layer_in = input_size if layer == 0 else self.output_size
            for d in range(self.num_directions):
                sfx = self._suffix(layer, d)
                self.register_parameter("weight" + sfx, nn.Parameter(torch.empty(rows, layer_in)))
                self.register_parameter("bias" + sfx, nn.Parameter(torch.empty(rows)))
        self.reset_parameters()

    @staticmethod
    def _suffix(layer: int, direction: int) -> str:
        return f"_l{layer}" + ("_reverse" if direction else "")

    def reset_parameters(self) -> None:
        """U(-1/sqrt(in), 1/sqrt(in)) for each layer's weight and bias (``nn.Linear``'s bound)."""
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                w = getattr(self, "weight" + self._suffix(layer, d))
                bound = 1.0 / math.sqrt(w.shape[1])
                nn.init.uniform_(w, -bound, bound)
                nn.init.uniform_(getattr(self, "bias" + self._suffix(layer, d)), -bound, bound)

    def layer_weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor]:
        sfx = self._suffix(layer, direction)
        return getattr(self, "weight" + sfx), getattr(self, "bias" + sfx)

    def path_for(self, steps: int) -> str:
        """``"scan"`` or ``"sequential"``: what :meth:`forward` runs for ``steps`` time steps."""
        if self.backend != "auto":
            return self.backend
        return "sequential" if steps == 1 else "scan"

    # ------------------------------------------------------------------ one layer
    def _coefficients(self, pre: Tensor, log_space: bool) -> tuple[Tensor, Tensor]:
        """(a, b) of ``h_t = a h_{t-1} + b`` — as (log a, log b) when ``log_space`` — from the
        pre-activations (B, T, G*H)."""
        H = self.hidden_size
        k_h = pre[..., -H:]
        if self.cell == "mingru":
            k_z = pre[..., :H]
            if log_space:  # log(1 - z) = -softplus(k), log z = -softplus(-k)
                return -F.softplus(k_z), -F.softplus(-k_z) + log_g(k_h)
            z = torch.sigmoid(k_z)
            return 1.0 - z, z * g(k_h)
        # log(i / f) = log i - log f; f' = sigmoid(-d), i' = sigmoid(d)
        d = F.softplus(-pre[..., :H]) - F.softplus(-pre[..., H:2 * H])
        if log_space:
            return -F.softplus(d), -F.softplus(-d) + log_g(k_h)
        return torch.sigmoid(-d), torch.sigmoid(d) * g(k_h)

    def _layer(self, x: Tensor, h0: Tensor, weight: Tensor, bias: Tensor, path: str,
               mask: Tensor | None, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        pre = F.linear(x, weight, bias)  # (B, T, G*H): every step at once
        if pre.dtype in (torch.float16, torch.bfloat16):  # autocast: the recurrence in float32
            pre = pre.float()
        h0 = h0.to(pre.dtype)
        if path == "scan":
            log_a, log_b = self._coefficients(pre, log_space=True)
            hs = log_scan(log_a, log_b, h0, self.chunk_size)
        else:
            a, b = self._coefficients(pre, log_space=False)
            steps, h = [], h0
            for t in range(pre.shape[1]):
                new = a[:, t] * h + b[:, t]
                h = new if mask is None else torch.where(mask[:, t, None], new, h)
                steps.append(new)
            hs = torch.stack(steps, dim=1)
        if lengths is None:
            return hs, hs[:, -1]
        last = hs.gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, hs.shape[2])).squeeze(1)
        return hs.masked_fill(~mask.unsqueeze(-1), 0.0), last

    # ------------------------------------------------------------------ the stack
    def forward(self, x: Tensor, state: Tensor | None = None, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(output (B, T, dirs*H), h_n (L*dirs, B, H))``; output 0 at padded steps."""
        weight0 = self.weight_l0
        check_input(x if self.batch_first or not isinstance(x, Tensor) or x.dim() != 3 else x.transpose(0, 1),
                    self.input_size, weight0.dtype)
        if not self.batch_first:
            x = x.transpose(0, 1)
        B, T = x.shape[0], x.shape[1]
        mask = rev = None
        if lengths is not None:
            lengths = check_lengths(lengths, B, T, x.device)
            if int(lengths.min()) == T:
                lengths = None
        if lengths is not None:
            mask = length_mask(lengths, T)
            x = x.masked_fill(~mask.unsqueeze(-1), 0.0)  # padding content (even NaN) never reaches a number
            if self.bidirectional:
                rev = reverse_index(lengths, T)
        expected = (self.num_layers * self.num_directions, B, self.hidden_size)
        if state is None:
            state = x.new_zeros(expected)
        else:
            if torch.is_autocast_enabled(x.device.type) and state.is_floating_point():
                state = state.to(x.dtype)
            check_state(state, expected, False, x)
        path = self.path_for(T)
        finals = []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                k = layer * self.num_directions + d
                inp = layer_in if d == 0 else reverse_time(layer_in, rev)
                y, h_last = self._layer(inp, state[k], *self.layer_weights(layer, d), path, mask, lengths)
                outs.append(y if d == 0 else reverse_time(y, rev))
                finals.append(h_last)
            layer_in = outs[0] if len(outs) == 1 else torch.cat(outs, dim=-1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_in = F.dropout(layer_in, self.dropout, training=True)
        output = layer_in.to(x.dtype)
        h_n = torch.stack(finals, dim=0).to(x.dtype)
        if not self.batch_first:
            output = output.transpose(0, 1)
        return output, h_n

    def extra_repr(self) -> str:
        parts = [f"{self.cell!r}", f"{self.input_size}", f"{self.hidden_size}", f"num_layers={self.num_layers}"]
        if self.bidirectional:
            parts.append("bidirectional=True")
        if self.dropout:
            parts.append(f"dropout={self.dropout}")
        parts.append(f"backend={self.backend!r}, chunk_size={self.chunk_size}")
        return ", ".join(parts)
