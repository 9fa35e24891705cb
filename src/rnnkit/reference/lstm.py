"""LSTM layer in NumPy: forward pass and backpropagation through time by hand.

One layer, one direction, a batch of sequences. Gate order i, f, g, o as in torch::

    i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)     (4 blocks of H)
    i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);   g = tanh(g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Shapes (B batch, T time, D input features, H hidden):
    x (B, T, D)   h0, c0 (B, H)   weight_ih (4H, D) = [W_ii|W_if|W_ig|W_io]
    weight_hh (4H, H)   bias_ih, bias_hh (4H,)

Variable lengths come in as ``mask`` (B, T): 1 at a real step, 0 at padding. A padded
step carries both h and c unchanged and outputs 0 (c~, h~ are the values the step computes)::

    c_t = m_t * c~_t + (1 - m_t) * c_{t-1}
    h_t = m_t * h~_t + (1 - m_t) * h_{t-1}      y_t = m_t * h~_t

Internal module: inputs are trusted (``rnnkit.reference.forward`` validates them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["lstm_forward", "lstm_backward"]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # = 1 / (1 + exp(-a)), written with tanh so that a large |a| cannot overflow exp.
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: np.ndarray | None = None,
    bias_hh: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """Run the layer over all T steps.

    Returns ``(y, h_last, c_last, cache)``: y (B, T, H) the outputs (0 at padded steps),
    h_last, c_last (B, H) the final states, cache for :func:`lstm_backward`.
    """
    B, T, _ = x.shape
    H = weight_hh.shape[1]
    m = np.ones((B, T, 1)) if mask is None else mask[:, :, None].astype(np.float64)

    a_x = x @ weight_ih.T  # (B, T, 4H), every step at once: x does not depend on the state
    if bias_ih is not None:
        a_x = a_x + bias_ih + bias_hh

    hs = np.empty((B, T + 1, H))  # hs[:, t + 1] = h_t; hs[:, 0] = h0
    cs = np.empty((B, T + 1, H))  # cs[:, t + 1] = c_t; cs[:, 0] = c0
    hs[:, 0], cs[:, 0] = h0, c0
    gates = np.empty((B, T, 4 * H))  # the activated i|f|g|o, kept for the backward pass
    tanh_c = np.empty((B, T, H))  # tanh(c~_t)
    h_cand = np.empty((B, T, H))  # h~_t
    for t in range(T):
        a = a_x[:, t] + hs[:, t] @ weight_hh.T  # (B, 4H)
        i = _sigmoid(a[:, 0 * H : 1 * H])
        f = _sigmoid(a[:, 1 * H : 2 * H])
        g = np.tanh(a[:, 2 * H : 3 * H])
        o = _sigmoid(a[:, 3 * H : 4 * H])
        c_new = f * cs[:, t] + i * g
        tanh_c[:, t] = np.tanh(c_new)
        h_cand[:, t] = o * tanh_c[:, t]
        gates[:, t] = np.concatenate([i, f, g, o], axis=1)
        cs[:, t + 1] = m[:, t] * c_new + (1.0 - m[:, t]) * cs[:, t]
        hs[:, t + 1] = m[:, t] * h_cand[:, t] + (1.0 - m[:, t]) * hs[:, t]

    y = m * h_cand  # (B, T, H)
    cache = {
        "x": x, "hs": hs, "cs": cs, "gates": gates, "tanh_c": tanh_c, "m": m,
        "weight_ih": weight_ih, "weight_hh": weight_hh, "bias": bias_ih is not None,
    }
    return y, hs[:, T].copy(), cs[:, T].copy(), cache


def lstm_backward(
    cache: dict[str, Any], dy: np.ndarray, dh_last: np.ndarray, dc_last: np.ndarray
) -> dict[str, np.ndarray]:
    """Backpropagate dL/dy (B, T, H), dL/dh_last and dL/dc_last (B, H) through time.

    Returns a dict: ``x`` (B, T, D), ``h0``, ``c0`` (B, H), ``weight_ih``, ``weight_hh``,
    ``bias_ih``, ``bias_hh`` (when the layer has biases) and ``h_steps`` (B, T, H):
    the total dL/dh_t at every real step (0 at padded steps).

    The recurrence, walking t = T-1 ... 0 with ``dh_next``, ``dc_next`` = dL/dh_t, dL/dc_t
    arriving from step t+1::

        dh  = m_t * dy_t + dh_next                     total gradient of h_t
        dh~ = m_t * dh                                 only a real step computed h~
        do  = dh~ * tanh(c~)                           h~ = o * tanh(c~)
        dc~ = m_t * dc_next + dh~ * o * (1 - tanh(c~)^2)   c~ feeds c_t and h~
        di  = dc~ * g     dg = dc~ * i     df = dc~ * c_{t-1}
        da  = [di * i(1-i) | df * f(1-f) | dg * (1-g^2) | do * o(1-o)]   (sigmoid' = s(1-s))
        dc_next = dc~ * f + (1 - m_t) * dc_next        into c_{t-1}: via f, and the carry
        dh_next = da W_hh + (1 - m_t) * dh             into h_{t-1}: via W_hh, and the carry

    and the weight gradients sum da against what it multiplied, as in the vanilla RNN.
    """
    x, hs, cs, gates, tanh_c, m = (
        cache["x"], cache["hs"], cache["cs"], cache["gates"], cache["tanh_c"], cache["m"],
    )
    weight_ih, weight_hh = cache["weight_ih"], cache["weight_hh"]
    B, T, H = tanh_c.shape

    da_all = np.empty((B, T, 4 * H))  # dL/d(pre-activation gates)
    h_steps = np.empty((B, T, H))
    dh_next, dc_next = dh_last.copy(), dc_last.copy()
    for t in reversed(range(T)):
        i, f, g, o = np.split(gates[:, t], 4, axis=1)
        dh = m[:, t] * dy[:, t] + dh_next
        h_steps[:, t] = m[:, t] * dh
        dh_cand = m[:, t] * dh
        do = dh_cand * tanh_c[:, t]
        dc_cand = m[:, t] * dc_next + dh_cand * o * (1.0 - tanh_c[:, t] ** 2)
        di = dc_cand * g
        dg = dc_cand * i
        df = dc_cand * cs[:, t]  # c_{t-1}
        da = np.concatenate(
            [di * i * (1.0 - i), df * f * (1.0 - f), dg * (1.0 - g**2), do * o * (1.0 - o)], axis=1
        )
        da_all[:, t] = da
        dc_next = dc_cand * f + (1.0 - m[:, t]) * dc_next
        dh_next = da @ weight_hh + (1.0 - m[:, t]) * dh

    grads = {
        "x": da_all @ weight_ih,  # (B, T, D)
        "h0": dh_next,
        "c0": dc_next,
        "weight_ih": np.einsum("btg,btd->gd", da_all, x),
        "weight_hh": np.einsum("btg,btk->gk", da_all, hs[:, :T]),  # h_{t-1} pairs with step t
    }
    if cache["bias"]:
        grads["bias_ih"] = da_all.sum(axis=(0, 1))
        grads["bias_hh"] = grads["bias_ih"].copy()  # both biases enter the same sum
    grads["h_steps"] = h_steps
    return grads
