"""The export-safe path of Recurrent: eager (fused/segments) vs the export-safe eager path vs
onnxruntime vs TorchScript, on batch/time sizes other than the export's, with and without
lengths, uni- and bidirectional, every cell, with carried state; chunked streaming through
the exported graph equals the whole sequence."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from rnnkit.export.exporter import _export_onnx, _export_torchscript
from rnnkit.export.graphs import RecurrentGraph
from rnnkit.nn.recurrent import Recurrent

TOL = 1e-5
CASES = [(cell, bi) for cell in ("lstm", "gru", "rnn") for bi in (False, True)]


def _state(cell, layers, dirs, batch, hidden, gen):
    h = torch.randn(layers * dirs, batch, hidden, generator=gen)
    return (h, 0.5 * torch.randn(layers * dirs, batch, hidden, generator=gen)) if cell == "lstm" else (h,)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = {}
    folder = tmp_path_factory.mktemp("core")
    for cell, bi in CASES:
        torch.manual_seed(0)
        rnn = Recurrent(cell, 5, 7, num_layers=2, bidirectional=bi).eval()
        graph = RecurrentGraph(rnn).eval()
        example = graph.example(2, 4)
        onnx_path, ts_path = folder / f"{cell}{bi}.onnx", folder / f"{cell}{bi}.pt"
        _export_onnx(graph, example, onnx_path, 18)
        _export_torchscript(graph, example, ts_path)
        out[cell, bi] = (rnn, graph, ort.InferenceSession(str(onnx_path)), torch.jit.load(str(ts_path)))
    return out


@pytest.mark.parametrize("cell,bi", CASES)
@pytest.mark.parametrize("with_lengths", [False, True])
def test_eager_onnx_torchscript_agree(exported, cell, bi, with_lengths):
    rnn, graph, sess, ts = exported[cell, bi]
    gen = torch.Generator().manual_seed(1)
    B, T = 5, 11  # the export saw B=2, T=4
    x = torch.randn(B, T, 5, generator=gen)
    lengths = torch.tensor([11, 3, 7, 1, 10]) if with_lengths else torch.full((B,), T)
    state = _state(cell, 2, 2 if bi else 1, B, 7, gen)
    with torch.no_grad():
        out, final = rnn(x, state if cell == "lstm" else state[0], lengths if with_lengths else None)
        final = final if cell == "lstm" else (final,)
        rnn.export_safe = True
        try:
            out2, final2 = rnn(x, state if cell == "lstm" else state[0], lengths if with_lengths else None)
        finally:
            rnn.export_safe = False
        final2 = final2 if cell == "lstm" else (final2,)
        ts_out = ts(x, lengths, *state)
    feeds = dict(zip(graph.inputs, [x.numpy(), lengths.numpy(), *(s.numpy() for s in state)]))
    onnx_out = sess.run(None, feeds)
    expected = [out, *final]
    for got in (list(onnx_out), [t.numpy() for t in ts_out], [out2.numpy(), *(f.numpy() for f in final2)]):
        assert len(got) == len(expected)
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e.numpy(), atol=TOL, rtol=0)
    if with_lengths:  # padded steps are zero in the exported graph too
        assert np.all(onnx_out[0][1, 3:] == 0)


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_chunked_streaming_through_onnx_equals_the_whole_sequence(exported, cell):
    rnn, graph, sess, ts = exported[cell, False]
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(3, 12, 5, generator=gen)
    state = _state(cell, 2, 1, 3, 7, gen)
    with torch.no_grad():
        full, final = rnn(x, state if cell == "lstm" else state[0])
    final = final if cell == "lstm" else (final,)
    carried = [s.numpy() for s in state]
    carried_ts = list(state)
    pieces, pieces_ts = [], []
    for start, stop in ((0, 1), (1, 5), (5, 6), (6, 12)):
        chunk = x[:, start:stop]
        lengths = np.full(3, stop - start, dtype=np.int64)
        res = sess.run(None, dict(zip(graph.inputs, [chunk.numpy(), lengths, *carried])))
        pieces.append(res[0])
        carried = res[1:]
        with torch.no_grad():
            res_ts = ts(chunk, torch.as_tensor(lengths), *carried_ts)
        pieces_ts.append(res_ts[0])
        carried_ts = list(res_ts[1:])
    np.testing.assert_allclose(np.concatenate(pieces, 1), full.numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(torch.cat(pieces_ts, 1).numpy(), full.numpy(), atol=TOL, rtol=0)
    for a, b, c in zip(carried, carried_ts, final):
        np.testing.assert_allclose(a, c.numpy(), atol=TOL, rtol=0)
        np.testing.assert_allclose(b.numpy(), c.numpy(), atol=TOL, rtol=0)


def test_export_safe_path_has_no_sort_and_no_item():
    """torch.export captures the Recurrent with lengths (the segments path would sort and call
    .tolist(); the boundary checks would call .item())."""
    rnn = Recurrent("lstm", 3, 4, bidirectional=True).eval()
    graph = RecurrentGraph(rnn)
    b, t = torch.export.Dim("b", min=1), torch.export.Dim("t", min=1)
    prog = torch.export.export(graph, graph.example(2, 4), dynamic_shapes=({0: b, 1: t}, ({0: b}, {1: b}, {1: b})))
    ops = {str(n.target) for n in prog.graph.nodes if n.op == "call_function"}
    assert not any("sort" in o or o.startswith("aten.item") or "_local_scalar_dense" in o for o in ops), ops
    assert "rnnkit.recurrent_layer.default" in ops
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 2, 4])
    state = (torch.zeros(2, 3, 4), torch.zeros(2, 3, 4))
    with torch.no_grad():
        ref = rnn(x, state, lengths)
        got = prog.module()(x, lengths, *state)
    torch.testing.assert_close(got[0], ref[0], atol=TOL, rtol=0)
    torch.testing.assert_close(got[1], ref[1][0], atol=TOL, rtol=0)


@pytest.mark.parametrize("cell,bi", CASES)
def test_graph_without_lengths(tmp_path, cell, bi):
    """No ``lengths`` input: whole sequences, no sequence_lens and no mask in the ONNX graph,
    torch's fused kernel per layer in TorchScript."""
    torch.manual_seed(0)
    rnn = Recurrent(cell, 5, 7, num_layers=2, bidirectional=bi).eval()
    graph = RecurrentGraph(rnn, with_lengths=False).eval()
    example = graph.example(2, 4)
    _export_onnx(graph, example, tmp_path / "g.onnx", 18)
    _export_torchscript(graph, example, tmp_path / "g.pt")
    sess, ts = ort.InferenceSession(str(tmp_path / "g.onnx")), torch.jit.load(str(tmp_path / "g.pt"))
    assert not any(n.op_type in ("Where", "Less") for n in __import__("onnx").load(str(tmp_path / "g.onnx")).graph.node)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(6, 1 if bi else 9, 5, generator=gen)
    state = _state(cell, 2, 2 if bi else 1, 6, 7, gen)
    with torch.no_grad():
        out, final = rnn(x, state if cell == "lstm" else state[0])
        ts_out = ts(x, *state)
    final = final if cell == "lstm" else (final,)
    got = sess.run(None, dict(zip(graph.inputs, [x.numpy(), *(s.numpy() for s in state)])))
    for g, t, e in zip(got, ts_out, [out, *final]):
        np.testing.assert_allclose(g, e.numpy(), atol=TOL, rtol=0)
        np.testing.assert_allclose(t.numpy(), e.numpy(), atol=TOL, rtol=0)


def test_torch_compile_fullgraph_with_lengths():
    """torch.compile captures the whole stack with lengths in one graph (no graph break on the
    sort or the boundary checks): the custom op is opaque to it."""
    rnn = Recurrent("gru", 3, 4, num_layers=2, bidirectional=True).eval()
    compiled = torch.compile(rnn, backend="aot_eager", fullgraph=True)
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 2, 4])
    with torch.no_grad():
        ref, got = rnn(x, lengths=lengths), compiled(x, None, lengths)
    torch.testing.assert_close(got[0], ref[0], atol=TOL, rtol=0)
    torch.testing.assert_close(got[1], ref[1], atol=TOL, rtol=0)
