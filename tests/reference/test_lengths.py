"""A padded batch with lengths equals each sequence run alone — outputs, states and gradients."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit import reference as ref

B, T, D, H = 3, 5, 7, 11
LENGTHS = np.array([5, 2, 4])
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS)
def test_padded_batch_equals_each_sequence_alone(
    cell: str, nonlinearity: str, bidirectional: bool
) -> None:
    L, dirs = 2, 2 if bidirectional else 1
    S = L * dirs
    config = dict(num_layers=L, bidirectional=bidirectional, nonlinearity=nonlinearity)
    rng = np.random.default_rng(0)
    params = ref.init_params(cell, D, H, num_layers=L, bidirectional=bidirectional, rng=1)
    x = rng.standard_normal((B, T, D))
    for b, n in enumerate(LENGTHS):
        x[b, n:] = np.nan  # whatever the padding holds must not leak anywhere
    h0 = rng.standard_normal((S, B, H))
    c0 = rng.standard_normal((S, B, H)) if cell == "lstm" else None
    d_out = rng.standard_normal((B, T, dirs * H))  # nonzero at padding too: it must be ignored
    d_h = rng.standard_normal((S, B, H))
    d_c = rng.standard_normal((S, B, H)) if cell == "lstm" else None

    out, h_n, c_n, cache = ref.forward(cell, params, x, h0, c0, lengths=LENGTHS, **config)
    grads = ref.backward(cache, d_out, d_h, d_c)

    param_sum = {name: np.zeros_like(p) for name, p in params.items()}
    for b, n in enumerate(LENGTHS):
        one = slice(b, b + 1)
        c0_b = None if c0 is None else c0[:, one]
        out_b, h_b, c_b, cache_b = ref.forward(cell, params, x[one, :n], h0[:, one], c0_b, **config)
        d_c_b = None if d_c is None else d_c[:, one]
        grads_b = ref.backward(cache_b, d_out[one, :n], d_h[:, one], d_c_b)

        np.testing.assert_allclose(out[one, :n], out_b, rtol=1e-12, atol=1e-12)
        assert np.all(out[b, n:] == 0.0)
        np.testing.assert_allclose(h_n[:, one], h_b, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(grads["x"][one, :n], grads_b["x"], rtol=1e-10, atol=1e-12)
        assert np.all(grads["x"][b, n:] == 0.0), "padded inputs must get exactly zero gradient"
        np.testing.assert_allclose(grads["h0"][:, one], grads_b["h0"], rtol=1e-10, atol=1e-12)
        if cell == "lstm":
            np.testing.assert_allclose(c_n[:, one], c_b, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(grads["c0"][:, one], grads_b["c0"], rtol=1e-10, atol=1e-12)
        for k in range(S):
            np.testing.assert_allclose(grads["h_steps"][k][one, :n], grads_b["h_steps"][k],
                                       rtol=1e-10, atol=1e-12)
            assert np.all(grads["h_steps"][k][b, n:] == 0.0)
        for name in params:
            param_sum[name] += grads_b[name]

    # The loss is a sum over sequences, so the batch's weight gradients are the sum of each one's.
    for name in params:
        np.testing.assert_allclose(grads[name], param_sum[name], rtol=1e-10, atol=1e-12)


def test_full_lengths_equal_no_lengths() -> None:
    params = ref.init_params("lstm", D, H, bidirectional=True, rng=2)
    x = np.random.default_rng(3).standard_normal((B, T, D))
    a = ref.forward("lstm", params, x, bidirectional=True)
    b = ref.forward("lstm", params, x, bidirectional=True, lengths=np.full(B, T))
    for left, right in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(left, right)


def test_reverse_direction_starts_at_each_sequences_own_last_step() -> None:
    """Hand-checkable: a 1-unit RNN with W_ih = 1, W_hh = 0 and no bias outputs tanh(x_t).

    With W_hh = 1 instead, the reverse direction's output at step 0 sums the sequence's own
    steps only, and its final state is the value at step 0 — not at step T-1.
    """
    params = {
        "weight_ih_l0": np.ones((1, 1)), "weight_hh_l0": np.zeros((1, 1)),
        "weight_ih_l0_reverse": np.ones((1, 1)), "weight_hh_l0_reverse": np.ones((1, 1)),
    }
    x = np.array([[0.1, 0.2, 0.3, 0.0, 0.0]])[:, :, None]  # (1, 5, 1), length 3
    out, h_n, _, _ = ref.forward("rnn", params, x, bidirectional=True, lengths=np.array([3]))
    r2 = np.tanh(0.3)
    r1 = np.tanh(0.2 + r2)
    r0 = np.tanh(0.1 + r1)
    np.testing.assert_allclose(out[0, :, 1], [r0, r1, r2, 0.0, 0.0], rtol=1e-14)
    np.testing.assert_allclose(out[0, :, 0], np.tanh([0.1, 0.2, 0.3, 0.0, 0.0]) * [1, 1, 1, 0, 0])
    np.testing.assert_allclose(h_n[:, 0, 0], [np.tanh(0.3), r0], rtol=1e-14)
