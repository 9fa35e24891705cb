"""A padded batch with ``lengths`` equals each sequence run alone — outputs, final
states and gradients, in both directions — and padding gets zero gradient."""

from __future__ import annotations

import pytest
import torch

from rnnkit.nn import Recurrent
from parity_utils import D, H, TOL, loss_weights, make_inputs, run_with_grads

LENGTHS = [5, 2, 4]


@pytest.mark.parametrize("backend", ["fused", "unrolled"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_padded_batch_equals_each_sequence_alone(cell, bidirectional, backend):
    dtype = torch.float64
    rec = Recurrent(cell, D, H, num_layers=2, bidirectional=bidirectional, backend=backend).to(dtype)
    x, state = make_inputs(cell, 2, bidirectional, dtype)
    is_lstm = cell == "lstm"
    # Garbage in the padding must not leak into anything.
    for b, n in enumerate(LENGTHS):
        x[b, n:] = 1e3
    dirs = 2 if bidirectional else 1
    weights = loss_weights((3, 5, dirs * H), (2 * dirs, 3, H), is_lstm, dtype)
    batch = run_with_grads(rec, x, state, torch.tensor(LENGTHS), weights)

    param_grads = {k: torch.zeros_like(v) for k, v in batch.items() if k.startswith(("weight", "bias"))}
    for b, n in enumerate(LENGTHS):
        sub_state = tuple(s[:, b : b + 1] for s in state) if is_lstm else state[:, b : b + 1]
        sub_w = (weights[0][b : b + 1, :n], weights[1][:, b : b + 1], weights[2][:, b : b + 1] if is_lstm else None)
        alone = run_with_grads(rec, x[b : b + 1, :n], sub_state, None, sub_w)
        tol = TOL[dtype]
        torch.testing.assert_close(batch["output"][b : b + 1, :n], alone["output"], **tol)
        torch.testing.assert_close(batch["h_n"][:, b : b + 1], alone["h_n"], **tol)
        torch.testing.assert_close(batch["x.grad"][b : b + 1, :n], alone["x.grad"], **tol)
        torch.testing.assert_close(batch["h0.grad"][:, b : b + 1], alone["h0.grad"], **tol)
        if is_lstm:
            torch.testing.assert_close(batch["c_n"][:, b : b + 1], alone["c_n"], **tol)
            torch.testing.assert_close(batch["c0.grad"][:, b : b + 1], alone["c0.grad"], **tol)
        for k in param_grads:
            param_grads[k] += alone[k]
        # padding: zero output, zero gradient
        assert torch.all(batch["output"][b, n:] == 0)
        assert torch.all(batch["x.grad"][b, n:] == 0)
    for k, g in param_grads.items():
        torch.testing.assert_close(batch[k], g, **TOL[dtype], msg=lambda m, k=k: f"{k}: {m}")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_full_lengths_equal_no_lengths(cell):
    rec = Recurrent(cell, D, H, bidirectional=True).double()
    x, _ = make_inputs(cell, 1, True, torch.float64)
    for backend in ("fused", "unrolled"):
        rec.backend = backend
        torch.testing.assert_close(rec(x, lengths=[5, 5, 5])[0], rec(x)[0])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_streaming_in_chunks_equals_one_call(cell):
    """A unidirectional stack fed chunk by chunk with its carried state equals one call."""
    rec = Recurrent(cell, D, H, num_layers=2).double()
    x, state = make_inputs(cell, 2, False, torch.float64, steps=9)
    full, full_state = rec(x, state)
    outs, s = [], state
    for chunk in x.split([4, 1, 4], dim=1):
        out, s = rec(chunk, s)
        outs.append(out)
    torch.testing.assert_close(torch.cat(outs, dim=1), full)
    for a, b in zip(s if cell == "lstm" else (s,), full_state if cell == "lstm" else (full_state,)):
        torch.testing.assert_close(a, b)
