"""minGRU and minLSTM in NumPy: forward pass and backpropagation through time by hand.

Feng et al. (2024), "Were RNNs All We Needed?". The gates read only the input x_t, never
h_{t-1}, so the recurrence is *linear* in h: ``h_t = a_t * h_{t-1} + b_t`` with a_t, b_t
computed from x_t alone. That is what lets :mod:`rnnkit.nn.min_rnn` train with a parallel
scan over time; here it runs as the plain loop, the teaching copy and the test oracle.

minGRU (gate order z | h in ``weight_l{k}`` (2H, D))::

    z_t  = sigmoid(x_t W_z^T + b_z)                 update gate
    h~_t = g(x_t W_h^T + b_h)                       candidate, g(v) = v + 1/2 (v >= 0), sigmoid(v) (v < 0)
    h_t  = (1 - z_t) * h_{t-1} + z_t * h~_t

minLSTM (gate order f | i | h in ``weight_l{k}`` (3H, D))::

    f_t, i_t = sigmoid(x_t W_f^T + b_f), sigmoid(x_t W_i^T + b_i)
    f'_t = f_t / (f_t + i_t),  i'_t = i_t / (f_t + i_t)   normalised: f' + i' = 1
    h_t  = f'_t * h_{t-1} + i'_t * g(x_t W_h^T + b_h)

``g`` is the paper's log-space variant: positive, so log h~ exists, continuous and with a
continuous slope at 0 (1 for v >= 0, sigmoid'(v) below). f' and i' are written as
``f' = sigmoid(-d)``, ``i' = sigmoid(d)`` with ``d = softplus(-k_f) - softplus(-k_i)`` = log(i/f),
which is the same number without dividing small sigmoids.

Variable lengths come in as ``mask`` (B, T): a padded step carries the state and outputs 0,
exactly as :mod:`rnnkit.reference.gru`. Stacks, directions and lengths are handled as in
:mod:`rnnkit.reference.stack` (the reverse direction reads each sequence reversed within its
own length). NumPy only, float64, batch first; parameters keyed ``weight_l{k}``,
``bias_l{k}`` (``_reverse`` for the reverse direction) like :class:`rnnkit.nn.MinRecurrent`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, ShapeError

__all__ = ["MIN_GATES", "init_params", "forward", "backward", "MinForwardCache", "g", "g_prime"]

MIN_GATES = {"mingru": 2, "minlstm": 3}


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _softplus(a: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, a)


def g(v: np.ndarray) -> np.ndarray:
    """The positive candidate activation: v + 0.5 for v >= 0, sigmoid(v) below."""
    return np.where(v >= 0, v + 0.5, _sigmoid(np.minimum(v, 0.0)))


def g_prime(v: np.ndarray) -> np.ndarray:
    """dg/dv: 1 for v >= 0, sigmoid(v) (1 - sigmoid(v)) below."""
    s = _sigmoid(np.minimum(v, 0.0))
    return np.where(v >= 0, 1.0, s * (1.0 - s))


def _suffix(layer: int, direction: int) -> str:
    return f"_l{layer}" + ("_reverse" if direction else "")


def init_params(cell: str, input_size: int, hidden_size: int, num_layers: int = 1, bidirectional: bool = False,
                rng: np.random.Generator | int | None = None) -> dict[str, np.ndarray]:
    """Float64 parameters ``weight_l{k}`` (G*H, in) and ``bias_l{k}`` (G*H,), uniform(±1/sqrt(in))."""
    _check_cell(cell)
    rng = np.random.default_rng(rng)
    G, H, dirs = MIN_GATES[cell], hidden_size, 2 if bidirectional else 1
    params = {}
    for layer in range(num_layers):
        n_in = input_size if layer == 0 else dirs * H
        bound = 1.0 / np.sqrt(n_in)
        for d in range(dirs):
            params["weight" + _suffix(layer, d)] = rng.uniform(-bound, bound, (G * H, n_in))
            params["bias" + _suffix(layer, d)] = rng.uniform(-bound, bound, (G * H,))
    return params


def _check_cell(cell: str) -> None:
    if cell not in MIN_GATES:
        raise ConfigError(f"cell must be 'mingru' or 'minlstm'; got {cell!r}")


# ---------------------------------------------------------------------- one layer
def layer_forward(cell: str, x: np.ndarray, h0: np.ndarray, weight: np.ndarray, bias: np.ndarray,
                  mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """One layer, one direction over (B, T, D). Returns ``(y (B, T, H), h_last (B, H), cache)``."""
    B, T, _ = x.shape
    H = weight.shape[0] // MIN_GATES[cell]
    m = mask[:, :, None].astype(np.float64)
    pre = x @ weight.T + bias  # (B, T, G*H): every step at once, the gates never see h
    k_h = pre[..., -H:]
    cand = g(k_h)
    if cell == "mingru":
        z = _sigmoid(pre[..., :H])
        a, w = 1.0 - z, z  # h_t = a_t h_{t-1} + w_t h~_t
        parts = {"z": z}
    else:
        d = _softplus(-pre[..., :H]) - _softplus(-pre[..., H:2 * H])
        a, w = _sigmoid(-d), _sigmoid(d)  # f', i'
        parts = {"k_f": pre[..., :H], "k_i": pre[..., H:2 * H]}
    hs = np.empty((B, T + 1, H))
    hs[:, 0] = h0
    for t in range(T):
        step = a[:, t] * hs[:, t] + w[:, t] * cand[:, t]
        hs[:, t + 1] = m[:, t] * step + (1.0 - m[:, t]) * hs[:, t]
    y = m * (a * hs[:, :T] + w * cand)
    cache = {"cell": cell, "x": x, "hs": hs, "a": a, "w": w, "cand": cand, "k_h": k_h, "m": m, "weight": weight,
             **parts}
    return y, hs[:, T].copy(), cache


def layer_backward(cache: dict[str, Any], dy: np.ndarray, dh_last: np.ndarray) -> dict[str, np.ndarray]:
    """Backpropagate dL/dy (B, T, H) and dL/dh_last (B, H). Returns ``x``, ``h0``, ``weight``, ``bias``.

    Walking t = T-1 ... 0 with ``dh_next`` = dL/dh_t from step t+1::

        dh      = m_t * dy_t + dh_next          total gradient of h_t
        dstep   = m_t * dh                      only a real step computed a h_{t-1} + w h~
        da, dw  = dstep * h_{t-1}, dstep * h~_t
        dh~     = dstep * w_t
        dh_next = dstep * a_t + (1 - m_t) * dh  the only path from h_t back to h_{t-1}

    No matmul with a recurrent weight: the gates read x only. Then the gates' pre-activations:
    minGRU ``dk_z = (dw - da) z (1 - z)``; minLSTM ``dd = f' i' (dw - da)`` (i' = sigmoid(d),
    f' = sigmoid(-d)), ``dk_f = -dd sigmoid(-k_f)``, ``dk_i = dd sigmoid(-k_i)``; and
    ``dk_h = dh~ g'(k_h)``. Finally dW = sum_t dpre^T x_t, db = sum_t dpre, dx = dpre W.
    """
    x, hs, a, w, cand, m = cache["x"], cache["hs"], cache["a"], cache["w"], cache["cand"], cache["m"]
    B, T, H = cand.shape
    dstep = np.empty((B, T, H))
    dh_next = dh_last.copy()
    for t in reversed(range(T)):
        dh = m[:, t] * dy[:, t] + dh_next
        dstep[:, t] = m[:, t] * dh
        dh_next = dstep[:, t] * a[:, t] + (1.0 - m[:, t]) * dh
    da, dw = dstep * hs[:, :T], dstep * cand  # h_{t-1} pairs with step t
    dk_h = dstep * w * g_prime(cache["k_h"])
    if cache["cell"] == "mingru":
        z = cache["z"]
        dpre = np.concatenate([(dw - da) * z * (1.0 - z), dk_h], axis=2)
    else:
        dd = a * w * (dw - da)
        dpre = np.concatenate([-dd * _sigmoid(-cache["k_f"]), dd * _sigmoid(-cache["k_i"]), dk_h], axis=2)
    weight = cache["weight"]
    return {
        "x": dpre @ weight,
        "h0": dh_next,
        "weight": np.einsum("btg,btd->gd", dpre, x),
        "bias": dpre.sum(axis=(0, 1)),
    }


# ---------------------------------------------------------------------- the stack
@dataclass
class MinForwardCache:
    cell: str
    num_layers: int
    num_directions: int
    hidden_size: int
    reverse_index: np.ndarray
    layer_caches: list[dict[str, Any]] = field(default_factory=list)


def _reverse_within_lengths(lengths: np.ndarray, T: int) -> np.ndarray:
    t = np.arange(T)[None, :]
    L = lengths[:, None]
    return np.where(t < L, L - 1 - t, t)


def _reorder(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    return a[np.arange(a.shape[0])[:, None], index]


def forward(cell: str, params: dict[str, np.ndarray], x: np.ndarray, h0: np.ndarray | None = None, *,
            num_layers: int = 1, bidirectional: bool = False, lengths: np.ndarray | None = None,
            ) -> tuple[np.ndarray, np.ndarray, MinForwardCache]:
    """Run the stack: ``(output (B, T, dirs*H), h_n (L*dirs, B, H), cache)``; output 0 at padded
    steps, h_n taken at each sequence's own last step (the reverse direction's at t = 0)."""
    _check_cell(cell)
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 3:
        raise ShapeError(f"x must be (B, T, D); got shape {x.shape}")
    B, T, _ = x.shape
    dirs = 2 if bidirectional else 1
    H = params["weight_l0"].shape[0] // MIN_GATES[cell]
    lengths = np.full(B, T) if lengths is None else np.asarray(lengths)
    if lengths.shape != (B,) or lengths.min() < 1 or lengths.max() > T:
        raise ShapeError(f"lengths must be (B,) = ({B},) ints in [1, {T}]; got {lengths!r}")
    h0 = np.zeros((num_layers * dirs, B, H)) if h0 is None else np.asarray(h0, dtype=np.float64)
    if h0.shape != (num_layers * dirs, B, H):
        raise ShapeError(f"h0 must have shape {(num_layers * dirs, B, H)}; got {h0.shape}")
    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float64)
    x = np.where(mask[:, :, None] > 0, x, 0.0)
    rev = _reverse_within_lengths(lengths, T)
    cache = MinForwardCache(cell, num_layers, dirs, H, rev)
    h_n = np.empty((num_layers * dirs, B, H))
    inp = x
    for layer in range(num_layers):
        outs = []
        for d in range(dirs):
            k = layer * dirs + d
            sfx = _suffix(layer, d)
            y, h_n[k], c = layer_forward(cell, inp if d == 0 else _reorder(inp, rev), h0[k],
                                         params["weight" + sfx], params["bias" + sfx], mask)
            outs.append(y if d == 0 else _reorder(y, rev))
            cache.layer_caches.append(c)
        inp = np.concatenate(outs, axis=2)
    return inp, h_n, cache


def backward(cache: MinForwardCache, d_output: np.ndarray, d_h_n: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Gradients of ``sum(output * d_output) + sum(h_n * d_h_n)``: ``x``, ``h0`` and every parameter."""
    c = cache
    L, dirs, H = c.num_layers, c.num_directions, c.hidden_size
    B = d_output.shape[0]
    d_h_n = np.zeros((L * dirs, B, H)) if d_h_n is None else d_h_n
    grads: dict[str, np.ndarray] = {"h0": np.empty((L * dirs, B, H))}
    d_out = d_output
    for layer in reversed(range(L)):
        d_in = None
        for d in range(dirs):
            k = layer * dirs + d
            dy = d_out[:, :, d * H:(d + 1) * H]
            if d == 1:
                dy = _reorder(dy, c.reverse_index)
            gk = layer_backward(c.layer_caches[k], dy, d_h_n[k])
            grads["h0"][k] = gk["h0"]
            grads["weight" + _suffix(layer, d)] = gk["weight"]
            grads["bias" + _suffix(layer, d)] = gk["bias"]
            dx = gk["x"] if d == 0 else _reorder(gk["x"], c.reverse_index)
            d_in = dx if d_in is None else d_in + dx
        d_out = d_in
    grads["x"] = d_out
    return grads
