"""MinRecurrent (minGRU/minLSTM): the blocked scan = the compiled kernel = the sequential loop = the
NumPy reference with hand-written BPTT, forward and backward in float64, with lengths, one and two
directions; a padded batch equals each sequence run alone; long float32 sequences stay stable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn import MinRecurrent, Recurrent, make_recurrent
from rnnkit.reference import min_rnn as ref

B, T, D, H = 3, 6, 5, 4
LENGTHS = torch.tensor([6, 2, 4])
F64 = dict(rtol=1e-9, atol=1e-11)


def _layer(cell, num_layers, bidirectional, backend, chunk_size=4, seed=0):
    torch.manual_seed(seed)
    layer = MinRecurrent(cell, D, H, num_layers=num_layers, bidirectional=bidirectional, backend=backend,
                         chunk_size=chunk_size).double()
    with torch.no_grad():  # larger weights: both branches of g and saturated gates get exercised
        for p in layer.parameters():
            p.mul_(3.0)
    return layer


def _inputs(num_layers, bidirectional, seed=1):
    g = torch.Generator().manual_seed(seed)
    dirs = 2 if bidirectional else 1
    x = torch.randn(B, T, D, generator=g, dtype=torch.float64)
    h0 = torch.randn(num_layers * dirs, B, H, generator=g, dtype=torch.float64)
    w_out = torch.randn(B, T, dirs * H, generator=g, dtype=torch.float64)
    w_h = torch.randn(num_layers * dirs, B, H, generator=g, dtype=torch.float64)
    return x, h0, w_out, w_h


def _run(layer, x, h0, w_out, w_h, lengths):
    x, h0 = x.clone().requires_grad_(True), h0.clone().requires_grad_(True)
    layer.zero_grad()
    out, h_n = layer(x, h0, lengths)
    ((out * w_out).sum() + (h_n * w_h).sum()).backward()
    res = {"output": out.detach(), "h_n": h_n.detach(), "x": x.grad, "h0": h0.grad}
    res.update({n: p.grad.clone() for n, p in layer.named_parameters()})
    return res


CASES = [(c, L, bi, lens) for c in ("mingru", "minlstm") for (L, bi) in ((1, False), (2, True), (2, False))
         for lens in (None, LENGTHS)]


@pytest.mark.parametrize("cell,num_layers,bidirectional,lengths", CASES,
                         ids=[f"{c}-L{L}-{'bi' if bi else 'uni'}-{'lens' if le is not None else 'full'}"
                              for c, L, bi, le in CASES])
def test_scan_equals_sequential_equals_reference(cell, num_layers, bidirectional, lengths):
    x, h0, w_out, w_h = _inputs(num_layers, bidirectional)
    scan = _layer(cell, num_layers, bidirectional, "scan")
    a = _run(scan, x, h0, w_out, w_h, lengths)
    for backend in ("sequential", "native"):
        other = _layer(cell, num_layers, bidirectional, backend)
        other.load_state_dict(scan.state_dict())
        b = _run(other, x, h0, w_out, w_h, lengths)
        for k in a:
            torch.testing.assert_close(a[k], b[k], **F64, msg=f"{backend}: {k}")

    params = {n: p.detach().numpy() for n, p in scan.named_parameters()}
    lens = None if lengths is None else lengths.numpy()
    out, h_n, cache = ref.forward(cell, params, x.numpy(), h0.numpy(), num_layers=num_layers,
                                  bidirectional=bidirectional, lengths=lens)
    grads = ref.backward(cache, w_out.numpy(), w_h.numpy())
    np.testing.assert_allclose(a["output"].numpy(), out, **F64)
    np.testing.assert_allclose(a["h_n"].numpy(), h_n, **F64)
    for k in ["x", "h0", *params]:
        np.testing.assert_allclose(a[k].numpy(), grads[k], **F64, err_msg=k)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("backend", ["scan", "native", "sequential"])
def test_padded_batch_equals_each_sequence_alone(cell, backend):
    layer = _layer(cell, 2, True, backend)
    x, h0, w_out, w_h = _inputs(2, True, seed=5)
    x_pad = x.clone()
    x_pad[1, 2:] = float("nan")
    full = _run(layer, x_pad, h0, w_out, w_h, LENGTHS)
    for b, n in enumerate(LENGTHS.tolist()):
        alone = _run(layer, x[b:b + 1, :n], h0[:, b:b + 1], w_out[b:b + 1, :n], w_h[:, b:b + 1], None)
        torch.testing.assert_close(full["output"][b, :n], alone["output"][0], **F64)
        assert torch.all(full["output"][b, n:] == 0)
        torch.testing.assert_close(full["h_n"][:, b], alone["h_n"][:, 0], **F64)
        torch.testing.assert_close(full["x"][b, :n], alone["x"][0], **F64)
        assert torch.all(full["x"][b, n:] == 0)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_chunk_sizes_agree_and_streaming_steps_equal_the_scan(cell):
    x, h0, *_ = _inputs(1, False)
    layer = _layer(cell, 2, False, "auto", chunk_size=None)
    out, h_n = layer(x, h0[:1].repeat(2, 1, 1))
    for chunk in (1, 2, 5, 64):
        layer.chunk_size = chunk
        torch.testing.assert_close(layer(x, h0[:1].repeat(2, 1, 1))[0], out, **F64)
    assert layer.path_for(1) == "sequential" and layer.path_for(T) == "native"  # the kernel builds here
    assert layer.path_for(T, torch.empty(0, device="meta")) == "scan"  # not on the CPU
    state, steps = h0[:1].repeat(2, 1, 1), []
    for t in range(T):  # backend auto: one-step calls take the sequential path
        y, state = layer(x[:, t:t + 1], state)
        steps.append(y)
    torch.testing.assert_close(torch.cat(steps, 1), out, **F64)
    torch.testing.assert_close(state, h_n, **F64)


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
@pytest.mark.parametrize("backend", ["scan", "native"])
def test_long_float32_scan_is_stable(cell, backend):
    torch.manual_seed(0)
    layer = MinRecurrent(cell, 3, 8, backend=backend)
    with torch.no_grad():
        layer.bias_l0[:8].fill_(-4.0 if cell == "mingru" else 4.0)  # keep most of the state: long memory
    x = torch.randn(2, 3000, 3, requires_grad=True)
    out, h_n = layer(x)
    out.sum().backward()
    assert torch.isfinite(out).all() and torch.isfinite(x.grad).all()
    assert all(torch.isfinite(p.grad).all() for p in layer.parameters())
    seq = MinRecurrent(cell, 3, 8, backend="sequential").double()
    seq.load_state_dict(layer.state_dict())
    with torch.no_grad():
        exact, _ = seq(x.detach().double())
    torch.testing.assert_close(out.double(), exact, rtol=1e-4, atol=1e-5)


def test_bf16_autocast_runs_the_recurrence_in_float32():
    layer = MinRecurrent("mingru", D, H)
    x = torch.randn(B, T, D)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, h = layer(x, lengths=LENGTHS)
    ref_out, _ = layer(x, lengths=LENGTHS)
    torch.testing.assert_close(out.float(), ref_out, rtol=0.05, atol=0.05)


def test_factory_and_errors():
    assert isinstance(make_recurrent("gru", D, H), Recurrent)
    m = make_recurrent("minlstm", D, H, backend="unrolled", bidirectional=True)
    assert isinstance(m, MinRecurrent) and m.backend == "sequential" and m.output_size == 2 * H
    assert make_recurrent("mingru", D, H, backend="fused").backend == "scan"
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        make_recurrent("mingru", D, H, recurrent_dropout=0.2)
    with pytest.raises(ConfigError, match="cell must be"):
        MinRecurrent("gru", D, H)
    layer = MinRecurrent("mingru", D, H)
    with pytest.raises(ShapeError, match="lengths"):
        layer(torch.randn(B, T, D), lengths=torch.tensor([0, 1, 2]))
    with pytest.raises(ShapeError, match="state"):
        layer(torch.randn(B, T, D), torch.zeros(2, B, H))
    out, _ = MinRecurrent("mingru", D, H, batch_first=False)(torch.randn(T, B, D))
    assert out.shape == (T, B, H)


# ---------------------------------------------------------------------- in the models
V = 13


@pytest.mark.parametrize("cell", ["mingru", "minlstm"])
def test_models_stream_equals_forward_with_min_cells(cell):
    from rnnkit.models import ConditionalGenerator, LanguageModel, SequenceClassifier, SequenceTagger

    clf = SequenceClassifier(vocab_size=V, hidden_size=H, num_classes=3, pooling="mean", cell=cell, num_layers=2).eval()
    assert isinstance(clf.encoder.rnn, MinRecurrent)
    x = torch.randint(0, V, (B, T))
    state = None
    for t in range(T):
        out, state = clf.stream(x[:, t], state)
        torch.testing.assert_close(out, clf(x[:, :t + 1]), atol=1e-6, rtol=1e-5)
    lm = LanguageModel(vocab_size=V, hidden_size=H, num_layers=2, cell=cell).eval()
    state, outs = None, []
    for piece in (x[:, :1], x[:, 1:4], x[:, 4:5], x[:, 5:]):
        out, state = lm.stream(piece, state)
        outs.append(out)
    torch.testing.assert_close(torch.cat(outs, 1), lm(x)[0], atol=1e-6, rtol=1e-5)
    assert lm.generate(x[:, :2], 5, seed=0).shape == (B, 5)
    tagger = SequenceTagger(vocab_size=V, hidden_size=H, num_tags=4, cell=cell)  # bidirectional
    lengths = torch.tensor([6, 3, 5])
    em = tagger(x, lengths)
    torch.testing.assert_close(em[1, :3], tagger(x[1:2, :3])[0], atol=1e-6, rtol=1e-5)
    gen = ConditionalGenerator(vocab_size=V, hidden_size=H, cell=cell, condition_size=2).eval()
    assert gen.generate(torch.tensor([0, 1]), length=4, seed=1).shape == (2, 4)
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        LanguageModel(vocab_size=V, cell=cell, recurrent_dropout=0.1)


# ---------------------------------------------------------------------- the scans
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("chunk", [None, 1, 3, 7, 50])
def test_blocked_scan_equals_the_loop_and_the_log_space_scan(chunk, reverse):
    from rnnkit.nn.min_rnn import blocked_scan, log_scan

    g = torch.Generator().manual_seed(3)
    a = torch.rand(2, 17, 5, generator=g, dtype=torch.float64)
    b = torch.rand(2, 17, 5, generator=g, dtype=torch.float64) + 0.1
    h0 = torch.randn(2, 5, generator=g, dtype=torch.float64)  # any sign
    expect, h = torch.empty_like(b), h0
    for t in (range(16, -1, -1) if reverse else range(17)):
        h = a[:, t] * h + b[:, t]
        expect[:, t] = h
    torch.testing.assert_close(blocked_scan(a, b, h0, chunk, reverse=reverse), expect, **F64)
    if not reverse:
        torch.testing.assert_close(log_scan(a.log(), b.log(), h0, chunk), expect, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("backend", ["scan", "native"])
def test_scan_backward_survives_a_second_backward_call(backend):
    layer = _layer("mingru", 1, False, backend)
    x = torch.randn(B, T, D, dtype=torch.float64, requires_grad=True)
    out, _ = layer(x)
    out.sum().backward(retain_graph=True)
    first = x.grad.clone()
    x.grad = None
    out.sum().backward()  # the saved tensors were not modified in place
    torch.testing.assert_close(x.grad, first, **F64)
