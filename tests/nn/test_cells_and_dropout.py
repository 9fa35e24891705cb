"""Cells equal torch's *Cell modules; the Recurrent loop is the cells over time; dropout behaves."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import GRUCell, LSTMCell, Recurrent, RNNCell

CELL_PAIRS = [
    (lambda: RNNCell(7, 11), torch.nn.RNNCell),
    (lambda: RNNCell(7, 11, nonlinearity="relu"), lambda *a: torch.nn.RNNCell(*a, nonlinearity="relu")),
    (lambda: LSTMCell(7, 11), torch.nn.LSTMCell),
    (lambda: GRUCell(7, 11), torch.nn.GRUCell),
]


@pytest.mark.parametrize("make_ours,make_theirs", CELL_PAIRS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_cell_equals_torch_cell(make_ours, make_theirs):
    ours = make_ours().double()
    theirs = make_theirs(7, 11).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(3, 7, dtype=torch.float64)
    h, state = ours(x)
    expected = theirs(x)
    torch.testing.assert_close(h, expected[0] if isinstance(expected, tuple) else expected)
    if isinstance(state, tuple):
        torch.testing.assert_close(state[1], expected[1])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_dropout_between_layers(cell):
    rec = Recurrent(cell, 7, 11, num_layers=3, dropout=0.5).double()
    x = torch.randn(3, 5, 7, dtype=torch.float64)
    rec.eval()
    eval_fused = rec(x)[0]
    rec.backend = "unrolled"
    torch.testing.assert_close(rec(x)[0], eval_fused)  # inactive in eval on both paths
    rec.train()
    for backend in ("fused", "unrolled"):
        rec.backend = backend
        assert not torch.allclose(rec(x)[0], eval_fused)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_recurrent_dropout_is_one_mask_per_sequence(cell):
    torch.manual_seed(3)
    rec = Recurrent(cell, 7, 11, recurrent_dropout=0.5).double()
    x = torch.randn(3, 5, 7, dtype=torch.float64)
    rec.train()
    assert rec.path == "unrolled"
    train_out, _ = rec(x)
    rec.eval()
    eval_out, _ = rec(x)
    assert not torch.allclose(train_out, eval_out)
    # step 0 starts from h0 = 0, which dropout cannot change
    torch.testing.assert_close(train_out[:, 0], eval_out[:, 0])
    train_out.sum().backward()
    assert all(p.grad is not None for p in rec.parameters())


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fused_path_runs_under_cpu_bf16_autocast(cell):
    """Every cell runs the fused kernel under CPU bf16 autocast, in bf16 (tests/nn/test_bf16.py checks the kernels' dtypes)."""
    rec = Recurrent(cell, 7, 11, num_layers=2, bidirectional=True)
    x = torch.randn(3, 5, 7)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert rec.path == "fused"
        out, _ = rec(x, lengths=[5, 2, 4])
        out.float().sum().backward()
    assert all(p.grad is not None for p in rec.parameters())
    assert out.dtype == torch.bfloat16
