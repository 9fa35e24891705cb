"""The hand-written BPTT agrees with central differences, for every cell and for stacks."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

from rnnkit import reference as ref

# The package re-exports the function gradcheck under the module's own name, so fetch the module.
gradcheck_module = importlib.import_module("rnnkit.reference.gradcheck")

B, T, D, H = 3, 5, 7, 11
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def _inputs(cell: str, num_states: int, hidden: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal((num_states, B, hidden))
    c0 = rng.standard_normal((num_states, B, hidden)) if cell == "lstm" else None
    return x, h0, c0


@pytest.mark.parametrize("cell,nonlinearity", CELLS)
def test_single_layer_gradcheck(cell: str, nonlinearity: str) -> None:
    params = ref.init_params(cell, D, H, rng=1)
    x, h0, c0 = _inputs(cell, 1, H, seed=2)
    errors = ref.relative_errors(cell, params, x, h0, c0, nonlinearity=nonlinearity)
    expected = {"weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "x", "h0"}
    assert set(errors) == expected | ({"c0"} if cell == "lstm" else set())
    assert max(errors.values()) < 1e-6, errors


@pytest.mark.parametrize("cell,nonlinearity", CELLS)
def test_stacked_bidirectional_gradcheck_with_lengths(cell: str, nonlinearity: str) -> None:
    hidden = 6  # smaller than 11 to keep ~5000 double forwards fast; still distinct from B, T, D
    params = ref.init_params(cell, D, hidden, num_layers=2, bidirectional=True, rng=3)
    x, h0, c0 = _inputs(cell, 4, hidden, seed=4)
    err = ref.gradcheck(cell, params, x, h0, c0, num_layers=2, bidirectional=True,
                        nonlinearity=nonlinearity, lengths=np.array([5, 2, 4]))
    assert err < 1e-6


@pytest.mark.parametrize("cell", ["rnn", "gru"])
def test_gradcheck_without_bias_and_zero_initial_state(cell: str) -> None:
    params = ref.init_params(cell, D, H, bias=False, rng=5)
    x, _, _ = _inputs(cell, 1, H, seed=6)
    errors = ref.relative_errors(cell, params, x)
    assert set(errors) == {"weight_ih_l0", "weight_hh_l0", "x", "h0"}
    assert max(errors.values()) < 1e-6


def test_gradcheck_catches_a_wrong_gradient(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker has teeth: a 1% error in one gradient array shows up far above 1e-6."""
    real_backward = gradcheck_module.backward

    def slightly_wrong_backward(*args, **kwargs):
        grads = real_backward(*args, **kwargs)
        grads["bias_hh_l0"] = grads["bias_hh_l0"] * 1.01
        return grads

    monkeypatch.setattr(gradcheck_module, "backward", slightly_wrong_backward)
    params = ref.init_params("gru", D, H, rng=7)
    x, h0, _ = _inputs("gru", 1, H, seed=8)
    errors = ref.relative_errors("gru", params, x, h0)
    assert errors["bias_hh_l0"] > 1e-3
    assert errors["bias_ih_l0"] < 1e-6


def test_gradcheck_leaves_its_inputs_unchanged() -> None:
    params = ref.init_params("lstm", D, H, rng=9)
    x, h0, c0 = _inputs("lstm", 1, H, seed=10)
    before = {k: v.copy() for k, v in params.items()}, x.copy(), h0.copy(), c0.copy()
    ref.gradcheck("lstm", params, x, h0, c0)
    for name, value in before[0].items():
        np.testing.assert_array_equal(params[name], value)
    np.testing.assert_array_equal(x, before[1])
    np.testing.assert_array_equal(h0, before[2])
    np.testing.assert_array_equal(c0, before[3])
