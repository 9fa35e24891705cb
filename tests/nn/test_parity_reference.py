"""Parity with the NumPy reference and its hand-written BPTT: outputs, final states,
every gradient, and dL/dh_t per step (the unrolled path's trace), float64 to 1e-8."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit import reference as ref
from rnnkit.nn import Recurrent
from parity_utils import CELLS, D, H, TOL, loss_weights, make_inputs, run_with_grads

TOL64 = TOL[torch.float64]


def reference_run(cell, nonlinearity, rec, x, state, lengths, weights):
    params = {k: v.detach().numpy() for k, v in rec.state_dict().items()}
    is_lstm = cell == "lstm"
    h0, c0 = (state[0].numpy(), state[1].numpy()) if is_lstm else (state.numpy(), None)
    out, h_n, c_n, cache = ref.forward(
        cell, params, x.numpy(), h0, c0, num_layers=rec.num_layers, bidirectional=rec.bidirectional,
        nonlinearity=nonlinearity, lengths=None if lengths is None else np.asarray(lengths),
    )
    w_out, w_h, w_c = (None if w is None else w.numpy() for w in weights)
    grads = ref.backward(cache, w_out, w_h, w_c if is_lstm else None)
    result = {"output": out, "h_n": h_n, "x.grad": grads["x"], "h0.grad": grads["h0"]}
    if is_lstm:
        result |= {"c_n": c_n, "c0.grad": grads["c0"]}
    result |= {f"{name}.grad": grads[name] for name in params}
    return {k: torch.from_numpy(np.asarray(v)) for k, v in result.items()}, grads["h_steps"]


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "padded"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
def test_reference_equals_fused_and_unrolled(cell, nonlinearity, num_layers, bidirectional, lengths):
    dtype = torch.float64
    rec = Recurrent(cell, D, H, num_layers=num_layers, bidirectional=bidirectional, nonlinearity=nonlinearity).to(dtype)
    x, state = make_inputs(cell, num_layers, bidirectional, dtype)
    dirs = 2 if bidirectional else 1
    weights = loss_weights((3, 5, dirs * H), (num_layers * dirs, 3, H), cell == "lstm", dtype)
    expected, h_steps = reference_run(cell, nonlinearity, rec, x, state, lengths, weights)
    lengths_t = None if lengths is None else torch.tensor(lengths)
    for backend in ("fused", "unrolled"):
        rec.backend = backend
        got = run_with_grads(rec, x, state, lengths_t, weights)
        for key, value in expected.items():
            torch.testing.assert_close(got[key], value, **TOL64, msg=lambda m, k=key, b=backend: f"{b} {k}: {m}")

    # the trace's dL/dh_t equals the reference's BPTT, for every layer and direction
    trace = rec.trace(x, state, lengths=lengths_t)
    h_n, c_n = trace.state if cell == "lstm" else (trace.state, None)
    loss = (trace.output * weights[0]).sum() + (h_n * weights[1]).sum() + ((c_n * weights[2]).sum() if c_n is not None else 0)
    loss.backward()
    mask = torch.ones(3, 5, 1, dtype=torch.bool) if lengths is None else (torch.arange(5) < lengths_t[:, None]).unsqueeze(-1)
    for k, ref_steps in enumerate(h_steps):
        got = trace.hidden_grads(k) * mask
        torch.testing.assert_close(got, torch.from_numpy(ref_steps) * mask, **TOL64, msg=lambda m, k=k: f"h_steps[{k}]: {m}")


def test_trace_records_states_and_grad_norms():
    rec = Recurrent("lstm", D, H, num_layers=2, bidirectional=True).double()
    x, state = make_inputs("lstm", 2, True, torch.float64)
    trace = rec.trace(x, state)
    out, final = rec(x, state)
    torch.testing.assert_close(trace.output, out)
    # the last step of the forward direction's h is the top layer's final state
    torch.testing.assert_close(trace.hidden(2)[:, -1], final[0][2])
    torch.testing.assert_close(trace.cell(3)[:, 0], final[1][3])  # reverse direction ends at t=0
    trace.output[:, -1].sum().backward()  # loss only at the last step
    norms = trace.grad_norms()
    assert norms.shape == (5,)
    assert bool(torch.all(norms[-1] > 0))
