"""Bad input at the public boundary: errors name the argument, the expectation and what came."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import BackendError, ConfigError, ShapeError
from rnnkit.nn import LSTMCell, Recurrent


@pytest.fixture
def lstm():
    return Recurrent("lstm", 32, 16, num_layers=2)


def test_wrong_feature_size(lstm):
    with pytest.raises(ShapeError, match=r"x must have shape \(B, T, 32\) because input_size=32; got \(8, 50, 16\)"):
        lstm(torch.zeros(8, 50, 16))


def test_not_three_d(lstm):
    with pytest.raises(ShapeError, match=r"x must be 3-D \(B, T, D\).*got shape \(50, 32\).*unsqueeze\(0\)"):
        lstm(torch.zeros(50, 32))


def test_integer_input(lstm):
    with pytest.raises(ShapeError, match=r"x must be a floating-point tensor.*got dtype torch.int64.*embedding"):
        lstm(torch.zeros(2, 3, 32, dtype=torch.long))


def test_dtype_mismatch(lstm):
    with pytest.raises(ShapeError, match=r"x has dtype torch.float64 but the layer's parameters are torch.float32"):
        lstm(torch.zeros(2, 3, 32, dtype=torch.float64))


def test_empty_batch(lstm):
    with pytest.raises(ShapeError, match=r"x has an empty batch: shape \(0, 3, 32\)"):
        lstm(torch.zeros(0, 3, 32))


def test_zero_time_steps(lstm):
    with pytest.raises(ShapeError, match=r"x has zero time steps: shape \(2, 0, 32\)"):
        lstm(torch.zeros(2, 0, 32))


def test_lengths_wrong_size(lstm):
    with pytest.raises(ShapeError, match=r"lengths must have shape \(B,\) = \(2,\) to match x; got \(3,\)"):
        lstm(torch.zeros(2, 4, 32), lengths=torch.tensor([4, 3, 2]))


@pytest.mark.parametrize("lengths,bad", [([4, 0], "got 0 at index 1"), ([5, 2], "got 5 at index 0")])
def test_lengths_out_of_range(lstm, lengths, bad):
    with pytest.raises(ShapeError, match=rf"lengths must be in \[1, T=4\] \(zero-length sequences are not allowed\); {bad}"):
        lstm(torch.zeros(2, 4, 32), lengths=lengths)


def test_lengths_float(lstm):
    with pytest.raises(ShapeError, match=r"lengths must hold integers; got dtype torch.float32"):
        lstm(torch.zeros(2, 4, 32), lengths=torch.tensor([4.0, 2.0]))


def test_lstm_state_not_pair(lstm):
    with pytest.raises(ShapeError, match=r"state for cell='lstm' must be a pair \(h0, c0\)"):
        lstm(torch.zeros(2, 4, 32), torch.zeros(2, 2, 16))


def test_state_wrong_shape(lstm):
    h = torch.zeros(1, 2, 16)
    with pytest.raises(ShapeError, match=r"state\[0\] \(h0\) must have shape \(num_layers\*num_directions, B, H\) = \(2, 2, 16\); got \(1, 2, 16\)"):
        lstm(torch.zeros(2, 4, 32), (h, h))


def test_gru_state_wrong_shape():
    gru = Recurrent("gru", 5, 6, bidirectional=True)
    with pytest.raises(ShapeError, match=r"state must have shape .* = \(2, 3, 6\); got \(1, 3, 6\)"):
        gru(torch.zeros(3, 4, 5), torch.zeros(1, 3, 6))


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(cell="transformer"), r"cell must be one of 'rnn', 'lstm', 'gru'; got 'transformer'"),
        (dict(hidden_size=0), r"hidden_size must be a positive int; got 0"),
        (dict(num_layers=1.5), r"num_layers must be a positive int; got 1.5"),
        (dict(nonlinearity="sigmoid"), r"nonlinearity must be 'tanh' or 'relu'; got 'sigmoid'"),
        (dict(cell="lstm", nonlinearity="relu"), r"nonlinearity applies to cell='rnn' only"),
        (dict(dropout=1.0), r"dropout must be in \[0, 1\); got 1.0"),
        (dict(backend="cudnn"), r"backend must be one of 'auto', 'fused', 'cpu_fused', 'unrolled'; got 'cudnn'"),
    ],
)
def test_bad_config(kwargs, message):
    args = dict(cell="rnn", input_size=4, hidden_size=3) | kwargs
    with pytest.raises(ConfigError, match=message):
        Recurrent(**args)


def test_fused_cannot_run_recurrent_dropout():
    with pytest.raises(BackendError, match=r"backend='fused' cannot run recurrent_dropout=0.25.*use backend='auto' or 'unrolled'"):
        Recurrent("lstm", 4, 3, backend="fused", recurrent_dropout=0.25)


def test_auto_falls_back_to_unrolled_only_when_needed():
    rec = Recurrent("lstm", 4, 3, recurrent_dropout=0.25)
    assert rec.train().path == "unrolled"  # recurrent dropout needs the loop
    assert rec.eval().path == "fused"  # inactive in eval: the kernels compute the same
    assert Recurrent("gru", 4, 3).path in ("fused", "cpu_fused")  # cpu_fused where its compiled loops run
    assert Recurrent("gru", 4, 3, backend="unrolled").path == "unrolled"


def test_cell_step_shape_errors():
    cell = LSTMCell(7, 11)
    with pytest.raises(ShapeError, match=r"x_t must have shape \(B, 7\) because input_size=7; got \(3, 5\)"):
        cell(torch.zeros(3, 5))
    with pytest.raises(ShapeError, match=r"state must have shape \(3, 11\) \(B, H\); got \(3, 10\)"):
        cell(torch.zeros(3, 7), (torch.zeros(3, 10), torch.zeros(3, 10)))
