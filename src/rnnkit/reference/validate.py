"""Input checks at the reference's public boundary (forward, backward, init_params, gradcheck).

Each check raises :class:`~rnnkit.errors.ConfigError` (a bad setting) or
:class:`~rnnkit.errors.ShapeError` (a bad array) with a message that names the argument,
what was expected and what was received. The per-cell modules trust their inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.reference.params import GATES, layer_suffix, param_names

__all__ = [
    "check_positive_int",
    "check_config",
    "check_params",
    "check_float_array",
    "check_forward_inputs",
]


def check_positive_int(name: str, value: Any) -> int:
    """An int >= 1 (bools are not ints here)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be an integer >= 1; got {value!r}")
    return int(value)


def check_config(
    cell: Any, num_layers: Any, bidirectional: Any, nonlinearity: Any = "tanh"
) -> None:
    """The settings that fix the parameter layout and the equations."""
    if cell not in GATES:
        raise ConfigError(f"cell must be one of 'rnn', 'lstm', 'gru'; got {cell!r}")
    check_positive_int("num_layers", num_layers)
    if not isinstance(bidirectional, (bool, np.bool_)):
        raise ConfigError(f"bidirectional must be True or False; got {bidirectional!r}")
    if nonlinearity not in ("tanh", "relu"):
        raise ConfigError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
    if cell != "rnn" and nonlinearity != "tanh":
        raise ConfigError(
            f"nonlinearity applies only to cell='rnn'; got nonlinearity={nonlinearity!r} "
            f"with cell={cell!r}"
        )


def check_float_array(name: str, value: Any) -> np.ndarray:
    """A real floating-point array, returned as float64 (the reference computes in float64)."""
    arr = np.asarray(value)
    if not np.issubdtype(arr.dtype, np.floating):
        raise ShapeError(f"{name} must be a floating-point array; got dtype {arr.dtype}")
    return arr.astype(np.float64, copy=False)


def check_params(
    cell: str, params: Any, num_layers: int, bidirectional: bool
) -> tuple[dict[str, np.ndarray], int, int, bool]:
    """The parameter dict must hold exactly torch's keys with torch's shapes.

    Returns ``(params as float64, input_size, hidden_size, bias)``.
    """
    setting = f"cell={cell!r}, num_layers={num_layers}, bidirectional={bidirectional}"
    if not isinstance(params, dict):
        raise ConfigError(f"params must be a dict of arrays keyed like torch's state_dict; "
                          f"got {type(params).__name__}")
    bias = "bias_ih_l0" in params or "bias_hh_l0" in params
    expected = param_names(num_layers, bidirectional, bias)
    for name in expected:
        if name not in params:
            raise ConfigError(f"params is missing {name!r} for {setting}, bias={bias} "
                              f"(expected keys: {', '.join(expected)})")
    for name in params:
        if name not in expected:
            raise ConfigError(f"params has unexpected key {name!r} for {setting}, bias={bias} "
                              f"(expected keys: {', '.join(expected)})")
    out = {name: check_float_array(f"params[{name!r}]", params[name]) for name in expected}

    G = GATES[cell]
    w_hh = out["weight_hh_l0"]
    if w_hh.ndim != 2 or w_hh.shape[0] != G * w_hh.shape[1]:
        raise ShapeError(f"params['weight_hh_l0'] must have shape ({G}*H, H) for cell={cell!r}; "
                         f"got {w_hh.shape}")
    H = w_hh.shape[1]
    w_ih = out["weight_ih_l0"]
    if w_ih.ndim != 2 or w_ih.shape[0] != G * H:
        raise ShapeError(f"params['weight_ih_l0'] must have shape ({G * H}, D) = ({G}*H, D) "
                         f"because hidden_size={H}; got {w_ih.shape}")
    D = w_ih.shape[1]
    dirs = 2 if bidirectional else 1
    for layer in range(num_layers):
        if layer == 0:
            in_size, why_in = D, "input_size"
        else:
            in_size, why_in = dirs * H, ("2*H" if dirs == 2 else "H")
        for direction in range(dirs):
            sfx = layer_suffix(layer, direction)
            want = {
                "weight_ih" + sfx: ((G * H, in_size), f"({G}*H, {why_in})"),
                "weight_hh" + sfx: ((G * H, H), f"({G}*H, H)"),
            }
            if bias:
                want["bias_ih" + sfx] = ((G * H,), f"({G}*H,)")
                want["bias_hh" + sfx] = ((G * H,), f"({G}*H,)")
            for name, (shape, formula) in want.items():
                if out[name].shape != shape:
                    raise ShapeError(
                        f"params[{name!r}] must have shape {shape} = {formula} because "
                        f"hidden_size={H}, input_size={D}; got {out[name].shape}"
                    )
    return out, D, H, bias


def check_forward_inputs(
    cell: str,
    x: Any,
    h0: Any,
    c0: Any,
    lengths: Any,
    input_size: int,
    hidden_size: int,
    num_states: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
    """x (B, T, D), h0/c0 (L*dirs, B, H) or None, lengths (B,) ints in [1, T] or None.

    Returns ``(x, h0, c0, lengths)`` in float64 / int64 with zeros and full lengths filled in
    (c0 stays None unless cell is 'lstm').
    """
    x = check_float_array("x", x)
    if x.ndim != 3:
        raise ShapeError(f"x must be 3-D with shape (B, T, D) (batch first); got shape {x.shape}")
    B, T, D = x.shape
    if D != input_size:
        raise ShapeError(f"x must have shape (B, T, {input_size}) because params['weight_ih_l0'] "
                         f"has input size {input_size}; got {x.shape}")
    if B == 0 or T == 0:
        raise ShapeError(f"x must hold at least one sequence of at least one step; got {x.shape}")

    state_shape = (num_states, B, hidden_size)
    states = []
    for name, value in (("h0", h0), ("c0", c0)):
        if name == "c0" and cell != "lstm":
            if value is not None:
                raise ConfigError(f"c0 is only used by cell='lstm'; got a c0 with cell={cell!r}")
            states.append(None)
            continue
        if value is None:
            states.append(np.zeros(state_shape))
            continue
        arr = check_float_array(name, value)
        if arr.shape != state_shape:
            raise ShapeError(f"{name} must have shape (num_layers*num_directions, B, H) = "
                             f"{state_shape}; got {arr.shape}")
        states.append(arr)

    if lengths is None:
        lens = np.full(B, T, dtype=np.int64)
    else:
        lens = np.asarray(lengths)
        if lens.dtype == np.bool_ or not np.issubdtype(lens.dtype, np.integer):
            raise ShapeError(f"lengths must be integers; got dtype {lens.dtype}")
        if lens.shape != (B,):
            raise ShapeError(f"lengths must have shape ({B},) (one length per sequence in x); "
                             f"got {lens.shape}")
        bad = np.flatnonzero((lens < 1) | (lens > T))
        if bad.size:
            b = int(bad[0])
            raise ShapeError(
                f"lengths must be in [1, T] = [1, {T}]; got lengths[{b}] = {int(lens[b])}"
            )
        lens = lens.astype(np.int64)
    return x, states[0], states[1], lens
