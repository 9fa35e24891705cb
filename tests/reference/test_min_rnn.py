"""The NumPy minGRU/minLSTM: hand-written BPTT equals central differences; padding is inert."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rnnkit.reference import min_rnn as ref

SRC = Path(__file__).resolve().parents[2] / "src"
B, T, D, H = 3, 5, 4, 3


def _setup(cell, num_layers, bidirectional, seed=0):
    rng = np.random.default_rng(seed)
    dirs = 2 if bidirectional else 1
    params = ref.init_params(cell, D, H, num_layers, bidirectional, rng=rng)
    # bigger weights so that g's two branches (v >= 0 and v < 0) are both exercised
    params = {k: 2.0 * v for k, v in params.items()}
    x = rng.standard_normal((B, T, D))
    h0 = rng.standard_normal((num_layers * dirs, B, H))
    w_out = rng.standard_normal((B, T, dirs * H))
    w_h = rng.standard_normal((num_layers * dirs, B, H))
    return params, x, h0, w_out, w_h


def _loss(cell, params, x, h0, w_out, w_h, **kw):
    out, h_n, _ = ref.forward(cell, params, x, h0, **kw)
    return float((out * w_out).sum() + (h_n * w_h).sum())


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("num_layers,bidirectional", [(1, False), (2, True)])
def test_bptt_equals_central_differences(cell, num_layers, bidirectional):
    params, x, h0, w_out, w_h = _setup(cell, num_layers, bidirectional)
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, lengths=np.array([5, 2, 4]))
    out, h_n, cache = ref.forward(cell, params, x, h0, **kw)
    grads = ref.backward(cache, w_out, w_h)
    eps = 1e-6
    targets = {"x": x, "h0": h0, **params}
    for name, arr in targets.items():
        num = np.zeros_like(arr)
        for i in np.ndindex(arr.shape):
            old = arr[i]
            arr[i] = old + eps
            up = _loss(cell, params, x, h0, w_out, w_h, **kw)
            arr[i] = old - eps
            down = _loss(cell, params, x, h0, w_out, w_h, **kw)
            arr[i] = old
            num[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grads[name], num, rtol=1e-5, atol=1e-7, err_msg=name)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_padded_batch_equals_each_sequence_alone(cell):
    params, x, h0, w_out, w_h = _setup(cell, 2, True, seed=3)
    lengths = np.array([5, 2, 4])
    x_padded = x.copy()
    x_padded[1, 2:] = np.nan  # whatever the padding holds never reaches a number
    out, h_n, cache = ref.forward(cell, params, x_padded, h0, num_layers=2, bidirectional=True, lengths=lengths)
    grads = ref.backward(cache, w_out, w_h)
    for b, n in enumerate(lengths):
        o, h, c = ref.forward(cell, params, x[b:b + 1, :n], h0[:, b:b + 1], num_layers=2, bidirectional=True)
        np.testing.assert_allclose(out[b, :n], o[0], rtol=1e-12, atol=1e-14)
        assert np.all(out[b, n:] == 0)
        np.testing.assert_allclose(h_n[:, b], h[:, 0], rtol=1e-12, atol=1e-14)
        g = ref.backward(c, w_out[b:b + 1, :n], w_h[:, b:b + 1])
        np.testing.assert_allclose(grads["x"][b, :n], g["x"][0], rtol=1e-10, atol=1e-12)
        assert np.all(grads["x"][b, n:] == 0)


def test_g_is_positive_and_continuous():
    v = np.linspace(-30, 30, 2001)
    assert np.all(ref.g(v) > 0)
    np.testing.assert_allclose(ref.g(np.array([-1e-12, 0.0])), [0.5, 0.5], atol=1e-11)
    np.testing.assert_allclose(ref.g_prime(np.array([1.0, -40.0])), [1.0, 0.0], atol=1e-15)


def test_minlstm_gates_sum_to_one_and_importing_never_loads_torch():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    code = "import rnnkit.reference.min_rnn, sys; assert 'torch' not in sys.modules, 'torch was imported'"
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    params, x, h0, *_ = _setup("minlstm", 1, False)
    _, _, cache = ref.forward("minlstm", params, x, h0)
    np.testing.assert_allclose(cache.layer_caches[0]["a"] + cache.layer_caches[0]["w"], 1.0, rtol=1e-14)
