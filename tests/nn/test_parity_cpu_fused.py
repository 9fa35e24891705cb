"""Parity of the ``cpu_fused`` path (whole-sequence forward, hand-written backward):
outputs, final states and every gradient equal torch.nn and the NumPy reference's BPTT,
in float64 and float32, 1-3 layers, both directions, with and without lengths.

Every test runs twice: with the time loops in the compiled kernel (``kernels/rnn_steps.c``
through :mod:`rnnkit.nn.cpu_native`) and in torch ops (``cpu_fused.USE_NATIVE = False``, what
runs where no compiler is present)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit import reference as ref
from rnnkit.errors import BackendError
from rnnkit.nn import Recurrent, cpu_fused, cpu_native
from parity_utils import CELLS, D, H, TOL, TORCH_RNN, assert_same, loss_weights, make_inputs, run_with_grads

IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]


@pytest.fixture(autouse=True, params=["native-loops", "torch-loops"])
def loops(request, monkeypatch):
    """Which time loops cpu_fused runs (the compiled ones where they can run at all)."""
    native = request.param == "native-loops"
    if native and (reason := cpu_native.why_not(torch.float32)) is not None:
        pytest.skip(f"the compiled RNN step kernel cannot run here: {reason}")
    monkeypatch.setattr(cpu_fused, "USE_NATIVE", native)
    return request.param


def build_pair(cell, nonlinearity, num_layers, bidirectional, dtype, bias=True):
    ours = Recurrent(cell, D, H, num_layers=num_layers, bidirectional=bidirectional, nonlinearity=nonlinearity,
                     bias=bias, backend="cpu_fused").to(dtype)
    kwargs = {"nonlinearity": nonlinearity} if cell == "rnn" else {}
    theirs = TORCH_RNN[cell](D, H, num_layers, batch_first=True, bidirectional=bidirectional, bias=bias, **kwargs).to(dtype)
    theirs.load_state_dict(ours.state_dict())
    return ours, theirs


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=IDS)
def test_cpu_fused_equals_torch_nn(cell, nonlinearity, num_layers, bidirectional, dtype):
    ours, theirs = build_pair(cell, nonlinearity, num_layers, bidirectional, dtype)
    assert ours.path == "cpu_fused"
    x, state = make_inputs(cell, num_layers, bidirectional, dtype)
    assert_same(run_with_grads(ours, x, state), run_with_grads(theirs, x, state), dtype)


@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=IDS)
def test_cpu_fused_lengths_equal_torch_nn_packed(cell, nonlinearity, bidirectional):
    dtype = torch.float64
    ours, theirs = build_pair(cell, nonlinearity, 2, bidirectional, dtype)
    x, state = make_inputs(cell, 2, bidirectional, dtype, batch=4, steps=6)
    lengths = torch.tensor([3, 6, 1, 3])  # unsorted, repeated, a length-1 sequence
    got = run_with_grads(ours, x, state, lengths)
    assert_same(got, run_with_grads(theirs, x, state, lengths), dtype)
    pad = torch.arange(6)[None, :] >= lengths[:, None]
    assert bool((got["output"][pad] == 0).all()) and bool((got["x.grad"][pad] == 0).all())


@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=IDS)
def test_cpu_fused_without_bias_equals_torch_nn(cell, nonlinearity):
    ours, theirs = build_pair(cell, nonlinearity, 2, True, torch.float64, bias=False)
    x, state = make_inputs(cell, 2, True, torch.float64)
    assert_same(run_with_grads(ours, x, state), run_with_grads(theirs, x, state), torch.float64)


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "padded"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=IDS)
def test_cpu_fused_equals_reference_bptt(cell, nonlinearity, num_layers, bidirectional, lengths):
    dtype = torch.float64
    rec = Recurrent(cell, D, H, num_layers=num_layers, bidirectional=bidirectional, nonlinearity=nonlinearity,
                    backend="cpu_fused").to(dtype)
    x, state = make_inputs(cell, num_layers, bidirectional, dtype)
    dirs = 2 if bidirectional else 1
    weights = loss_weights((3, 5, dirs * H), (num_layers * dirs, 3, H), cell == "lstm", dtype)
    params = {k: v.detach().numpy() for k, v in rec.state_dict().items()}
    is_lstm = cell == "lstm"
    h0, c0 = (state[0].numpy(), state[1].numpy()) if is_lstm else (state.numpy(), None)
    out, h_n, c_n, cache = ref.forward(cell, params, x.numpy(), h0, c0, num_layers=num_layers,
                                       bidirectional=bidirectional, nonlinearity=nonlinearity,
                                       lengths=None if lengths is None else np.asarray(lengths))
    w_out, w_h, w_c = (None if w is None else w.numpy() for w in weights)
    grads = ref.backward(cache, w_out, w_h, w_c if is_lstm else None)
    expected = {"output": out, "h_n": h_n, "x.grad": grads["x"], "h0.grad": grads["h0"]}
    if is_lstm:
        expected |= {"c_n": c_n, "c0.grad": grads["c0"]}
    expected |= {f"{name}.grad": grads[name] for name in params}
    got = run_with_grads(rec, x, state, None if lengths is None else torch.tensor(lengths), weights)
    for key, value in expected.items():
        torch.testing.assert_close(got[key], torch.from_numpy(np.asarray(value)), **TOL[dtype],
                                   msg=lambda m, k=key: f"{k}: {m}")


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cpu_fused_dropout_between_layers(cell):
    torch.manual_seed(0)
    rec = Recurrent(cell, D, H, num_layers=2, dropout=0.5, backend="cpu_fused")
    fused = Recurrent(cell, D, H, num_layers=2, dropout=0.5, backend="fused")
    fused.load_state_dict(rec.state_dict())
    x, _ = make_inputs(cell, 2, False, torch.float32)
    train_out, _ = rec(x)
    train_out.sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in rec.parameters())
    rec.eval(), fused.eval()
    eval_out, _ = rec(x)
    assert not torch.allclose(train_out, eval_out)
    torch.testing.assert_close(eval_out, fused(x)[0], **TOL[torch.float32])


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cpu_fused_two_graphs_alive_at_once(cell):
    """Work buffers are recycled between calls; two forwards before either backward must not share them."""
    rec = Recurrent(cell, D, H, num_layers=2, bidirectional=True, backend="cpu_fused").double()
    x1, s1 = make_inputs(cell, 2, True, torch.float64, seed=1)
    x2, s2 = make_inputs(cell, 2, True, torch.float64, seed=2)
    alone = [run_with_grads(rec, x, s) for x, s in ((x1, s1), (x2, s2))]
    rec.zero_grad()
    out1, _ = rec(x1, s1)
    out2, _ = rec(x2, s2)
    (out1 * 2).sum().backward()
    g1 = {n: p.grad.clone() for n, p in rec.named_parameters()}
    rec.zero_grad()
    out2.sum().backward()
    fused = Recurrent(cell, D, H, num_layers=2, bidirectional=True, backend="fused").double()
    fused.load_state_dict(rec.state_dict())
    for x, out, grads, scale in ((x1, out1, g1, 2), (x2, out2, {n: p.grad for n, p in rec.named_parameters()}, 1)):
        fused.zero_grad()
        ref_out, _ = fused(x, s1 if x is x1 else s2)
        (ref_out * scale).sum().backward()
        torch.testing.assert_close(out, ref_out)
        for n, p in fused.named_parameters():
            torch.testing.assert_close(grads[n], p.grad, msg=n)
    assert alone  # the single runs above exercised the pool before the overlapping ones


def test_cpu_fused_refuses_recurrent_dropout():
    with pytest.raises(BackendError, match="cpu_fused"):
        Recurrent("lstm", D, H, backend="cpu_fused", recurrent_dropout=0.2)


def test_auto_routes_rnn_and_gru_training_to_the_compiled_loops(loops):
    """auto takes cpu_fused where benchmarks/core_speed.py measured it faster (RNN and GRU, float32,
    CPU, training, compiled loops available) and torch's kernels everywhere else."""
    native = loops == "native-loops"
    for cell in ("rnn", "lstm", "gru"):
        rec = Recurrent(cell, D, H)
        assert rec.path == ("cpu_fused" if native and cell != "lstm" else "fused")
        with torch.no_grad():
            assert rec.path == "fused"  # inference: not measured, torch's kernels
        with torch.autocast("cpu", dtype=torch.bfloat16):
            assert rec.path == "fused"
        assert rec.double().path == "fused"


@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=IDS)
def test_native_loops_really_run(cell, nonlinearity, loops, monkeypatch):
    """The compiled loops are taken for float32/float64 on the CPU (a spy counts the calls), and
    not under bf16 autocast, whose bf16 GEMMs only the torch-ops loops run."""
    calls = []
    for name in ("rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "gru_forward", "gru_backward"):
        real = getattr(cpu_native, name)
        monkeypatch.setattr(cpu_native, name, lambda *a, _n=name, _real=real: (calls.append(_n), _real(*a))[1])
    rec = Recurrent(cell, D, H, nonlinearity=nonlinearity, backend="cpu_fused")
    out, _ = rec(torch.randn(3, 5, D), lengths=torch.tensor([5, 2, 4]))
    out.sum().backward()
    expected = [f"{cell}_forward", f"{cell}_backward"] if loops == "native-loops" else []
    assert calls == expected
    calls.clear()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        rec(torch.randn(3, 5, D))[0].float().sum().backward()
    assert calls == []


def test_second_backward_through_a_retained_graph(loops):
    """The saved work buffers go back to the pool only when the graph is freed, so
    ``retain_graph=True`` graphs can run backward again (gradients accumulate twice)."""
    for cell in ("rnn", "lstm", "gru"):
        rec = Recurrent(cell, D, H, num_layers=2, bidirectional=True, backend="cpu_fused").double()
        x, state = make_inputs(cell, 2, True, torch.float64)
        out, _ = rec(x, state)
        out.sum().backward(retain_graph=True)
        once = {n: p.grad.clone() for n, p in rec.named_parameters()}
        rec(x, state)[0].sum().backward()  # another graph in between takes buffers from the pool
        for p in rec.parameters():
            p.grad = None
        out.sum().backward()
        for n, p in rec.named_parameters():
            torch.testing.assert_close(p.grad, once[n], msg=n)


@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=IDS)
def test_saturated_gates_stay_finite(cell, nonlinearity, loops):
    """Inputs of +-1e4 (word ids read as numbers, the imdb-int recipe) saturate every gate; the
    compiled loops' exp must not overflow into inf and NaN under -ffast-math."""
    ours, theirs = build_pair(cell, nonlinearity, 1, False, torch.float32)
    _, state = make_inputs(cell, 1, False, torch.float32, batch=1, steps=4)
    x = torch.tensor([[[1e4] * D, [-1e4] * D, [3e4] * D, [0.5] * D]])
    got = run_with_grads(ours, x, state)
    assert all(bool(torch.isfinite(v).all()) for v in got.values())
    want = run_with_grads(theirs, x, state)
    torch.testing.assert_close(got["output"], want["output"], rtol=1e-5, atol=1e-5)


def test_double_backward_is_refused_with_the_way_out():
    """A gradient penalty (backward with create_graph=True) through cpu_fused says which backend to
    use instead, rather than torch's generic once_differentiable error; fused runs it."""
    for backend in ("cpu_fused", "fused"):
        rec = Recurrent("gru", D, H, backend=backend)
        x = torch.randn(2, 4, D, requires_grad=True)
        loss = rec(x)[0].pow(2).sum()
        if backend == "cpu_fused":
            with pytest.raises(BackendError, match="cannot be differentiated twice .*backend='fused' or 'unrolled'"):
                torch.autograd.grad(loss, x, create_graph=True)
        else:
            (g,) = torch.autograd.grad(loss, x, create_graph=True)
            g.pow(2).sum().backward()
    rec = Recurrent("gru", D, H, backend="cpu_fused")
    x = torch.randn(2, 4, D, requires_grad=True)
    (g,) = torch.autograd.grad(rec(x)[0].sum(), x)  # a plain first-order grad still works
    assert g.shape == x.shape and not g.requires_grad
