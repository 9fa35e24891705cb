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

* ``"scan"`` (training): the recurrence over the whole sequence without a step-by-step Python
  loop, by :func:`blocked_scan` — chunks of ``chunk_size`` steps all advanced at once, their
  entry states carried across chunks (about 3·sqrt(T) fused kernel calls instead of T), with a
  hand-written backward (:class:`_MinScan`: the gradient is the same linear recurrence run in
  reverse). It reassociates the products and sums of the loop, so it is as accurate as the
  loop; ``h_0`` may have any sign. Heinsen's (2023) log-space scan (:func:`log_scan`, the
  paper's formulation, ``h_t = exp(a*_t) h_0 + exp(a*_t + logcumsumexp_t(log b_s - a*_s))``)
  computes the same numbers but its ``logcumsumexp`` made training 3x slower than the fused
  LSTM on CPU (``benchmarks/rnn_vs_transformer.py``); it is kept as a second oracle.
* ``"native"`` (training, the default on CPU): the same recurrence and backward through a small C
  kernel compiled on first use (:mod:`rnnkit.nn.min_native`, :mod:`rnnkit.nn.native`): one pass
  over time each way with the gate math fused in, about 2.5x less time per training step than the
  blocked scan (``benchmarks/rnn_vs_transformer.py scaling``). Without a C compiler ``"auto"`` runs
  the blocked scan and the ``rnnkit`` logger says so once.
* ``"sequential"`` (streaming, generation): the plain loop ``h = a * h + b``, one step at a
  time. ``backend="auto"`` takes it for one-step calls (``stream()``), the native kernel for
  longer CPU calls in float32/float64 when it is built, and the scan otherwise (GPU included).
* export (``rnnkit export``: ONNX, TorchScript): while a graph is captured, or with
  ``export_safe = True``, :mod:`rnnkit.nn.min_export` runs the same numbers with the recurrence as
  one ``rnnkit::min_scan`` op per layer and direction (an ONNX ``Scan``, a scripted loop), any T.

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
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import BackendError, ConfigError
from rnnkit.nn import min_export, native
from rnnkit.nn.chrono import check_chrono, chrono_bias
from rnnkit.nn.min_native import KERNEL, MinNativeScan, native_ready
from rnnkit.nn.sequence import length_mask, reverse_index, reverse_time
from rnnkit.nn.validation import check_input, check_lengths, check_state

__all__ = ["MinRecurrent", "MIN_CELLS", "MIN_BACKENDS", "blocked_scan", "log_scan", "log_g", "g"]

MIN_CELLS = ("mingru", "minlstm")
MIN_GATES = {"mingru": 2, "minlstm": 3}
MIN_BACKENDS = ("auto", "native", "scan", "sequential")


def g(v: Tensor) -> Tensor:
    """``v + 0.5`` for v >= 0, ``sigmoid(v)`` below: positive, continuous, slope continuous at 0."""
    return torch.where(v >= 0, v + 0.5, torch.sigmoid(v))


def log_g(v: Tensor) -> Tensor:
    """``log g(v)`` without forming g: ``log(v + 0.5)`` / ``-softplus(-v)`` (both branches finite)."""
    return torch.where(v >= 0, torch.log(F.relu(v) + 0.5), -F.softplus(-v))


def log_scan(log_a: Tensor, log_b: Tensor, h0: Tensor, chunk_size: int | None = None) -> Tensor:
    """Heinsen's (2023) log-space scan of ``h_t = a_t h_{t-1} + b_t`` from log a, log b (B, T, H)
    and h0 (B, H), b > 0: ``h_t = exp(a*_t) h_0 + exp(a*_t + logcumsumexp_t(log b_s - a*_s))``.

    Returns h (B, T, H); ``chunk_size`` None scans the whole axis at once. The formulation of the
    paper, kept as a second oracle and for ``benchmarks/rnn_vs_transformer.py``: on CPU its
    ``logcumsumexp`` kernel is slow, so :class:`MinRecurrent` runs :func:`blocked_scan`."""
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


def blocked_scan(a: Tensor, b: Tensor, h0: Tensor, chunk_size: int | None = None, reverse: bool = False) -> Tensor:
    """``h_t = a_t h_{t-1} + b_t`` (``reverse``: ``h_t = a_t h_{t+1} + b_t``) for a, b (B, T, H)
    and h0 (B, H), in linear space, no gradient (see :class:`_MinScan`). Returns h (B, T, H).

    Time is cut into n chunks of C steps (``chunk_size``; None: about sqrt(T), which minimises
    the Python-level steps, about 3C + n). (1) All chunks at once run C steps from a zero state,
    keeping only each chunk's end value and its product of a (B, n, H). (2) The chunks' entry
    states are carried across, n steps over (B, H): ``entry_{k+1} = A_k entry_k + end_k``.
    (3) All chunks at once run their C steps again from their entry states, writing h. Every
    kernel call is one fused ``addcmul`` over B·n·H numbers; no log/exp, no division, no
    ``logcumsumexp`` (whose CPU kernel dominated the log-space scan). It is the sequential
    recurrence reassociated — products and sums of the same numbers — so it is as accurate as
    the loop (a product of gates in [0, 1] may underflow to 0, its value to float precision)."""
    B, T, H = a.shape
    C = min(chunk_size or max(1, math.isqrt(T)), T)
    n = -(-T // C)
    pad = n * C - T
    if pad:  # a = 1, b = 0 carries the state through unchanged; the padded steps are cut off
        spec = (0, 0, pad, 0) if reverse else (0, 0, 0, pad)
        a, b = F.pad(a, spec, value=1.0), F.pad(b, spec)
    a4, b4 = a.view(B, n, C, H), b.view(B, n, C, H)
    order = list(range(C - 1, -1, -1) if reverse else range(C))
    end = b4[:, :, order[0]].clone()  # (1)
    for t in order[1:]:
        end = torch.addcmul(b4[:, :, t], a4[:, :, t], end)
    prod = torch.prod(a4, dim=2)
    entry = torch.empty(B, n + 1, H, dtype=h0.dtype, device=h0.device)  # (2) chunk k enters with entry[:, k]
    if reverse:  # ... or with entry[:, k + 1], chunks taken from the end
        entry[:, n] = h0
        for k in range(n - 1, -1, -1):
            torch.addcmul(end[:, k], prod[:, k], entry[:, k + 1], out=entry[:, k])
        entry = entry[:, 1:]
    else:
        entry[:, 0] = h0
        for k in range(n):
            torch.addcmul(end[:, k], prod[:, k], entry[:, k], out=entry[:, k + 1])
        entry = entry[:, :n]
    h, prev = torch.empty_like(b4), entry  # (3)
    for t in order:
        prev = torch.addcmul(b4[:, :, t], a4[:, :, t], prev, out=h[:, :, t])
    h = h.view(B, n * C, H)
    return h[:, pad:] if reverse else h[:, :T]


def _keep_logit(cell: str, gates: tuple[Tensor, ...]) -> Tensor:
    """u with keep gate a = sigmoid(-u): minGRU u = k_z (a = 1 - z); minLSTM u = d = log(i / f)
    = softplus(-k_f) - softplus(-k_i) (f' = f / (f + i) = sigmoid(-d), without dividing sigmoids)."""
    if cell == "mingru":
        return gates[0]
    return F.softplus(-gates[0]) - F.softplus(-gates[1])


def _coefficients(u: Tensor, k_h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(a, b, g(k_h)) of ``h_t = a h_{t-1} + b``: a = sigmoid(-u), b = (1 - a) g(k_h)."""
    gh = torch.sigmoid(k_h.clamp(max=0.0)) + F.relu(k_h)  # g: v + 1/2 for v >= 0, sigmoid(v) below
    a = torch.sigmoid(-u)
    return a, (1.0 - a) * gh, gh


class _MinScan(torch.autograd.Function):
    """One min layer's recurrence, forward and backward by hand: keep logit ``u`` and candidate
    pre-activation ``k_h`` (B, T, H), ``h0`` (B, H) -> h (B, T, H).

    With a = sigmoid(-u), z = 1 - a, b = z g(k_h) (equations in :mod:`rnnkit.reference.min_rnn`),
    the backward is ``G_t = dL/dh_t + a_{t+1} G_{t+1}`` — the same linear recurrence run in
    reverse (:func:`blocked_scan`) — then dL/db_t = G_t, dL/da_t = G_t h_{t-1} and so
    dL/du = G (g(k_h) - h_{t-1}) a z and dL/dk_h = G z g'(k_h). The forward saves the two
    factors that multiply G (and a, for the reverse recurrence), so the backward is one reverse
    scan and two products.

    Written for CPU speed: no boolean masks (``where``/``masked_fill``/``heaviside`` on CPU run
    many times slower than arithmetic kernels), few temporaries, in place where nothing else
    reads the tensor."""

    @staticmethod
    def forward(ctx, u: Tensor, k_h: Tensor, h0: Tensor, chunk_size: int | None) -> Tensor:
        s = torch.sigmoid(k_h.clamp(max=0.0))  # sigmoid(min(k_h, 0)): g below 0, 1/2 above
        gh = F.relu(k_h).add_(s)  # g(k_h)
        z = torch.sigmoid(u)
        a = torch.rsub(z, 1.0)  # 1 - z: exact to float rounding (an absolute error of eps where a ~ 0)
        h = blocked_scan(a, z * gh, h0, chunk_size)
        if any(ctx.needs_input_grad):
            # dL/dk_h = G * w_h, w_h = z g'(k_h); g' = s (1 - s) + 3/4 for k_h >= 0 (= 1/4 + 3/4), 0 + s (1 - s)
            # below; below0 = ceil(clamp(-k_h, 0, 1)) is 1 for k_h < 0 and 0 from 0 on
            below0 = torch.neg(k_h).clamp_(0.0, 1.0).ceil_()
            w_h = s.addcmul_(s, s, value=-1.0).sub_(below0, alpha=0.75).add_(0.75).mul_(z)
            # dL/du = G * w_u, w_u = (g(k_h) - h_{t-1}) a z
            w_u = gh
            w_u[:, 1:] -= h[:, :-1]
            w_u[:, 0] -= h0
            w_u.mul_(a).mul_(z)
            ctx.save_for_backward(a, w_u, w_h)
        ctx.chunk_size = chunk_size
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_h: Tensor):
        a, w_u, w_h = ctx.saved_tensors
        a_next = torch.empty_like(a)  # G_t = grad_t + a_{t+1} G_{t+1}
        a_next[:, :-1] = a[:, 1:]
        a_next[:, -1] = 0.0
        G = blocked_scan(a_next, grad_h.contiguous(), grad_h.new_zeros(a.shape[0], a.shape[2]), ctx.chunk_size,
                         reverse=True)
        grad_h0 = a[:, 0] * G[:, 0]
        return G * w_u, G.mul_(w_h), grad_h0, None


class MinRecurrent(nn.Module):
    r"""Multi-layer, optionally bidirectional minGRU / minLSTM.

    Args:
        cell: ``"mingru"`` or ``"minlstm"``.
        input_size, hidden_size, num_layers, bidirectional, dropout, batch_first: as
            :class:`~rnnkit.nn.recurrent.Recurrent` (dropout on each layer's output but the last).
        backend: ``"native"`` (the compiled CPU kernel), ``"scan"`` (the blocked scan in torch ops),
            ``"sequential"`` (the step loop) or ``"auto"`` (sequential for a single step, native on
            CPU when the kernel is built, the scan otherwise); :meth:`path_for` tells.
        chunk_size: steps per :func:`blocked_scan` chunk (None: about sqrt(T), the fewest kernel calls).
        chrono_init: None, or the longest dependency expected in steps: keep/write gate biases
            drawn by chrono initialisation (:mod:`rnnkit.nn.chrono`); without it minGRU and minLSTM
            stayed at the mean predictor on the adding problem at T = 1000.
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
        backend: Literal["auto", "native", "scan", "sequential"] = "auto",
        chunk_size: int | None = None,
        chrono_init: int | None = None,
    ) -> None:
        super().__init__()
        if cell not in MIN_GATES:
            raise ConfigError(f"cell must be one of {', '.join(map(repr, MIN_CELLS))}; got {cell!r}")
        check_chrono(chrono_init, cell)
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
        if backend == "native" and (reason := native.unavailable(KERNEL)):
            raise BackendError(f"backend='native' needs the compiled kernel, which is unavailable: {reason}; "
                               "use backend='auto' (it falls back to the blocked scan) or 'scan'")
        self.backend, self.chunk_size, self.chrono_init = backend, chunk_size, chrono_init
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
        """U(-1/sqrt(in), 1/sqrt(in)) for each layer's weight and bias (``nn.Linear``'s bound); with
        ``chrono_init`` the keep/write gate biases follow :mod:`rnnkit.nn.chrono`."""
        H = self.hidden_size
        for layer in range(self.num_layers):
            for d in range(self.num_directions):
                w, b = self.layer_weights(layer, d)
                bound = 1.0 / math.sqrt(w.shape[1])
                nn.init.uniform_(w, -bound, bound)
                nn.init.uniform_(b, -bound, bound)
                if self.chrono_init is not None:
                    with torch.no_grad():
                        keep = chrono_bias(H, self.chrono_init, b)  # a = sigmoid(keep) = 1 - 1/tau
                        if self.cell == "mingru":  # a = 1 - z = sigmoid(-k_z)
                            b[:H] = -keep
                        else:  # f | i | h: u = softplus(-k_f) - softplus(-k_i) = -keep, a = sigmoid(keep)
                            b[:H], b[H:2 * H] = keep, -keep

    def layer_weights(self, layer: int, direction: int) -> tuple[Tensor, Tensor]:
        sfx = self._suffix(layer, direction)
        return getattr(self, "weight" + sfx), getattr(self, "bias" + sfx)

    def path_for(self, steps: int, x: Tensor | None = None) -> str:
        """``"native"``, ``"scan"`` or ``"sequential"``: what :meth:`forward` runs for ``steps`` time
        steps of inputs like ``x`` (None: CPU float32)."""
        if self.backend != "auto":
            return self.backend
        if steps == 1:
            return "sequential"
        probe = x if x is not None else self.weight_l0
        if probe.device.type == "cpu" and native.load(KERNEL) is not None:
            return "native"
        return "scan"

    # ------------------------------------------------------------------ one layer
    def _layer(self, x: Tensor, h0: Tensor, weight: Tensor, bias: Tensor, path: str,
               mask: Tensor | None, lengths: Tensor | None) -> tuple[Tensor, Tensor]:
        H = self.hidden_size
        # one matmul per gate: contiguous (B, T, H) blocks (slices of one (B, T, G*H) product are
        # strided, and every elementwise kernel on them runs several times slower on CPU)
        gates = tuple(F.linear(x, weight[i * H:(i + 1) * H], bias[i * H:(i + 1) * H])
                      for i in range(MIN_GATES[self.cell]))
        if gates[0].dtype in (torch.float16, torch.bfloat16):  # autocast: the recurrence in float32
            gates = tuple(k.float() for k in gates)
        h0 = h0.to(gates[0].dtype)
        u, k_h = _keep_logit(self.cell, gates), gates[-1]
        if path == "native" and not native_ready(u):
            if self.backend == "native":
                raise BackendError(f"backend='native' runs float32/float64 on the CPU; got {u.dtype} on {u.device}")
            path = "scan"
        if path == "native":
            hs = MinNativeScan.apply(u, k_h, h0)
        elif path == "scan":
            hs = _MinScan.apply(u, k_h, h0, self.chunk_size)
        else:
            a, b, _ = _coefficients(u, k_h)
            steps, h = [], h0
            for t in range(k_h.shape[1]):
                new = a[:, t] * h + b[:, t]
                h = new if mask is None else torch.where(mask[:, t, None], new, h)
                steps.append(new)
            hs = torch.stack(steps, dim=1)
        if lengths is None:
            return hs, hs[:, -1]
        last = hs.gather(1, (lengths - 1).view(-1, 1, 1).expand(-1, 1, hs.shape[2])).squeeze(1)
        return hs.masked_fill(~mask.unsqueeze(-1), 0.0), last

    # ------------------------------------------------------------------ the stack
    #: run the export-safe path (:func:`rnnkit.nn.min_export.run_export_safe`: the recurrence as the
    #: ``rnnkit::min_scan`` op) even in eager mode; taken anyway while ONNX export / jit trace captures
    export_safe: bool = False

    def forward(self, x: Tensor, state: Tensor | None = None, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``(output (B, T, dirs*H), h_n (L*dirs, B, H))``; output 0 at padded steps."""
        if self.export_safe or min_export.capturing():
            return min_export.run_export_safe(self, x, state, lengths)
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
        path = self.path_for(T, x)
        return self.run_stack(x, state, rev, lambda inp, h0, layer, d: self._layer(
            inp, h0, *self.layer_weights(layer, d), path, mask, lengths))

    def run_stack(self, x: Tensor, state: Tensor, rev: Tensor | None,
                  layer_fn: Callable[[Tensor, Tensor, int, int], tuple[Tensor, Tensor]]) -> tuple[Tensor, Tensor]:
        """Layers and directions over the checked, batch-first ``x``: ``layer_fn(inp, h0, layer,
        direction) -> (y, h_last)`` runs one; the reverse direction reads ``x`` reversed by ``rev``
        (within each length); dropout between layers. Returns ``(output, h_n)`` in ``x``'s layout
        (the training paths and the export path, :mod:`rnnkit.nn.min_export`, share it)."""
        finals = []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.num_directions):
                inp = layer_in if d == 0 else reverse_time(layer_in, rev)
                y, h_last = layer_fn(inp, state[layer * self.num_directions + d], layer, d)
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
        if self.chrono_init is not None:
            parts.append(f"chrono_init={self.chrono_init}")
        return ", ".join(parts)
