"""Bad input fails at the public boundary with a message naming argument, expectation and value."""

from __future__ import annotations

import re

import numpy as np
import pytest

from rnnkit import reference as ref
from rnnkit.errors import ConfigError, ShapeError

B, T, D, H = 3, 5, 7, 11
RNG = np.random.default_rng(0)
X = RNG.standard_normal((B, T, D))
LSTM = ref.init_params("lstm", D, H, rng=1)
GRU = ref.init_params("gru", D, H, rng=1)
LSTM2 = ref.init_params("lstm", D, H, num_layers=2, rng=1)


def _with(params: dict, name: str, value: np.ndarray) -> dict:
    return {**params, name: value}


FORWARD_CASES = [
    # (error class, exact message, cell, params, x, keyword arguments)
    (ConfigError, "cell must be one of 'rnn', 'lstm', 'gru'; got 'cnn'", "cnn", LSTM, X, {}),
    (ConfigError, "nonlinearity must be 'tanh' or 'relu'; got 'sigmoid'",
     "rnn", ref.init_params("rnn", D, H, rng=1), X, {"nonlinearity": "sigmoid"}),
    (ConfigError, "nonlinearity applies only to cell='rnn'; got nonlinearity='relu' with cell='lstm'",
     "lstm", LSTM, X, {"nonlinearity": "relu"}),
    (ConfigError, "num_layers must be an integer >= 1; got 0", "lstm", LSTM, X, {"num_layers": 0}),
    (ConfigError, "bidirectional must be True or False; got 'yes'",
     "lstm", LSTM, X, {"bidirectional": "yes"}),
    (ConfigError, "params must be a dict of arrays keyed like torch's state_dict; got list",
     "lstm", [1, 2], X, {}),
    (ConfigError, "params is missing 'weight_ih_l1' for cell='lstm', num_layers=2, "
     "bidirectional=False, bias=True (expected keys: weight_ih_l0, weight_hh_l0, bias_ih_l0, "
     "bias_hh_l0, weight_ih_l1, weight_hh_l1, bias_ih_l1, bias_hh_l1)",
     "lstm", LSTM, X, {"num_layers": 2}),
    (ConfigError, "params has unexpected key 'weight_ih_l1' for cell='lstm', num_layers=1, "
     "bidirectional=False, bias=True", "lstm", LSTM2, X, {}),
    (ShapeError, "params['weight_hh_l0'] must have shape (3*H, H) for cell='gru'; got (44, 11)",
     "gru", LSTM, X, {}),
    (ShapeError, "params['weight_ih_l0'] must have shape (44, D) = (4*H, D) because "
     "hidden_size=11; got (33, 7)", "lstm", _with(LSTM, "weight_ih_l0", GRU["weight_ih_l0"]), X, {}),
    (ShapeError, "params['weight_ih_l1'] must have shape (44, 11) = (4*H, H) because "
     "hidden_size=11, input_size=7; got (44, 7)",
     "lstm", _with(LSTM2, "weight_ih_l1", LSTM["weight_ih_l0"]), X, {"num_layers": 2}),
    (ShapeError, "params['bias_hh_l0'] must have shape (44,) = (4*H,) because hidden_size=11, "
     "input_size=7; got (33,)", "lstm", _with(LSTM, "bias_hh_l0", GRU["bias_hh_l0"]), X, {}),
    (ShapeError, "params['weight_hh_l0'] must be a floating-point array; got dtype int64",
     "lstm", _with(LSTM, "weight_hh_l0", np.ones((44, 11), dtype=np.int64)), X, {}),
    (ShapeError, "x must be 3-D with shape (B, T, D) (batch first); got shape (5, 7)",
     "lstm", LSTM, X[0], {}),
    (ShapeError, "x must have shape (B, T, 7) because params['weight_ih_l0'] has input size 7; "
     "got (3, 5, 6)", "lstm", LSTM, X[:, :, :6], {}),
    (ShapeError, "x must be a floating-point array; got dtype int64",
     "lstm", LSTM, X.astype(np.int64), {}),
    (ShapeError, "x must hold at least one sequence of at least one step; got (0, 5, 7)",
     "lstm", LSTM, X[:0], {}),
    (ShapeError, "h0 must have shape (num_layers*num_directions, B, H) = (1, 3, 11); got (2, 3, 11)",
     "lstm", LSTM, X, {"h0": np.zeros((2, B, H))}),
    (ShapeError, "c0 must have shape (num_layers*num_directions, B, H) = (1, 3, 11); got (1, 3, 7)",
     "lstm", LSTM, X, {"c0": np.zeros((1, B, D))}),
    (ConfigError, "c0 is only used by cell='lstm'; got a c0 with cell='gru'",
     "gru", GRU, X, {"c0": np.zeros((1, B, H))}),
    (ShapeError, "lengths must have shape (3,) (one length per sequence in x); got (4,)",
     "gru", GRU, X, {"lengths": np.array([5, 5, 5, 5])}),
    (ShapeError, "lengths must be integers; got dtype float64",
     "gru", GRU, X, {"lengths": np.array([5.0, 2.0, 4.0])}),
    (ShapeError, "lengths must be in [1, T] = [1, 5]; got lengths[1] = 0",
     "gru", GRU, X, {"lengths": np.array([5, 0, 4])}),
    (ShapeError, "lengths must be in [1, T] = [1, 5]; got lengths[2] = 6",
     "gru", GRU, X, {"lengths": np.array([5, 2, 6])}),
]


@pytest.mark.parametrize(
    "error,message,cell,params,x,kwargs", FORWARD_CASES, ids=[c[1][:40] for c in FORWARD_CASES]
)
def test_forward_rejects_bad_input(error, message, cell, params, x, kwargs) -> None:
    kwargs = dict(kwargs)
    h0, c0 = kwargs.pop("h0", None), kwargs.pop("c0", None)
    with pytest.raises(error, match=re.escape(message)):
        ref.forward(cell, params, x, h0, c0, **kwargs)


def test_backward_rejects_bad_gradients() -> None:
    out, _, _, cache = ref.forward("gru", GRU, X)
    with pytest.raises(ShapeError, match=re.escape(
        "d_output must have shape (B, T, num_directions*H) = (3, 5, 11) like forward's output; "
        "got (3, 5, 7)"
    )):
        ref.backward(cache, np.zeros((B, T, D)))
    with pytest.raises(ShapeError, match=re.escape(
        "d_h_n must have shape (num_layers*num_directions, B, H) = (1, 3, 11) like forward's "
        "state; got (3, 11)"
    )):
        ref.backward(cache, out, np.zeros((B, H)))
    with pytest.raises(ConfigError, match=re.escape(
        "d_c_n is only used by cell='lstm'; got a d_c_n with cell='gru'"
    )):
        ref.backward(cache, out, None, np.zeros((1, B, H)))
    with pytest.raises(ConfigError, match=re.escape(
        "cache must be the ForwardCache returned by forward(); got dict"
    )):
        ref.backward({}, out)


def test_init_params_and_gradcheck_reject_bad_settings() -> None:
    with pytest.raises(ConfigError, match=re.escape("hidden_size must be an integer >= 1; got 0")):
        ref.init_params("lstm", D, 0)
    with pytest.raises(ConfigError, match=re.escape("input_size must be an integer >= 1; got 7.0")):
        ref.init_params("lstm", 7.0, H)
    unknown = "cell must be one of 'rnn', 'lstm', 'gru'; got 'LSTM'"
    with pytest.raises(ConfigError, match=re.escape(unknown)):
        ref.init_params("LSTM", D, H)
    with pytest.raises(ConfigError, match=re.escape("eps must be a positive number; got 0")):
        ref.gradcheck("gru", GRU, X, eps=0)
