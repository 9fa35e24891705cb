"""The CPU path for variable lengths (time cut at each distinct length, no packing)
equals torch.nn over a PackedSequence: outputs, final states and every gradient."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import Recurrent
from rnnkit.nn.segments import _segments
from parity_utils import CELLS, D, H, TORCH_RNN, assert_same, loss_weights, run_with_grads

# ties, a single-step sequence, the longest shorter than T (the last steps pad everyone)
LENGTH_SETS = {"ties": [4, 1, 4, 2, 3, 2], "all-distinct": [6, 1, 5, 2, 4, 3], "max<T": [3, 5, 5, 1, 2, 5]}
STEPS = 7


def test_segments_cut_time_at_each_distinct_length():
    assert _segments([5, 5, 3, 1]) == [(0, 1, 4), (1, 3, 3), (3, 5, 2)]
    assert _segments([4, 4]) == [(0, 4, 2)]


@pytest.mark.parametrize("lengths", LENGTH_SETS.values(), ids=LENGTH_SETS.keys())
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS)
def test_segmented_equals_torch_packed(cell, nonlinearity, bidirectional, lengths):
    dtype = torch.float64
    torch.manual_seed(0)
    kwargs = dict(num_layers=2, bidirectional=bidirectional, batch_first=True)
    if cell == "rnn":
        kwargs["nonlinearity"] = nonlinearity
    ref = TORCH_RNN[cell](D, H, **kwargs).to(dtype)
    rec = Recurrent(cell, D, H, backend="fused", **kwargs).to(dtype)
    rec.load_state_dict(ref.state_dict())
    B, dirs = len(lengths), 2 if bidirectional else 1
    g = torch.Generator().manual_seed(3)
    x = torch.randn(B, STEPS, D, generator=g, dtype=dtype)
    h0 = torch.randn(2 * dirs, B, H, generator=g, dtype=dtype)
    state = (h0, torch.randn_like(h0)) if cell == "lstm" else h0
    for b, n in enumerate(lengths):
        x[b, n:] = 1e3  # garbage in the padding
    weights = loss_weights((B, STEPS, dirs * H), (2 * dirs, B, H), cell == "lstm", dtype)
    ours = run_with_grads(rec, x, state, torch.tensor(lengths), weights)
    theirs = run_with_grads(ref, x, state, torch.tensor(lengths), weights)
    assert_same(ours, theirs, dtype)
    for b, n in enumerate(lengths):
        assert torch.all(ours["output"][b, n:] == 0) and torch.all(ours["x.grad"][b, n:] == 0)


def test_segmented_dropout_between_layers_only_while_training():
    rec = Recurrent("gru", D, H, num_layers=3, bidirectional=True, dropout=0.5).double()
    x = torch.randn(4, 6, D, dtype=torch.float64)
    lengths = torch.tensor([6, 3, 5, 2])
    rec.eval()
    first, second = rec(x, lengths=lengths)[0], rec(x, lengths=lengths)[0]
    torch.testing.assert_close(first, second)
    rec.train()
    assert not torch.allclose(rec(x, lengths=lengths)[0], first)
