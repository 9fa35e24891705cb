"""Central-difference gradient check of the hand-written backward pass.

The loss is a fixed random linear read-out of everything forward returns,
``L = sum(output * W_y) + sum(h_n * W_h) [+ sum(c_n * W_c)]``, so d_output = W_y,
d_h_n = W_h, d_c_n = W_c feed :func:`~rnnkit.reference.backward`, and every entry u of
every parameter, of x and of the initial states is nudged both ways::

    numerical = (L(u + eps) - L(u - eps)) / (2 * eps)      error O(eps^2) in exact arithmetic
    relative error = |analytic - numerical| / max(|analytic| + |numerical|, tiny)

with |.| the Euclidean norm over one whole array (weight_ih_l0, x, h0, ...), the CS231n /
min-char-rnn formula applied array by array. Why not entry by entry: L itself carries
float64 rounding noise of about 1e-15, so every numerical entry is off by about
1e-15 / eps ~ 1e-9 whatever its size; an entry whose true gradient happens to be 1e-4
then shows a relative error of 1e-5 although the backward pass is exact. Measured over
the whole array the noise stays at ~1e-9, while a real mistake (a wrong gate derivative,
a transposed weight, a missed carry at padding) moves a whole group of entries by their
own size and gives 1e-3 to 1. ``tiny`` keeps an all-zero gradient (only padded inputs)
from dividing 0 by 0.
"""

from __future__ import annotations

import numpy as np

from rnnkit.errors import ConfigError
from rnnkit.reference.stack import backward, forward
from rnnkit.reference.validate import check_float_array

__all__ = ["gradcheck", "relative_errors"]


def relative_errors(
    cell: str,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    nonlinearity: str = "tanh",
    lengths: np.ndarray | None = None,
    eps: float = 1e-6,
    tiny: float = 1e-12,
    seed: int = 0,
) -> dict[str, float]:
    """Relative error per checked array: every parameter name, ``"x"``, ``"h0"``, ``"c0"``.

    Arguments are those of :func:`~rnnkit.reference.forward`, plus ``eps`` (the nudge),
    ``tiny`` (the denominator's floor) and ``seed`` (for the random read-out weights).
    A None h0 / c0 is checked at zeros. Inputs are copied, never modified.
    """
    if not (isinstance(eps, (float, int)) and eps > 0):
        raise ConfigError(f"eps must be a positive number; got {eps!r}")
    config = dict(num_layers=num_layers, bidirectional=bidirectional,
                  nonlinearity=nonlinearity, lengths=lengths)
    # A first forward validates everything and tells us the state shape.
    output, h_n, _, _ = forward(cell, params, x, h0, c0, **config)

    inputs = {name: check_float_array(f"params[{name!r}]", p).copy() for name, p in params.items()}
    inputs["x"] = check_float_array("x", x).copy()
    inputs["h0"] = np.zeros_like(h_n) if h0 is None else check_float_array("h0", h0).copy()
    if cell == "lstm":
        inputs["c0"] = np.zeros_like(h_n) if c0 is None else check_float_array("c0", c0).copy()

    rng = np.random.default_rng(seed)
    w_y, w_h = rng.standard_normal(output.shape), rng.standard_normal(h_n.shape)
    w_c = rng.standard_normal(h_n.shape) if cell == "lstm" else None

    def loss() -> float:
        p = {name: inputs[name] for name in params}
        out, hn, cn, _ = forward(cell, p, inputs["x"], inputs["h0"], inputs.get("c0"), **config)
        total = np.sum(out * w_y) + np.sum(hn * w_h)
        return float(total + (np.sum(cn * w_c) if w_c is not None else 0.0))

    _, _, _, cache = forward(cell, {n: inputs[n] for n in params}, inputs["x"], inputs["h0"],
                             inputs.get("c0"), **config)
    analytic = backward(cache, w_y, w_h, w_c)

    errors = {}
    for name, arr in inputs.items():
        numerical = np.empty_like(arr)
        flat, num_flat = arr.reshape(-1), numerical.reshape(-1)  # views into arr / numerical
        for j in range(flat.size):
            saved = flat[j]
            flat[j] = saved + eps
            up = loss()
            flat[j] = saved - eps
            down = loss()
            flat[j] = saved
            num_flat[j] = (up - down) / (2.0 * eps)
        a = analytic[name]
        diff = np.linalg.norm(a - numerical)
        errors[name] = float(diff / max(np.linalg.norm(a) + np.linalg.norm(numerical), tiny))
    return errors


def gradcheck(
    cell: str,
    params: dict[str, np.ndarray],
    x: np.ndarray,
    h0: np.ndarray | None = None,
    c0: np.ndarray | None = None,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    nonlinearity: str = "tanh",
    lengths: np.ndarray | None = None,
    eps: float = 1e-6,
    tiny: float = 1e-12,
    seed: int = 0,
) -> float:
    """The largest relative error over all parameters, x and the initial states.

    Same arguments as :func:`relative_errors`. In float64 a correct backward pass gives
    about 1e-9; anything above 1e-6 means a mistake.
    """
    return max(relative_errors(
        cell, params, x, h0, c0, num_layers=num_layers, bidirectional=bidirectional,
        nonlinearity=nonlinearity, lengths=lengths, eps=eps, tiny=tiny, seed=seed,
    ).values())
