"""Vanilla (Elman) RNN layer in NumPy: forward pass and backpropagation through time by hand.

One layer, one direction, a batch of sequences::

    h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)        act = tanh | relu

Shapes (B batch, T time, D input features, H hidden):
    x (B, T, D)   h0 (B, H)   weight_ih (H, D)   weight_hh (H, H)   bias_ih, bias_hh (H,)

Variable lengths come in as ``mask`` (B, T): 1 at a real step, 0 at padding. A padded
step carries the state unchanged and outputs 0, so the state after the last step is the
state at each sequence's own last real step::

    h~_t = act(a_t)                              (the candidate state)
    h_t  = m_t * h~_t + (1 - m_t) * h_{t-1}      (the carried state)
    y_t  = m_t * h~_t                            (the output)

Internal module: inputs are trusted (``rnnkit.reference.forward`` validates them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["rnn_forward", "rnn_backward"]


def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: np.ndarray | None = None,
    bias_hh: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Run the layer over all T steps.

    Returns ``(y, h_last, cache)``: y (B, T, H) the outputs (0 at padded steps),
    h_last (B, H) the final state, cache for :func:`rnn_backward`.
    """
    B, T, _ = x.shape
    H = weight_hh.shape[1]
    m = np.ones((B, T, 1)) if mask is None else mask[:, :, None].astype(np.float64)

    # x does not depend on the state, so project every step at once; only h W_hh^T is sequential.
    a_x = x @ weight_ih.T  # (B, T, H)
    if bias_ih is not None:
        a_x = a_x + bias_ih + bias_hh

    hs = np.empty((B, T + 1, H))  # hs[:, t + 1] = h_t; hs[:, 0] = h0
    hs[:, 0] = h0
    h_cand = np.empty((B, T, H))  # h~_t, kept for the derivative of act
    for t in range(T):
        a = a_x[:, t] + hs[:, t] @ weight_hh.T  # (B, H)
        h_cand[:, t] = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
        hs[:, t + 1] = m[:, t] * h_cand[:, t] + (1.0 - m[:, t]) * hs[:, t]

    y = m * h_cand  # (B, T, H)
    cache = {
        "x": x, "hs": hs, "h_cand": h_cand, "m": m, "nonlinearity": nonlinearity,
        "weight_ih": weight_ih, "weight_hh": weight_hh, "bias": bias_ih is not None,
    }
    return y, hs[:, T].copy(), cache


def rnn_backward(
    cache: dict[str, Any], dy: np.ndarray, dh_last: np.ndarray
) -> dict[str, np.ndarray]:
    """Backpropagate dL/dy (B, T, H) and dL/dh_last (B, H) through time.

    Returns a dict: ``x`` (B, T, D), ``h0`` (B, H), ``weight_ih``, ``weight_hh``,
    ``bias_ih``, ``bias_hh`` (when the layer has biases) and ``h_steps`` (B, T, H):
    the total dL/dh_t at every real step (0 at padded steps).

    The recurrence, walking t = T-1 ... 0 with ``dh_next`` = dL/dh_t arriving from step t+1::

        dh      = m_t * dy_t + dh_next          total gradient of h_t (output + future)
        dh_raw  = m_t * dh * act'(a_t)          through act: tanh' = 1 - h~^2, relu' = [h~ > 0]
        dh_next = dh_raw W_hh + (1 - m_t) * dh  into h_{t-1}: via W_hh, and the carry at padding

    and the weight gradients sum dh_raw against what it multiplied:
    dW_ih = sum_t dh_raw^T x_t,  dW_hh = sum_t dh_raw^T h_{t-1},  db = sum_t dh_raw,
    dx_t = dh_raw W_ih.
    """
    x, hs, h_cand, m = cache["x"], cache["hs"], cache["h_cand"], cache["m"]
    weight_ih, weight_hh = cache["weight_ih"], cache["weight_hh"]
    B, T, H = h_cand.shape

    if cache["nonlinearity"] == "tanh":
        act_grad = 1.0 - h_cand**2  # tanh'(a) written with the output: 1 - tanh(a)^2
    else:
        act_grad = (h_cand > 0.0).astype(np.float64)  # relu'(a) = 1 where a > 0

    dh_raw_all = np.empty((B, T, H))  # dL/da_t, the gradient of the pre-activation
    h_steps = np.empty((B, T, H))
    dh_next = dh_last.copy()
    for t in reversed(range(T)):
        dh = dy[:, t] * m[:, t] + dh_next  # an output at a padded step is a constant 0
        h_steps[:, t] = m[:, t] * dh
        dh_raw = m[:, t] * dh * act_grad[:, t]
        dh_raw_all[:, t] = dh_raw
        dh_next = dh_raw @ weight_hh + (1.0 - m[:, t]) * dh

    # The weight gradients need no loop: sum over batch and time in one contraction.
    grads = {
        "x": dh_raw_all @ weight_ih,  # (B, T, D)
        "h0": dh_next,  # (B, H)
        "weight_ih": np.einsum("bth,btd->hd", dh_raw_all, x),
        "weight_hh": np.einsum("bth,btk->hk", dh_raw_all, hs[:, :T]),  # h_{t-1} pairs with step t
    }
    if cache["bias"]:
        grads["bias_ih"] = dh_raw_all.sum(axis=(0, 1))
        grads["bias_hh"] = grads["bias_ih"].copy()  # both biases enter the same sum
    grads["h_steps"] = h_steps
    return grads
