"""Parity: rnnkit's fused and unrolled paths = torch.nn with the same weights,
outputs, final states and every gradient, for every cell, 1-3 layers, both directions."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import Recurrent
from parity_utils import CELLS, D, H, TORCH_RNN, assert_same, make_inputs, run_with_grads


def build_pair(cell, nonlinearity, num_layers, bidirectional, dtype):
    ours = Recurrent(cell, D, H, num_layers=num_layers, bidirectional=bidirectional, nonlinearity=nonlinearity).to(dtype)
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    theirs = TORCH_RNN[cell](D, H, num_layers, batch_first=True, bidirectional=bidirectional, **kwargs).to(dtype)
    theirs.load_state_dict(ours.state_dict())  # same names, same layout: loads unchanged
    return ours, theirs


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
@pytest.mark.parametrize("backend", ["fused", "unrolled"])
def test_recurrent_equals_torch_nn(backend, cell, nonlinearity, num_layers, bidirectional, dtype):
    ours, theirs = build_pair(cell, nonlinearity, num_layers, bidirectional, dtype)
    ours.backend = backend
    assert ours.path == backend
    x, state = make_inputs(cell, num_layers, bidirectional, dtype)
    assert_same(run_with_grads(ours, x, state), run_with_grads(theirs, x, state), dtype)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_torch_state_dict_loads_into_recurrent(cell, nonlinearity, bidirectional):
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    theirs = TORCH_RNN[cell](D, H, 2, batch_first=True, bidirectional=bidirectional, **kwargs)
    ours = Recurrent(cell, D, H, num_layers=2, bidirectional=bidirectional, nonlinearity=nonlinearity)
    ours.load_state_dict(theirs.state_dict())  # strict: every key present, no extra
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x, _ = make_inputs(cell, 2, bidirectional, torch.float32)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_packed_lengths_equal_torch_nn(cell):
    """With lengths, both paths match torch.nn run on a PackedSequence."""
    dtype = torch.float64
    ours, theirs = build_pair(cell, "tanh", 2, True, dtype)
    x, state = make_inputs(cell, 2, True, dtype)
    lengths = torch.tensor([5, 2, 4])
    expected = run_with_grads(theirs, x, state, lengths)
    for backend in ("fused", "unrolled"):
        ours.backend = backend
        assert_same(run_with_grads(ours, x, state, lengths), expected, dtype)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_time_major_input_equals_batch_first(cell):
    ours = Recurrent(cell, D, H, bidirectional=True).double()
    time_major = Recurrent(cell, D, H, bidirectional=True, batch_first=False).double()
    time_major.load_state_dict(ours.state_dict())
    x, _ = make_inputs(cell, 1, True, torch.float64)
    out, _ = ours(x)
    out_tm, _ = time_major(x.transpose(0, 1))
    torch.testing.assert_close(out_tm.transpose(0, 1), out)
