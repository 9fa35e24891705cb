"""The generate task with ``model.kind = "transformer"`` (TransformerGenerator), trained for two
steps through rnnkit.fit: generation works from the run; the export (ONNX and TorchScript)
writes the ``condition`` graph (the embedded condition and the starting cache: the condition
token, or empty in mode input) and the ``step`` graph (the key/value cache as explicit state),
both equal to the eager model; rnnkit.runtime writes what ``rnnkit generate`` writes (greedy,
with and without guidance) and refuses a text beyond learned positions as the model does.
The graphs in float64 without export: ``tests/models/test_transformer_generator.py``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnnkit
import rnnkit.runtime as rt
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from export_helpers import both as _both
from export_helpers import check_graph as _check_graph

SETTINGS = {"train.max_steps": 2, "train.device": "cpu", "model.kind": "transformer", "model.d_model": 8,
            "model.num_heads": 2, "model.num_layers": 2, "model.ff_size": 16, "model.condition_dim": 4}


def _texts(n: int = 40):
    rng = np.random.default_rng(0)
    labels = [str(rng.choice(["pos", "neg"])) for _ in range(n)]
    return [("a fine good film" if y == "pos" else "a dull bad film") + " indeed" for y in labels], labels


def _flat(state) -> list[torch.Tensor]:
    position, caches = state
    return [position, torch.stack([k for k, _ in caches]), torch.stack([v for _, v in caches])]


@pytest.mark.parametrize("mode,positions", [("init", "learned"), ("input", "sinusoidal")])
def test_transformer_generator_run_export_and_runtime(tmp_path, mode, positions):
    texts, labels = _texts()
    run = rnnkit.fit("generate", texts, labels, out=tmp_path / "run", settings={
        **SETTINGS, "model.condition_mode": mode, "model.positions": positions, "model.max_positions": 12,
        "model.context_size": 6})
    m = run.model.eval()
    assert type(m).__name__ == "TransformerGenerator" and m.prefix == (mode != "input")
    text = run.generate(condition="pos", length=5, temperature=1.0, seed=2)
    assert text == run.generate(condition="pos", length=5, temperature=1.0, seed=2) and len(text.split()) <= 5
    onnx_dir, ts_dir = _both(run, tmp_path, "tgen")
    manifest = json.loads((onnx_dir / "manifest.json").read_text())
    step_in = [i["name"] for i in manifest["graphs"]["step"]["inputs"]]
    assert step_in == ["ids", *(["cond"] if mode != "init" else []), "position", "keys", "values"]
    assert manifest["model"]["cache"]["prefix"] == m.prefix
    cond_ids = torch.tensor([0, 1, 1])
    with torch.no_grad():
        cond = m.embed_condition(cond_ids)
        state, extra = m._start(cond_ids, None)
        if state is None:  # mode input: an empty cache
            empty = torch.zeros(2, 3, 2, 0, 4)
            start = [torch.tensor(0), empty, empty]
        else:
            start = _flat(state)
        _check_graph(onnx_dir, ts_dir, "condition", {"condition": cond_ids}, [cond, *start])
        ids = torch.tensor([3, 4, 5])
        logits, new = m.stream(ids, cond_ids, state)
        feeds = [ids, *([cond] if mode != "init" else []), *start]
        _check_graph(onnx_dir, ts_dir, "step", dict(zip(step_in, feeds)), [logits, *_flat(new)])
    model = rt.load(onnx_dir)
    for condition, guidance in (("pos", 0.0), ("neg", 1.5)):
        want = run.generate(condition=condition, length=7, temperature=0, guidance=guidance)
        assert model.generate(condition, length=7, temperature=0, guidance=guidance) == want
    assert model.generate("pos", prime="a", length=5, temperature=0) == \
        run.generate(condition="pos", prime="a", length=5, temperature=0)
    if positions == "learned":  # condition token + bos + 11 tokens fed: position 12 is past the table
        with pytest.raises(rt.RuntimeError_, match="max_positions=12 positions per text; this one would reach "
                                                   "position 12"):
            model.generate("pos", length=12, temperature=0)
        with pytest.raises(rnnkit.ShapeError, match="max_positions=12"):
            run.generate(condition="pos", length=12, temperature=0)
