"""Layers × directions × lengths: the full recurrent stack, built from the one-layer functions.

A stack is ``num_layers`` layers; each has a forward direction and, when bidirectional, a
reverse one. Layer k+1 reads layer k's output, the two directions concatenated on the
feature axis as ``[forward, reverse]`` (no dropout in the reference). This is
``torch.nn.RNN/LSTM/GRU(batch_first=True)``.

Variable lengths: sequence b is its first ``lengths[b]`` steps. The one-layer functions
take the padding as a mask (state carried, output 0). The reverse direction must read each
sequence's *own* steps backwards, starting at step lengths[b]-1, not at T-1; so we reorder
time per sequence with ``_reverse_within_lengths`` — the valid prefix reversed, the padding
left in place — run the ordinary forward loop on that, and reorder the outputs back. The
reordering is its own inverse, and its gradient is the same reordering. The padding of x is
replaced by zeros first, so its content (even NaN) cannot leak into any result.

Shapes: x (B, T, D), h0/c0 and h_n/c_n (num_layers*num_directions, B, H) with index
``layer*num_directions + direction``, output (B, T, num_directions*H).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.reference.gru import gru_backward, gru_forward
from rnnkit.reference.lstm import lstm_backward, lstm_forward
from rnnkit.reference.params import GATES, layer_suffix
from rnnkit.reference.rnn import rnn_backward, rnn_forward
from rnnkit.reference.validate import (
    check_config,
    check_float_array,
    check_forward_inputs,
    check_params,
    check_positive_int,
)

__all__ = ["init_params", "forward", "backward", "ForwardCache"]


@dataclass
class ForwardCache:
    """What :func:`backward` needs from :func:`forward`: the settings and each layer's cache."""

    cell: str
    num_layers: int
    num_directions: int
    hidden_size: int
    bias: bool
    batch: int
    steps: int
    reverse_index: np.ndarray  # (B, T) the time reordering the reverse direction reads through
    layer_caches: list[dict[str, Any]] = field(default_factory=list)  # index layer*dirs + direction


def init_params(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    bias: bool = True,
    rng: np.random.Generator | int | None = None,
) -> dict[str, np.ndarray]:
    """Fresh float64 parameters keyed like torch's state_dict (see ``params.py`` for the layout).

    Every entry is drawn from uniform(-1/sqrt(H), 1/sqrt(H)), torch's initialisation.
    ``rng`` is a NumPy Generator, a seed, or None (fresh entropy).
    """
    check_config(cell, num_layers, bidirectional)
    check_positive_int("input_size", input_size)
    check_positive_int("hidden_size", hidden_size)
    rng = np.random.default_rng(rng)
    G, H = GATES[cell], hidden_size
    bound = 1.0 / np.sqrt(H)
    dirs = 2 if bidirectional else 1
    params: dict[str, np.ndarray] = {}
    for layer in range(num_layers):
        in_size = input_size if layer == 0 else dirs * H
        for direction in range(dirs):
            sfx = layer_suffix(layer, direction)
            params["weight_ih" + sfx] = rng.uniform(-bound, bound, (G * H, in_size))
            params["weight_hh" + sfx] = rng.uniform(-bound, bound, (G * H, H))
            if bias:
                params["bias_ih" + sfx] = rng.uniform(-bound, bound, (G * H,))
                params["bias_hh" + sfx] = rng.uniform(-bound, bound, (G * H,))
    return params


def _reverse_within_lengths(lengths: np.ndarray, T: int) -> np.ndarray:
    """(B, T) index: step t of the reversed sequence b is step lengths[b]-1-t of the original.

    Padded steps (t >= lengths[b]) map to themselves, so the padding stays at the end.
    """
    t = np.arange(T)[None, :]
    L = lengths[:, None]
    return np.where(t < L, L - 1 - t, t)


def _reorder(a: np.ndarray, index: np.ndarray) -> np.ndarray:
    """a[b, index[b, t]] for (B, T, ...) arrays."""
    return a[np.arange(a.shape[0])[:, None], index]


def forward(
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
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, ForwardCache]:
    """Run the stack over a batch of sequences (batch first, float64).

    Args:
        cell: "rnn" | "lstm" | "gru".
        params: torch-style state dict as NumPy arrays (see :func:`init_params`).
        x: (B, T, D) inputs.
        h0: (num_layers*num_directions, B, H) initial hidden state; zeros when None.
        c0: same shape, initial cell state (lstm only); zeros when None.
        nonlinearity: "tanh" | "relu", for cell="rnn".
        lengths: (B,) ints in [1, T]; None means every sequence has T steps.

    Returns:
        ``(output, h_n, c_n, cache)``: output (B, T, num_directions*H), 0 at padded steps;
        h_n, c_n (num_layers*num_directions, B, H) at each sequence's own last step
        (c_n is None unless cell="lstm"); cache for :func:`backward`.
    """
    check_config(cell, num_layers, bidirectional, nonlinearity)
    params, D, H, bias = check_params(cell, params, num_layers, bidirectional)
    dirs = 2 if bidirectional else 1
    x, h0, c0, lengths = check_forward_inputs(cell, x, h0, c0, lengths, D, H, num_layers * dirs)
    B, T, _ = x.shape

    mask = (np.arange(T)[None, :] < lengths[:, None]).astype(np.float64)  # (B, T)
    # Whatever the padding holds (garbage, NaN) must not reach a number: 0 * NaN is NaN.
    x = np.where(mask[:, :, None] > 0, x, 0.0)
    reverse_index = _reverse_within_lengths(lengths, T)
    cache = ForwardCache(cell, num_layers, dirs, H, bias, B, T, reverse_index)
    h_n = np.empty((num_layers * dirs, B, H))
    c_n = np.empty((num_layers * dirs, B, H)) if cell == "lstm" else None

    layer_input = x  # (B, T, D) for layer 0, (B, T, dirs*H) above
    for layer in range(num_layers):
        outputs = []
        for direction in range(dirs):
            k = layer * dirs + direction
            sfx = layer_suffix(layer, direction)
            w = (params["weight_ih" + sfx], params["weight_hh" + sfx],
                 params.get("bias_ih" + sfx), params.get("bias_hh" + sfx))
            inp = layer_input if direction == 0 else _reorder(layer_input, reverse_index)
            if cell == "lstm":
                y, h_n[k], c_n[k], layer_cache = lstm_forward(inp, h0[k], c0[k], *w, mask)
            elif cell == "gru":
                y, h_n[k], layer_cache = gru_forward(inp, h0[k], *w, mask)
            else:
                y, h_n[k], layer_cache = rnn_forward(inp, h0[k], *w, mask, nonlinearity)
            outputs.append(y if direction == 0 else _reorder(y, reverse_index))
            cache.layer_caches.append(layer_cache)
        layer_input = np.concatenate(outputs, axis=2)  # [forward, reverse] on the feature axis
    return layer_input, h_n, c_n, cache


def backward(
    cache: ForwardCache,
    d_output: np.ndarray,
    d_h_n: np.ndarray | None = None,
    d_c_n: np.ndarray | None = None,
) -> dict[str, Any]:
    """Backpropagate through the stack.

    Args:
        cache: the last value :func:`forward` returned.
        d_output: (B, T, num_directions*H) dL/d output.
        d_h_n, d_c_n: (num_layers*num_directions, B, H) dL/d h_n, dL/d c_n; zeros when None.

    Returns a dict: ``"x"`` (B, T, D), ``"h0"`` (L*dirs, B, H), ``"c0"`` (lstm only), every
    parameter name (``"weight_ih_l0"``, ...), and ``"h_steps"``: a list, index
    ``layer*num_directions + direction``, of (B, T, H) arrays holding the total dL/dh_t
    at every step in original time order (0 at padded steps).
    """
    if not isinstance(cache, ForwardCache):
        raise ConfigError(f"cache must be the ForwardCache returned by forward(); "
                          f"got {type(cache).__name__}")
    c = cache
    L, dirs, H, B, T = c.num_layers, c.num_directions, c.hidden_size, c.batch, c.steps
    d_output = check_float_array("d_output", d_output)
    if d_output.shape != (B, T, dirs * H):
        raise ShapeError(f"d_output must have shape (B, T, num_directions*H) = {(B, T, dirs * H)} "
                         f"like forward's output; got {d_output.shape}")
    state_shape = (L * dirs, B, H)
    d_states = {}
    for name, value in (("d_h_n", d_h_n), ("d_c_n", d_c_n)):
        if name == "d_c_n" and c.cell != "lstm":
            if value is not None:
                raise ConfigError(f"d_c_n is only used by cell='lstm'; got a d_c_n with "
                                  f"cell={c.cell!r}")
            continue
        if value is None:
            d_states[name] = np.zeros(state_shape)
            continue
        arr = check_float_array(name, value)
        if arr.shape != state_shape:
            raise ShapeError(f"{name} must have shape (num_layers*num_directions, B, H) = "
                             f"{state_shape} like forward's state; got {arr.shape}")
        d_states[name] = arr

    grads: dict[str, Any] = {"h0": np.empty(state_shape)}
    if c.cell == "lstm":
        grads["c0"] = np.empty(state_shape)
    h_steps: list[np.ndarray] = [np.empty(0)] * (L * dirs)
    d_layer_out = d_output
    for layer in reversed(range(L)):
        d_layer_in = None  # dL/d(this layer's input), summed over the directions that read it
        for direction in range(dirs):
            k = layer * dirs + direction
            sfx = layer_suffix(layer, direction)
            dy = d_layer_out[:, :, direction * H : (direction + 1) * H]
            if direction == 1:
                dy = _reorder(dy, c.reverse_index)  # into the order the reverse loop ran in
            if c.cell == "lstm":
                g = lstm_backward(c.layer_caches[k], dy, d_states["d_h_n"][k], d_states["d_c_n"][k])
                grads["c0"][k] = g["c0"]
            elif c.cell == "gru":
                g = gru_backward(c.layer_caches[k], dy, d_states["d_h_n"][k])
            else:
                g = rnn_backward(c.layer_caches[k], dy, d_states["d_h_n"][k])
            grads["h0"][k] = g["h0"]
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if kind in g:
                    grads[kind + sfx] = g[kind]
            dx, hk = g["x"], g["h_steps"]
            if direction == 1:
                dx, hk = _reorder(dx, c.reverse_index), _reorder(hk, c.reverse_index)
            h_steps[k] = hk
            d_layer_in = dx if d_layer_in is None else d_layer_in + dx
        d_layer_out = d_layer_in
    grads["x"] = d_layer_out
    grads["h_steps"] = h_steps
    return grads
