"""Every exportable task type, trained for a step or two through rnnkit.fit / the runner:
the exported graphs (ONNX through onnxruntime, TorchScript) equal the eager model on batch
and time sizes other than the export's, with lengths; the folder holds what serving needs;
rnnkit.runtime rows equal `rnnkit predict` rows."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnnkit
import rnnkit.runtime as rt
from rnnkit.cli.main import main
from rnnkit.errors import ConfigError
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import numeric_classes, sentiment_rows
from export_helpers import FAST, TOL
from export_helpers import both as _both
from export_helpers import check_graph as _check_graph
from export_helpers import same_rows as _same_rows


@pytest.fixture(scope="module")
def text_classifier(tmp_path_factory):
    rows = sentiment_rows(80, 0)
    out = tmp_path_factory.mktemp("cls")
    return rnnkit.fit("classify", [t for t, _ in rows], [y for _, y in rows], out=out / "run",
                      settings={**FAST, "model.bidirectional": True, "model.num_layers": 2})


def test_classify_text_bidirectional(text_classifier, tmp_path):
    run = text_classifier
    onnx_dir, ts_dir = _both(run, tmp_path, "cls")
    for name in ("artifacts.json", "config.toml", "manifest.json", "model.onnx"):
        assert (onnx_dir / name).is_file()
    manifest = json.loads((onnx_dir / "manifest.json").read_text())
    assert manifest["task"] == "classify" and manifest["opset"] == 18 and manifest["torch_version"]
    assert manifest["graphs"]["model"]["inputs"][0] == {"name": "inputs", "shape": ["batch", "time"], "dtype": "int64"}
    V = len(run.task.artifacts.vocab)
    ids = torch.randint(0, V, (6, 13))
    for lengths in (torch.tensor([13, 1, 5, 13, 2, 9]), torch.full((6,), 13)):
        with torch.no_grad():
            expected = run.model(ids, lengths)
        _check_graph(onnx_dir, ts_dir, "model", {"inputs": ids, "lengths": lengths}, [expected])
    texts = ["a great film", "it was awful and the plot", "zzz unknown words", "great great great great great"]
    model = rt.load(onnx_dir)
    _same_rows(model.predict(texts), run.predict(texts))
    (tmp_path / "new.txt").write_text("\n".join(texts) + "\n")
    _same_rows(model.predict(tmp_path / "new.txt"), run.predict(tmp_path / "new.txt"))


@pytest.mark.parametrize("cell", ["gru", "rnn"])
def test_classify_variable_length_numbers(tmp_path, cell):
    x, y = numeric_classes(60, 10, 3, seed=1)
    rng = np.random.default_rng(0)
    seqs = [s[: rng.integers(3, 11)] for s in x]
    run = rnnkit.fit("classify", seqs, y, out=tmp_path / "run",
                     settings={**FAST, "model.cell": cell, "model.pooling": "mean"})
    onnx_dir, ts_dir = _both(run, tmp_path, "num")
    feats = torch.randn(7, 12, 3)
    lengths = torch.tensor([12, 4, 1, 7, 12, 3, 9])
    with torch.no_grad():
        expected = run.model(feats, lengths)
    _check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": lengths}, [expected])
    _same_rows(rt.load(onnx_dir).predict(seqs[:9]), run.predict(seqs[:9]))
    np.savez(tmp_path / "new.npz", X=x[:5])
    _same_rows(rt.load(onnx_dir).predict(tmp_path / "new.npz"), run.predict(tmp_path / "new.npz"))
    # lengths honoured by both readers; an array neither reads is refused by both, never ignored
    padded = np.where(np.arange(10)[None, :, None] < np.array([10, 4, 7, 2, 9])[:, None, None], x[:5], np.nan)
    np.savez(tmp_path / "var.npz", X=padded, lengths=np.array([10, 4, 7, 2, 9]))
    _same_rows(rt.load(onnx_dir).predict(tmp_path / "var.npz"), run.predict([s[:n] for s, n in zip(x[:5], [10, 4, 7, 2, 9])]))
    np.savez(tmp_path / "odd.npz", X=x[:5], mask=np.ones((5, 10)))
    with pytest.raises(rt.RuntimeError_, match=r"odd\.npz: an npz input holds X .* \(unknown: \['mask'\]\)"):
        rt.load(onnx_dir).predict(tmp_path / "odd.npz")
    with pytest.raises(rnnkit.DataError, match="mask"):
        run.predict(tmp_path / "odd.npz")


def test_regress_and_feedforward(tmp_path):
    x, _ = numeric_classes(60, 6, 3, seed=0)
    target = np.stack([x[:, :, 0].sum(1), x[:, -1, 1]], 1)
    for kind in ("rnn", "feedforward"):
        settings = {**FAST, "model.kind": kind} if kind == "feedforward" else {**FAST, "model.pooling": "attention"}
        if kind == "feedforward":
            settings.pop("model.hidden_size")
        run = rnnkit.fit("regress", x, target, out=tmp_path / kind, settings=settings)
        onnx_dir, ts_dir = _both(run, tmp_path, kind)
        feats = torch.randn(5, 6, 3)
        with torch.no_grad():
            expected = run.model(feats, torch.full((5,), 6))
        _check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": torch.full((5,), 6)}, [expected])
        _same_rows(rt.load(onnx_dir).predict(x[:8]), run.predict(x[:8]), tol=1e-4)


def test_forecast(tmp_path):
    from rnnkit.tasks import runner

    rng = np.random.default_rng(0)
    t = np.arange(200)
    temp = 200 + 30 * np.sin(2 * np.pi * t / 8) + rng.normal(0, 1, 200)
    hum = 0.5 + 0.1 * np.cos(2 * np.pi * t / 8)
    lines = ["time,hum,temp"] + [f"t{i},{h:.5f},{v:.5f}" for i, h, v in zip(t, hum, temp)]
    (tmp_path / "series.csv").write_text("\n".join(lines) + "\n")
    run = rnnkit.fit("forecast", tmp_path / "series.csv", out=tmp_path / "run",
                     settings={**FAST, "data.target_columns": ["temp"], "data.input_len": 12, "data.horizon": 3,
                               "data.relative": True})
    onnx_dir, ts_dir = _both(run, tmp_path, "fc")
    feats = torch.randn(4, 12, 2)
    with torch.no_grad():
        expected = run.model(feats, torch.full((4,), 12))
    _check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": torch.full((4,), 12)}, [expected])
    window = np.stack([hum, temp], 1)[-12:]
    _same_rows(rt.load(onnx_dir).predict(window[None]), runner.predict(run.path, tmp_path / "series.csv"),
               tol=1e-3)


@pytest.mark.parametrize("cell,layers,level", [("lstm", 2, "char"), ("gru", 1, "char"), ("lstm", 1, "word")])
def test_lm_sequence_and_step_graphs_stream(tmp_path, cell, layers, level):
    text = "\n".join(f"the quick brown fox {i % 7} jumps over the lazy dog" for i in range(120))
    run = rnnkit.fit("lm", [text], out=tmp_path / "run",
                     settings={**FAST, "model.cell": cell, "model.num_layers": layers, "data.level": level,
                               "generate.prime": "the"})  # the default prime "\n" has no word token
    onnx_dir, ts_dir = _both(run, tmp_path, "lm")
    V = run.model._config.vocab_size
    ids = torch.randint(0, V, (3, 10))
    lengths = torch.tensor([10, 4, 7])
    n_state = 2 if cell == "lstm" else 1
    state = tuple(torch.randn(layers, 3, 9) for _ in range(n_state))
    with torch.no_grad():
        logits, final = run.model(ids, state if cell == "lstm" else state[0], lengths)
    final = final if cell == "lstm" else (final,)
    names = ["ids", "lengths", "h0", "c0"][: 2 + n_state]
    _check_graph(onnx_dir, ts_dir, "sequence", dict(zip(names, [ids, lengths, *state])), [logits, *final])
    # streaming: a whole chunk == token by token through the step graph == chunks through the runtime
    with torch.no_grad():
        full, full_state = run.model(ids)
    model = rt.load(onnx_dir)
    st, steps = None, []
    for t in range(10):
        out, st = model.stream(ids[:, t].numpy(), st)
        steps.append(out)
    np.testing.assert_allclose(np.stack(steps, 1), full.numpy(), atol=TOL, rtol=0)
    st2, chunks = None, []
    for a, b in ((0, 3), (3, 4), (4, 10)):
        out, st2 = model.stream(ids[:, a:b].numpy(), st2)
        chunks.append(out)
    np.testing.assert_allclose(np.concatenate(chunks, 1), full.numpy(), atol=TOL, rtol=0)
    full_state = full_state if cell == "lstm" else (full_state,)
    for a, b, c in zip(st, st2, full_state):
        np.testing.assert_allclose(a, c.numpy(), atol=TOL, rtol=0)
        np.testing.assert_allclose(b, c.numpy(), atol=TOL, rtol=0)
    # TorchScript step graph: one token at a time
    ts_step = torch.jit.load(str(ts_dir / "step.pt"))
    tstate = tuple(torch.zeros(layers, 3, 9) for _ in range(n_state))
    outs = []
    with torch.no_grad():
        for t in range(10):
            res = ts_step(ids[:, t], *tstate)
            outs.append(res[0])
            tstate = res[1:]
    np.testing.assert_allclose(torch.stack(outs, 1).numpy(), full.numpy(), atol=TOL, rtol=0)
    # per-line scores: the runtime's rows equal `rnnkit predict`'s
    (tmp_path / "held.txt").write_text("the lazy dog 3\nover the quick brown fox\n\nq\n")
    _same_rows(model.predict(tmp_path / "held.txt"), run.predict(tmp_path / "held.txt"), tol=1e-4)
    # greedy generation: the runtime writes what `rnnkit generate` writes
    assert model.generate("the ", length=30, temperature=0) == run.generate(prime="the ", length=30, temperature=0)
    two_lines = "the lazy dog\nthe"  # a line break in the prime is <eos> at word level, on both sides
    assert model.generate(two_lines, length=12, temperature=0) == run.generate(prime=two_lines, length=12,
                                                                               temperature=0)
    sample = model.generate("the ", length=20, temperature=0.8, top_k=5, top_p=0.9, seed=3)
    assert sample.startswith("the ") and (len(sample) == 24 or level == "word")
    assert sample == model.generate("the ", length=20, temperature=0.8, top_k=5, top_p=0.9, seed=3)


def test_cli_export_and_refusals(text_classifier, tmp_path, capsys, monkeypatch):
    out = tmp_path / "cli"
    assert main(["export", str(text_classifier.path), "--format", "torchscript", "--out", str(out)]) == 0
    assert "exported to" in capsys.readouterr().out
    assert (out / "model.pt").is_file() and (out / "manifest.json").is_file()
    assert main(["export", str(text_classifier.path), "--format", "torchscript", "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="opset"):
        text_classifier.export(tmp_path / "x", opset=3)
    # without the extra: a clear message naming it
    import builtins

    real_import = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name in ("onnx", "onnxscript"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    with pytest.raises(ConfigError, match=r"pip install 'rnnkit\[export\]'"):
        text_classifier.export(tmp_path / "y", format="onnx")
    assert main(["export", str(text_classifier.path), "--out", str(tmp_path / "z")]) == 2
    assert "pip install 'rnnkit[export]'" in capsys.readouterr().err


@pytest.mark.parametrize("char_encoder", [None, "cnn", "lstm"])
def test_tag_emissions_and_viterbi(tmp_path, char_encoder):
    rng = np.random.default_rng(0)
    words = ["Paris", "London", "is", "big", "John", "runs", "in", "the", "park", "Mary"]
    kind = {"Paris": "LOC", "London": "LOC", "John": "PER", "Mary": "PER"}
    sents = [[words[i] for i in rng.integers(0, len(words), rng.integers(2, 8))] for _ in range(60)]
    tags = [[kind.get(w, "O") for w in s] for s in sents]
    settings = {**FAST, "model.bidirectional": True, "model.crf": True}
    settings["data.char_features"] = bool(char_encoder)  # none (the default) means on for the RNN tagger
    if char_encoder:
        settings["model.char_encoder"] = char_encoder
    run = rnnkit.fit("tag", sents, tags, out=tmp_path / "run", settings=settings)
    onnx_dir, ts_dir = _both(run, tmp_path, "tag")
    V = len(run.task.artifacts.words)
    ids = torch.randint(1, V, (4, 9))
    lengths = torch.tensor([9, 2, 5, 1])
    feeds = {"inputs": ids, "lengths": lengths}
    if char_encoder:
        chars = torch.randint(1, len(run.task.artifacts.chars), (4, 9, 6))
        chars[:, :, 4:] = 0
        feeds["chars"] = chars
    with torch.no_grad():
        expected = run.model(ids, lengths, feeds.get("chars"))
    _check_graph(onnx_dir, ts_dir, "model", feeds, [expected])
    new = [["John", "is", "in", "Paris"], ["Mary", "runs"], ["the", "big", "park", "in", "London", "is", "big"]]
    _same_rows(rt.load(onnx_dir).predict(new), run.predict(new))
    (tmp_path / "new.txt").write_text("\n\n".join(" ".join(s) for s in new) + "\n")
    _same_rows(rt.load(onnx_dir).predict(tmp_path / "new.txt"), run.predict(tmp_path / "new.txt"))


def test_tag_iobes_runtime_writes_iob2_as_the_task_does(tmp_path):
    """data.tag_scheme = "iobes": the export carries the scheme, and the runtime writes the
    Viterbi path back as IOB2, row for row the torch side's predictions."""
    rng = np.random.default_rng(1)
    pieces = [(["New", "York"], ["B-LOC", "I-LOC"]), (["Paris"], ["B-LOC"]), (["John", "Smith"], ["B-PER", "I-PER"]),
              (["Mary"], ["B-PER"]), (["is"], ["O"]), (["big"], ["O"]), (["in"], ["O"]), (["the"], ["O"])]
    sents, tags = [], []
    for _ in range(80):
        picks = [pieces[i] for i in rng.integers(0, len(pieces), rng.integers(2, 7))]
        sents.append([w for p in picks for w in p[0]])
        tags.append([t for p in picks for t in p[1]])
    settings = {**FAST, "model.bidirectional": True, "model.crf": True, "data.tag_scheme": "iobes"}
    run = rnnkit.fit("tag", sents, tags, out=tmp_path / "run", settings=settings)
    assert "S-LOC" in run.task.artifacts.tags and "E-PER" in run.task.artifacts.tags
    onnx_dir, _ = _both(run, tmp_path, "tag")
    new = [["John", "Smith", "is", "in", "New", "York"], ["Mary", "is", "big"], ["Paris", "the", "John", "Smith"]]
    rows = rt.load(onnx_dir).predict(new)
    _same_rows(rows, run.predict(new))
    assert {t for r in rows for t in r["tags"]} <= {"B-LOC", "I-LOC", "B-PER", "I-PER", "O"}


@pytest.mark.parametrize("cell,attention,bi", [("lstm", "additive", True), ("gru", "general", False),
                                               ("lstm", "none", False)])
def test_seq2seq_encoder_and_decoder_step(tmp_path, cell, attention, bi):
    rng = np.random.default_rng(0)
    letters = "abcdefg"
    src = ["".join(rng.choice(list(letters), rng.integers(2, 7))) for _ in range(80)]
    pairs = [(" ".join(s), " ".join(reversed(s))) for s in src]
    settings = {**FAST, "model.cell": cell, "model.attention": attention, "model.bidirectional_encoder": bi,
                "model.num_layers": 2, "model.input_feeding": attention != "none"}
    # through the runner without plots: a 2-step model may decode empty outputs, which the
    # attention heatmap of rnnkit.fit's plots refuses (a viz matter, not the export's)
    from rnnkit.api import _settings
    from rnnkit.tasks import runner

    cfg = runner.load_run_config("seq2seq", _settings(settings))
    task = runner.get_task("seq2seq")(cfg)
    runner.train(cfg, tmp_path / "run", quiet=True,
                 given={"train": task.from_memory([p for p, _ in pairs], [t for _, t in pairs])})
    run = rnnkit.load(tmp_path / "run")
    onnx_dir, ts_dir = _both(run, tmp_path, "s2s")
    m = run.model
    Vs = m._config.src_vocab_size
    srcs = torch.randint(4, Vs, (3, 8))
    lengths = torch.tensor([8, 3, 5])
    with torch.no_grad():
        memory = m.encode(srcs, lengths)
    n = 2 if cell == "lstm" else 1
    states = memory.state if cell == "lstm" else (memory.state,)
    _check_graph(onnx_dir, ts_dir, "encoder", {"src": srcs, "src_lengths": lengths}, [memory.outputs, *states])
    dec = m.initial_decoder_state(memory)
    dec = dec._replace(feed=torch.randn(3, m._config.hidden_size))
    tokens = torch.tensor([1, 5, 6])
    with torch.no_grad():
        logits, new, weights = m.decode_step(tokens, dec, memory)
    new_states = new.rnn if cell == "lstm" else (new.rnn,)
    names = ["tokens", "h0", "c0"][: 1 + n] + ["feed", "memory", "src_lengths"]
    feeds = dict(zip(names, [tokens, *states, dec.feed, memory.outputs, lengths]))
    expected = [logits, *new_states, new.feed] + ([weights] if weights is not None else [])
    _check_graph(onnx_dir, ts_dir, "decoder_step", feeds, expected)
    sources = ["a b c", "g f e d c", "b"]
    _same_rows(rt.load(onnx_dir).predict(sources), run.predict(sources))


@pytest.mark.parametrize("mode,cell", [("init", "lstm"), ("both", "gru"), ("input", "lstm")])
def test_generate_condition_and_step_graphs(tmp_path, mode, cell):
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for _ in range(80):
        y = str(rng.choice(["pos", "neg"]))
        texts.append(("a fine good film" if y == "pos" else "a dull bad film") + " indeed")
        labels.append(y)
    run = rnnkit.fit("generate", texts, labels, out=tmp_path / "run",
                     settings={**FAST, "model.cell": cell, "model.condition_mode": mode, "model.num_layers": 2})
    onnx_dir, ts_dir = _both(run, tmp_path, "gen")
    m = run.model
    cond_ids = torch.tensor([0, 1, 1])
    with torch.no_grad():
        cond, state, extra = m._start(cond_ids, None)
    n = 2 if cell == "lstm" else 1
    if state is None:
        state = tuple(torch.zeros(2, 3, 9) for _ in range(n))
    states = state if cell == "lstm" else (state,)
    states = tuple(states) if isinstance(states, tuple) else (states,)
    _check_graph(onnx_dir, ts_dir, "condition", {"condition": cond_ids}, [cond, *states])
    ids = torch.tensor([3, 4, 5])
    with torch.no_grad():
        logits, new = m.stream(ids, cond_ids, state if cell == "lstm" else states[0])
    new = new if cell == "lstm" else (new,)
    names = ["ids"] + (["cond"] if mode != "init" else []) + ["h0", "c0"][:n]
    feeds = dict(zip(names, [ids, *((cond,) if mode != "init" else ()), *states]))
    _check_graph(onnx_dir, ts_dir, "step", feeds, [logits, *new])
    model = rt.load(onnx_dir)
    for condition, guidance in (("pos", 0.0), ("neg", 1.5)):
        want = run.generate(condition=condition, length=12, temperature=0, guidance=guidance)
        assert model.generate(condition, length=12, temperature=0, guidance=guidance) == want
    assert model.generate("pos", prime="a", length=5, temperature=0) == \
        run.generate(condition="pos", prime="a", length=5, temperature=0)


# ----------------------------------------------------------------------------- model.kind = "transformer"
# classify (token ids, numeric features), regress, forecast, tag (CRF): the graphs take the
# recurrent models' inputs (inputs, lengths) and give their outputs; the lm: sequence + step graphs
# with the key/value cache (position, keys, values) as the carried state.
TRANSFORMER = {"train.max_steps": 2, "train.device": "cpu", "model.kind": "transformer", "model.d_model": 8,
        "model.num_heads": 2, "model.num_layers": 2, "model.ff_size": 16}


@pytest.mark.parametrize("pooling,positions", [("mean", "sinusoidal"), ("last", "learned"), ("attention", "sinusoidal")])
def test_transformer_classify_text(tmp_path, pooling, positions):
    rows = sentiment_rows(60, 0)
    run = rnnkit.fit("classify", [t for t, _ in rows], [y for _, y in rows], out=tmp_path / "run",
                     settings={**TRANSFORMER, "model.pooling": pooling, "model.positions": positions})
    onnx_dir, ts_dir = _both(run, tmp_path, "cls")
    manifest = json.loads((onnx_dir / "manifest.json").read_text())
    assert manifest["model"]["class"] == "TransformerClassifier"
    assert [i["name"] for i in manifest["graphs"]["model"]["inputs"]] == ["inputs", "lengths"]
    V = len(run.task.artifacts.vocab)
    ids = torch.randint(0, V, (6, 13))
    for lengths in (torch.tensor([13, 1, 5, 13, 2, 9]), torch.full((6,), 13)):
        with torch.no_grad():
            expected = run.model(ids, lengths)
        _check_graph(onnx_dir, ts_dir, "model", {"inputs": ids, "lengths": lengths}, [expected])
    texts = ["a great film", "it was awful and the plot", "zzz unknown words", "great great great great great"]
    _same_rows(rt.load(onnx_dir).predict(texts), run.predict(texts))


def test_transformer_classify_numbers(tmp_path):
    x, y = numeric_classes(60, 10, 3, seed=1)
    rng = np.random.default_rng(0)
    seqs = [s[: rng.integers(3, 11)] for s in x]
    run = rnnkit.fit("classify", seqs, y, out=tmp_path / "run", settings={**TRANSFORMER, "model.pooling": "max"})
    onnx_dir, ts_dir = _both(run, tmp_path, "num")
    feats = torch.randn(7, 12, 3)
    lengths = torch.tensor([12, 4, 1, 7, 12, 3, 9])
    with torch.no_grad():
        expected = run.model(feats, lengths)
    _check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": lengths}, [expected])
    _same_rows(rt.load(onnx_dir).predict(seqs[:9]), run.predict(seqs[:9]))


def test_transformer_regress_and_forecast(tmp_path):
    from rnnkit.tasks import runner

    x, _ = numeric_classes(60, 6, 3, seed=0)
    target = np.stack([x[:, :, 0].sum(1), x[:, -1, 1]], 1)
    run = rnnkit.fit("regress", x, target, out=tmp_path / "reg", settings=TRANSFORMER)
    onnx_dir, ts_dir = _both(run, tmp_path, "reg")
    feats = torch.randn(5, 8, 3)
    lengths = torch.tensor([8, 6, 2, 8, 5])
    with torch.no_grad():
        expected = run.model(feats, lengths)
    _check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": lengths}, [expected])
    _same_rows(rt.load(onnx_dir).predict(x[:8]), run.predict(x[:8]), tol=1e-4)

    t = np.arange(200)
    temp = 200 + 30 * np.sin(2 * np.pi * t / 8) + np.random.default_rng(0).normal(0, 1, 200)
    hum = 0.5 + 0.1 * np.cos(2 * np.pi * t / 8)
    lines = ["time,hum,temp"] + [f"t{i},{h:.5f},{v:.5f}" for i, h, v in zip(t, hum, temp)]
    (tmp_path / "series.csv").write_text("\n".join(lines) + "\n")
    run = rnnkit.fit("forecast", tmp_path / "series.csv", out=tmp_path / "fc",
                     settings={**TRANSFORMER, "data.target_columns": ["temp"], "data.time_column": "time",
                               "data.input_len": 12, "data.horizon": 3})
    onnx_dir, ts_dir = _both(run, tmp_path, "fc")
    feats = torch.randn(4, 12, 2)
    with torch.no_grad():
        expected = run.model(feats, torch.full((4,), 12))
    _check_graph(onnx_dir, ts_dir, "model", {"inputs": feats, "lengths": torch.full((4,), 12)}, [expected])
    window = np.stack([hum, temp], 1)[-12:]
    _same_rows(rt.load(onnx_dir).predict(window[None]), runner.predict(run.path, tmp_path / "series.csv"),
               tol=1e-3)


def test_transformer_tag_emissions_and_viterbi(tmp_path):
    rng = np.random.default_rng(0)
    words = ["Paris", "London", "is", "big", "John", "runs", "in", "the", "park", "Mary"]
    kind = {"Paris": "LOC", "London": "LOC", "John": "PER", "Mary": "PER"}
    sents = [[words[i] for i in rng.integers(0, len(words), rng.integers(2, 8))] for _ in range(60)]
    tags = [[kind.get(w, "O") for w in s] for s in sents]
    run = rnnkit.fit("tag", sents, tags, out=tmp_path / "run", settings={**TRANSFORMER, "model.crf": True})
    onnx_dir, ts_dir = _both(run, tmp_path, "tag")
    assert "crf" in json.loads((onnx_dir / "manifest.json").read_text())["extras"]
    V = len(run.task.artifacts.words)
    ids = torch.randint(1, V, (4, 9))
    lengths = torch.tensor([9, 2, 5, 1])
    with torch.no_grad():
        expected = run.model(ids, lengths)
    _check_graph(onnx_dir, ts_dir, "model", {"inputs": ids, "lengths": lengths}, [expected])
    new = [["John", "is", "in", "Paris"], ["Mary", "runs"], ["the", "big", "park", "in", "London", "is", "big"]]
    _same_rows(rt.load(onnx_dir).predict(new), run.predict(new))


def _cache(state) -> list[torch.Tensor]:
    """TransformerLanguageModel's state ``(position, ((k, v) per block))`` as the graphs' inputs."""
    position, caches = state
    return [position, torch.stack([k for k, _ in caches]), torch.stack([v for _, v in caches])]


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_transformer_lm_sequence_and_step_graphs_with_the_cache(tmp_path, positions):
    text = "\n".join(f"the lazy fox {i % 7} jumps over" for i in range(80))
    # a window of 8 cached tokens: the cache is cut while streaming and generating, as in the model;
    # lines scored after 8 tokens of context, within the 40 learned positions
    run = rnnkit.fit("lm", [text], out=tmp_path / "run", settings={
        **TRANSFORMER, "data.level": "char", "data.seq_len": 16, "data.eval_context": 8, "model.positions": positions,
        "model.max_positions": 40, "model.context_size": 8, "generate.prime": "the"})
    m = run.model.eval()
    onnx_dir, ts_dir = _both(run, tmp_path, "tlm")
    manifest = json.loads((onnx_dir / "manifest.json").read_text())
    step_in = manifest["graphs"]["step"]["inputs"]
    assert [i["name"] for i in step_in] == ["ids", "position", "keys", "values"]
    assert step_in[2] == {"name": "keys", "shape": [2, "batch", 2, "past", 4], "dtype": "float32"}
    assert manifest["model"]["cache"]["max_positions"] == (40 if positions == "learned" else None)
    V = m._config.vocab_size
    ids = torch.randint(0, V, (3, 14))
    with torch.no_grad():
        full, _ = m(ids[:, :8])
        logits, state = m(ids[:, :3])  # a cache of 3 steps
        chunk, after = m(ids[:, 3:8], state)
        one, after_one = m.stream(ids[:, 3], state)
    _check_graph(onnx_dir, ts_dir, "sequence", dict(zip(["ids", "lengths", "position", "keys", "values"],
                                                        [ids[:, 3:8], torch.full((3,), 5), *_cache(state)])),
                 [chunk, *_cache(after)])
    _check_graph(onnx_dir, ts_dir, "step", dict(zip(["ids", "position", "keys", "values"],
                                                    [ids[:, 3], *_cache(state)])), [one, *_cache(after_one)])
    # the runtime from an empty cache (past = 0): a whole chunk == the model's forward; token by
    # token over 14 steps (past the 8-token window) == the model's stream; chunks == the same
    model = rt.load(onnx_dir)
    out, _ = model.stream(ids[:, :8].numpy())
    np.testing.assert_allclose(out, full.numpy(), atol=TOL, rtol=0)
    with torch.no_grad():
        st, expected = None, []
        for t in range(14):
            o, st = m.stream(ids[:, t], st)
            expected.append(o)
    expected = torch.stack(expected, 1).numpy()
    rst, steps = None, []
    for t in range(14):
        o, rst = model.stream(ids[:, t].numpy(), rst)
        steps.append(o)
    np.testing.assert_allclose(np.stack(steps, 1), expected, atol=TOL, rtol=0)
    for a, b in zip(rst, _cache(st)):
        np.testing.assert_allclose(a, b.numpy(), atol=TOL, rtol=0)
    assert rst[1].shape[3] == 8 and int(rst[0]) == 14
    # TorchScript step graph from an empty cache, token by token
    ts_step = torch.jit.load(str(ts_dir / "step.pt"))
    tstate, outs = [torch.from_numpy(a) for a in model.zero_state(3)], []
    with torch.no_grad():
        for t in range(14):
            res = ts_step(ids[:, t], *tstate)
            outs.append(res[0])
            tstate = res[1:]
    np.testing.assert_allclose(torch.stack(outs, 1).numpy(), expected, atol=TOL, rtol=0)
    # per-line scores (padded batches with lengths) and greedy generation equal the run's
    (tmp_path / "held.txt").write_text("the lazy fox 3\nover the fox\n\nz\n")
    _same_rows(model.predict(tmp_path / "held.txt"), run.predict(tmp_path / "held.txt"), tol=1e-4)
    assert model.generate("the ", length=30, temperature=0) == run.generate(prime="the ", length=30, temperature=0)
    # learned positions end at max_positions: both refuse (no cropping); sinusoidal ones do not end
    if positions == "learned":
        with pytest.raises(rt.RuntimeError_, match=r"max_positions=40 tokens per text; this one would reach "
                                                    r"position 42 .*positions='sinusoidal'"):
            model.generate("the ", length=40, temperature=0)
        with pytest.raises(rnnkit.ShapeError, match="max_positions=40"):
            run.generate(prime="the ", length=40, temperature=0)
        with pytest.raises(rt.RuntimeError_, match="max_positions=40"):
            model.stream(ids[:, :1].numpy(), model.stream(np.zeros((3, 40), np.int64))[1])
    else:
        assert model.generate("the ", length=40, temperature=0) == run.generate(prime="the ", length=40,
                                                                                temperature=0)
