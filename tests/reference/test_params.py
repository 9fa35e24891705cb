"""init_params and param_names reproduce torch's state_dict keys, shapes and initialisation."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import reference as ref

D, H = 7, 11


def test_keys_in_torch_state_dict_order() -> None:
    assert ref.param_names(2, bidirectional=True) == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l0_reverse", "weight_hh_l0_reverse", "bias_ih_l0_reverse", "bias_hh_l0_reverse",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
        "weight_ih_l1_reverse", "weight_hh_l1_reverse", "bias_ih_l1_reverse", "bias_hh_l1_reverse",
    ]
    assert ref.param_names(1, bias=False) == ["weight_ih_l0", "weight_hh_l0"]


@pytest.mark.parametrize("cell,gates", [("rnn", 1), ("lstm", 4), ("gru", 3)])
def test_shapes_and_uniform_bound(cell: str, gates: int) -> None:
    params = ref.init_params(cell, D, H, num_layers=2, bidirectional=True, rng=0)
    assert list(params) == ref.param_names(2, bidirectional=True)
    assert params["weight_ih_l0"].shape == (gates * H, D)
    assert params["weight_ih_l1_reverse"].shape == (gates * H, 2 * H)
    assert params["weight_hh_l1"].shape == (gates * H, H)
    assert params["bias_hh_l0_reverse"].shape == (gates * H,)
    bound = 1.0 / np.sqrt(H)
    for value in params.values():
        assert value.dtype == np.float64
        assert np.all(np.abs(value) <= bound)
    assert max(np.abs(v).max() for v in params.values()) > 0.9 * bound  # spread over the range


def test_seed_is_reproducible_and_bias_false_drops_biases() -> None:
    a = ref.init_params("gru", D, H, rng=4)
    b = ref.init_params("gru", D, H, rng=np.random.default_rng(4))
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert set(ref.init_params("gru", D, H, bias=False, rng=4)) == {"weight_ih_l0", "weight_hh_l0"}
