"""minGRU / minLSTM runs (model.cell = "mingru" | "minlstm") export like the RNN runs: the
export-safe layer (rnnkit.nn.min_export: the recurrence as rnnkit::min_scan, an ONNX Scan or a
TorchScript loop) equals MinRecurrent's training path in float64; every task family whose
encoder or language model can be a min cell exports to ONNX and TorchScript, and the graphs and
the torch-free runtime equal the eager model on batch and time sizes other than the export's,
with padded variable lengths and both directions."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

import rnnkit
import rnnkit.runtime as rt
from rnnkit.export.exporter import _export_onnx, _export_torchscript
from rnnkit.export.graphs import RecurrentGraph
from rnnkit.nn import MinRecurrent
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import numeric_classes, sentiment_rows
from export_helpers import FAST, TOL, both, check_graph, same_rows

CELLS = ("mingru", "minlstm")


def _export_safe(rnn: MinRecurrent) -> MinRecurrent:
    rnn.export_safe = True
    return rnn


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bi", [False, True])
def test_export_safe_layer_equals_the_training_path_float64(cell, bi):
    torch.manual_seed(0)
    rnn = MinRecurrent(cell, 3, 5, num_layers=2, bidirectional=bi, backend="scan").double().eval()
    x = torch.randn(4, 9, 3, dtype=torch.float64)
    h0 = torch.randn(2 * (2 if bi else 1), 4, 5, dtype=torch.float64)
    for lengths in (torch.tensor([9, 1, 4, 7]), None):
        for state in (h0, None):
            ref = rnn(x, state, lengths)
            got = _export_safe(rnn)(x, state, lengths)
            rnn.export_safe = False
            for r, g in zip(ref, got):
                torch.testing.assert_close(g, r, atol=1e-12, rtol=0)
    # padding content (even NaN) never reaches a number; the checks of the eager path still run
    x_nan = x.clone()
    x_nan[1, 1:] = float("nan")
    out, h_n = _export_safe(rnn)(x_nan, h0, torch.tensor([9, 1, 4, 7]))
    assert torch.isfinite(out).all() and torch.isfinite(h_n).all()
    assert rnn.export_safe
    with pytest.raises(rnnkit.ShapeError, match="lengths"):
        rnn(x, h0, torch.tensor([9, 0, 4, 7]))


@pytest.mark.parametrize("cell,bi", [("minlstm", True)])  # mingru bidirectional: the classify and tag tests
def test_bare_layer_graphs_any_time_and_lengths(tmp_path, cell, bi):
    torch.manual_seed(1)
    rnn = MinRecurrent(cell, 3, 4, num_layers=2, bidirectional=bi).eval()
    graph = RecurrentGraph(rnn).eval()
    example = graph.example(2, 5)
    _export_onnx(graph, example, tmp_path / "g.onnx", 18)
    _export_torchscript(graph, example, tmp_path / "g.pt")
    ops = {n.op_type for n in onnx.load(str(tmp_path / "g.onnx")).graph.node}
    assert "Scan" in ops  # one loop over time per layer and direction, not a graph unrolled for T = 5
    import onnxruntime as ort

    sess, ts = ort.InferenceSession(str(tmp_path / "g.onnx")), torch.jit.load(str(tmp_path / "g.pt"))
    for T, lengths in ((11, [11, 1, 5, 11, 2, 9]), (1, [1, 1, 1, 1, 1, 1]), (3, [3, 3, 3, 3, 3, 3])):
        x, h0 = torch.randn(6, T, 3), torch.randn(2 * (2 if bi else 1), 6, 4)
        lengths = torch.tensor(lengths)
        with torch.no_grad():
            ref = rnn(x, h0, lengths)
            got_ts = ts(x, lengths, h0)
        got = sess.run(None, {"x": x.numpy(), "lengths": lengths.numpy(), "h0": h0.numpy()})
        for g, t, r in zip(got, got_ts, ref):
            np.testing.assert_allclose(g, r.numpy(), atol=TOL, rtol=0)
            np.testing.assert_allclose(t.numpy(), r.numpy(), atol=TOL, rtol=0)


def test_classify_text_bidirectional_mingru(tmp_path):
    rows = sentiment_rows(60, 0)
    run = rnnkit.fit("classify", [t for t, _ in rows], [y for _, y in rows], out=tmp_path / "run",
                     settings={**FAST, "model.cell": "mingru", "model.bidirectional": True, "model.num_layers": 2})
    onnx_dir, ts_dir = both(run, tmp_path, "cls")
    manifest = json.loads((onnx_dir / "manifest.json").read_text())
    assert manifest["model"]["recurrent"]["cell"] == "mingru"
    ids = torch.randint(0, len(run.task.artifacts.vocab), (6, 13))
    for lengths in (torch.tensor([13, 1, 5, 13, 2, 9]), torch.full((6,), 13)):
        with torch.no_grad():
            expected = run.model(ids, lengths)
        check_graph(onnx_dir, ts_dir, "model", {"inputs": ids, "lengths": lengths}, [expected])
    texts = ["a great film", "it was awful and the plot", "zzz unknown words", "great great great great great"]
    same_rows(rt.load(onnx_dir).predict(texts), run.predict(texts))  # probabilities of padded rows in one batch
    # int8 (onnxruntime's dynamic quantization of the gate MatMuls): close to float32, not equal
    q_dir = run.export(tmp_path / "q", format="onnx", quantize="int8")
    for q, f in zip(rt.load(q_dir).predict(texts), run.predict(texts)):
        assert q["label"] == f["label"] or abs(f["probability"] - 0.5) < 0.05
        assert abs(q["probability"] - f["probability"]) < 0.05


def test_classify_numbers_and_forecast_minlstm(tmp_path):
    from rnnkit.tasks import runner

    x, y = numeric_classes(60, 10, 3, seed=1)
    rng = np.random.default_rng(0)
    seqs = [s[: rng.integers(3, 11)] for s in x]
    run = rnnkit.fit("classify", seqs, y, out=tmp_path / "run",
                     settings={**FAST, "model.cell": "minlstm", "model.pooling": "mean"})
    onnx_dir, ts_dir = both(run, tmp_path, "num")
    feats, lengths = torch.randn(7, 12, 3), torch.tensor([12, 4, 1, 7, 12, 3, 9])
    with torch.no_grad():
        expected = run.model(feats, lengths)
    check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": lengths}, [expected])
    same_rows(rt.load(onnx_dir).predict(seqs[:9]), run.predict(seqs[:9]))
    # forecast: the same graph over windows of numbers
    t = np.arange(160)
    lines = ["time,hum,temp"] + [f"t{i},{0.5 + 0.1 * np.cos(i / 2):.5f},{200 + 30 * np.sin(i / 3):.5f}" for i in t]
    (tmp_path / "series.csv").write_text("\n".join(lines) + "\n")
    run = rnnkit.fit("forecast", tmp_path / "series.csv", out=tmp_path / "fc",
                     settings={**FAST, "model.cell": "minlstm", "data.target_columns": ["temp"],
                               "data.input_len": 12, "data.horizon": 3, "data.time_column": "time"})
    onnx_dir, ts_dir = both(run, tmp_path, "fc")
    feats = torch.randn(4, 12, 2)
    with torch.no_grad():
        expected = run.model(feats, torch.full((4,), 12))
    check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": torch.full((4,), 12)}, [expected])
    rows = (tmp_path / "series.csv").read_text().splitlines()[-12:]
    window = np.array([[float(v) for v in r.split(",")[1:]] for r in rows], dtype=np.float32)
    same_rows(rt.load(onnx_dir).predict(window[None]), runner.predict(run.path, tmp_path / "series.csv"), tol=1e-3)


@pytest.mark.parametrize("cell,layers", [("mingru", 2), ("minlstm", 1)])
def test_lm_sequence_step_stream_and_generate(tmp_path, cell, layers):
    text = "\n".join(f"the quick brown fox {i % 7} jumps over the lazy dog" for i in range(100))
    run = rnnkit.fit("lm", [text], out=tmp_path / "run",
                     settings={**FAST, "model.cell": cell, "model.num_layers": layers})
    onnx_dir, ts_dir = both(run, tmp_path, "lm")
    ops = {g: {n.op_type for n in onnx.load(str(onnx_dir / f"{g}.onnx")).graph.node} for g in ("sequence", "step")}
    assert "Scan" in ops["sequence"] and "Scan" not in ops["step"]  # the step graph writes its one step out
    V = run.model._config.vocab_size
    ids, lengths = torch.randint(0, V, (3, 10)), torch.tensor([10, 4, 7])
    h0 = torch.randn(layers, 3, 9)
    with torch.no_grad():
        logits, final = run.model(ids, h0, lengths)
    check_graph(onnx_dir, ts_dir, "sequence", {"ids": ids, "lengths": lengths, "h0": h0}, [logits, final])
    # token by token through the step graph == the sequence graph == model.stream, state included
    model = rt.load(onnx_dir)
    full_graph = model.stream_full(ids.numpy(), np.full(3, 10))
    st, steps, eager_state, eager = None, [], None, []
    with torch.no_grad():
        for t in range(10):
            out, st = model.stream(ids[:, t].numpy(), st)
            steps.append(out)
            e, eager_state = run.model.stream(ids[:, t], eager_state)
            eager.append(e)
    np.testing.assert_allclose(np.stack(steps, 1), full_graph, atol=TOL, rtol=0)
    np.testing.assert_allclose(np.stack(steps, 1), torch.stack(eager, 1).numpy(), atol=TOL, rtol=0)
    np.testing.assert_allclose(st[0], eager_state.numpy(), atol=TOL, rtol=0)
    ts_step, tstate, outs = torch.jit.load(str(ts_dir / "step.pt")), torch.zeros(layers, 3, 9), []
    with torch.no_grad():
        for t in range(10):
            out, tstate = ts_step(ids[:, t], tstate)
            outs.append(out)
    np.testing.assert_allclose(torch.stack(outs, 1).numpy(), full_graph, atol=TOL, rtol=0)
    assert model.generate("the ", length=30, temperature=0) == run.generate(prime="the ", length=30, temperature=0)
    (tmp_path / "held.txt").write_text("the lazy dog 3\nover the quick brown fox\n")
    same_rows(model.predict(tmp_path / "held.txt"), run.predict(tmp_path / "held.txt"), tol=1e-4)


def test_tag_emissions_bidirectional_mingru(tmp_path):
    rng = np.random.default_rng(0)
    words = ["Paris", "London", "is", "big", "John", "runs", "in", "the", "park", "Mary"]
    kind = {"Paris": "LOC", "London": "LOC", "John": "PER", "Mary": "PER"}
    sents = [[words[i] for i in rng.integers(0, len(words), rng.integers(2, 8))] for _ in range(50)]
    tags = [[kind.get(w, "O") for w in s] for s in sents]
    run = rnnkit.fit("tag", sents, tags, out=tmp_path / "run",
                     settings={**FAST, "model.cell": "mingru", "model.bidirectional": True, "model.crf": True,
                               "data.char_features": False})
    onnx_dir, ts_dir = both(run, tmp_path, "tag")
    ids, lengths = torch.randint(1, len(run.task.artifacts.words), (4, 9)), torch.tensor([9, 2, 5, 1])
    with torch.no_grad():
        expected = run.model(ids, lengths)
    check_graph(onnx_dir, ts_dir, "model", {"inputs": ids, "lengths": lengths}, [expected])
    new = [["John", "is", "in", "Paris"], ["Mary", "runs"], ["the", "big", "park", "in", "London", "is", "big"]]
    same_rows(rt.load(onnx_dir).predict(new), run.predict(new))


def test_generate_condition_and_step_minlstm(tmp_path):
    rng = np.random.default_rng(0)
    labels = [str(rng.choice(["pos", "neg"])) for _ in range(60)]
    texts = [("a fine good film" if y == "pos" else "a dull bad film") + " indeed" for y in labels]
    run = rnnkit.fit("generate", texts, labels, out=tmp_path / "run",
                     settings={**FAST, "model.cell": "minlstm", "model.condition_mode": "both",
                               "model.num_layers": 2})
    onnx_dir, ts_dir = both(run, tmp_path, "gen")
    m, cond_ids = run.model, torch.tensor([0, 1, 1])
    with torch.no_grad():
        cond, state, _ = m._start(cond_ids, None)
    check_graph(onnx_dir, ts_dir, "condition", {"condition": cond_ids}, [cond, state])
    ids = torch.tensor([3, 4, 5])
    with torch.no_grad():
        logits, new = m.stream(ids, cond_ids, state)
    check_graph(onnx_dir, ts_dir, "step", {"ids": ids, "cond": cond, "h0": state}, [logits, new])
    model = rt.load(onnx_dir)
    for condition, guidance in (("pos", 0.0), ("neg", 1.5)):
        want = run.generate(condition=condition, length=12, temperature=0, guidance=guidance)
        assert model.generate(condition, length=12, temperature=0, guidance=guidance) == want


def test_seq2seq_has_no_min_cells():
    """seq2seq's encoder and decoder are Recurrent (rnn, lstm, gru) only: no min-cell run to export."""
    from rnnkit.tasks import runner

    with pytest.raises(rnnkit.ConfigError, match="model.cell must be one of 'rnn', 'lstm', 'gru'; got 'mingru'"):
        runner.load_run_config("seq2seq", ["model.cell=mingru"])
