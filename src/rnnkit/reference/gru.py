"""GRU layer in NumPy: forward pass and backpropagation through time by hand.

One layer, one direction, a batch of sequences. Gate order r, z, n as in torch::

    r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)          reset gate
    z = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)          update gate
    n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))       candidate
    h_t = (1 - z) * n + z * h_{t-1}

This is the torch / cuDNN variant, which departs from Cho et al. (2014): there the reset
gate multiplies the state *before* the hidden matmul, ``n = tanh(x W_in^T + (r * h) W_hn^T + b_n)``.
Applying r *after* the matmul lets the hidden projection of all three gates, h W_hh^T + b_hh,
be one (B, H) x (H, 3H) product per step, which is what the fused kernels do; it also means
b_hn sits inside the reset and is not interchangeable with b_in. Both variants train equally
well; we follow torch so that one state dict works everywhere.

Shapes (B batch, T time, D input features, H hidden):
    x (B, T, D)   h0 (B, H)   weight_ih (3H, D) = [W_ir|W_iz|W_in]
    weight_hh (3H, H) = [W_hr|W_hz|W_hn]   bias_ih, bias_hh (3H,)

Variable lengths come in as ``mask`` (B, T): 1 at a real step, 0 at padding. A padded
step carries the state unchanged and outputs 0 (h~_t is the value the step computes)::

    h_t = m_t * h~_t + (1 - m_t) * h_{t-1}      y_t = m_t * h~_t

Internal module: inputs are trusted (``rnnkit.reference.forward`` validates them).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["gru_forward", "gru_backward"]


def _sigmoid(a: np.ndarray) -> np.ndarray:
    # = 1 / (1 + exp(-a)), written with tanh so that a large |a| cannot overflow exp.
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def gru_forward(
    x: np.ndarray,
    h0: np.ndarray,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: np.ndarray | None = None,
    bias_hh: np.ndarray | None = None,
    mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Run the layer over all T steps.

    Returns ``(y, h_last, cache)``: y (B, T, H) the outputs (0 at padded steps),
    h_last (B, H) the final state, cache for :func:`gru_backward`.
    """
    B, T, _ = x.shape
    H = weight_hh.shape[1]
    m = np.ones((B, T, 1)) if mask is None else mask[:, :, None].astype(np.float64)

    gi_all = x @ weight_ih.T  # (B, T, 3H), every step at once: x does not depend on the state
    if bias_ih is not None:
        gi_all = gi_all + bias_ih  # b_ih and b_hh stay apart: b_hn is inside the reset

    hs = np.empty((B, T + 1, H))  # hs[:, t + 1] = h_t; hs[:, 0] = h0
    hs[:, 0] = h0
    r_all, z_all, n_all = (np.empty((B, T, H)) for _ in range(3))
    ghn_all = np.empty((B, T, H))  # h_{t-1} W_hn^T + b_hn, which the reset gate multiplied
    for t in range(T):
        h_prev = hs[:, t]
        gi = gi_all[:, t]
        gh = h_prev @ weight_hh.T  # (B, 3H)
        if bias_hh is not None:
            gh = gh + bias_hh
        r = _sigmoid(gi[:, 0:H] + gh[:, 0:H])
        z = _sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
        n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
        h_cand = (1.0 - z) * n + z * h_prev
        r_all[:, t], z_all[:, t], n_all[:, t], ghn_all[:, t] = r, z, n, gh[:, 2 * H :]
        hs[:, t + 1] = m[:, t] * h_cand + (1.0 - m[:, t]) * h_prev

    y = m * ((1.0 - z_all) * n_all + z_all * hs[:, :T])  # (B, T, H): h~_t, zeroed at padding
    cache = {
        "x": x, "hs": hs, "r": r_all, "z": z_all, "n": n_all, "ghn": ghn_all, "m": m,
        "weight_ih": weight_ih, "weight_hh": weight_hh, "bias": bias_ih is not None,
    }
    return y, hs[:, T].copy(), cache


def gru_backward(
    cache: dict[str, Any], dy: np.ndarray, dh_last: np.ndarray
) -> dict[str, np.ndarray]:
    """Backpropagate dL/dy (B, T, H) and dL/dh_last (B, H) through time.

    Returns a dict: ``x`` (B, T, D), ``h0`` (B, H), ``weight_ih``, ``weight_hh``,
    ``bias_ih``, ``bias_hh`` (when the layer has biases) and ``h_steps`` (B, T, H):
    the total dL/dh_t at every real step (0 at padded steps).

    The recurrence, walking t = T-1 ... 0 with ``dh_next`` = dL/dh_t arriving from step t+1
    (gi = x W_ih^T + b_ih and gh = h_{t-1} W_hh^T + b_hh, each split r|z|n)::

        dh     = m_t * dy_t + dh_next                   total gradient of h_t
        dh~    = m_t * dh                               only a real step computed h~
        dn     = dh~ * (1 - z)                          h~ = (1 - z) * n + z * h_{t-1}
        dz     = dh~ * (h_{t-1} - n)
        dn_raw = dn * (1 - n^2)                         tanh' = 1 - n^2
        dr     = dn_raw * gh_n                          n's argument holds r * gh_n
        dgi    = [dr * r(1-r) | dz * z(1-z) | dn_raw]
        dgh    = [dr * r(1-r) | dz * z(1-z) | dn_raw * r]   the reset scales gh_n's gradient
        dh_next = dgh W_hh + dh~ * z + (1 - m_t) * dh   into h_{t-1}: matmul, the z path, the carry

    then dW_ih = sum_t dgi^T x_t, db_ih = sum_t dgi, dW_hh = sum_t dgh^T h_{t-1}, db_hh = sum_t dgh.
    """
    x, hs, r_all, z_all, n_all, ghn_all, m = (
        cache["x"], cache["hs"], cache["r"], cache["z"], cache["n"], cache["ghn"], cache["m"],
    )
    weight_ih, weight_hh = cache["weight_ih"], cache["weight_hh"]
    B, T, H = n_all.shape

    dgi_all = np.empty((B, T, 3 * H))
    dgh_all = np.empty((B, T, 3 * H))
    h_steps = np.empty((B, T, H))
    dh_next = dh_last.copy()
    for t in reversed(range(T)):
        r, z, n, h_prev = r_all[:, t], z_all[:, t], n_all[:, t], hs[:, t]
        dh = m[:, t] * dy[:, t] + dh_next
        h_steps[:, t] = m[:, t] * dh
        dh_cand = m[:, t] * dh
        dn = dh_cand * (1.0 - z)
        dz = dh_cand * (h_prev - n)
        dn_raw = dn * (1.0 - n**2)
        dr = dn_raw * ghn_all[:, t]
        dr_raw = dr * r * (1.0 - r)
        dz_raw = dz * z * (1.0 - z)
        dgi_all[:, t] = np.concatenate([dr_raw, dz_raw, dn_raw], axis=1)
        dgh_all[:, t] = np.concatenate([dr_raw, dz_raw, dn_raw * r], axis=1)
        dh_next = dgh_all[:, t] @ weight_hh + dh_cand * z + (1.0 - m[:, t]) * dh

    grads = {
        "x": dgi_all @ weight_ih,  # (B, T, D)
        "h0": dh_next,
        "weight_ih": np.einsum("btg,btd->gd", dgi_all, x),
        "weight_hh": np.einsum("btg,btk->gk", dgh_all, hs[:, :T]),  # h_{t-1} pairs with step t
    }
    if cache["bias"]:
        grads["bias_ih"] = dgi_all.sum(axis=(0, 1))
        grads["bias_hh"] = dgh_all.sum(axis=(0, 1))
    grads["h_steps"] = h_steps
    return grads
