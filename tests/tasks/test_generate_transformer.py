"""The generate task with ``model.kind = "transformer"`` through the pipeline: the config picks
TransformerGenerator, evaluate (whole split) equals the token-weighted mean of the predict rows,
generation is seeded, and rnnkit.load rebuilds the same model from the run directory."""

from __future__ import annotations

import pytest

import rnnkit
from rnnkit.errors import ConfigError
from rnnkit.tasks import pipeline
from rnnkit.tasks.configs import load_run_config

TEXTS = ["a great film , i loved it", "great acting and a fine story", "an awful film , i hated it",
         "bad acting and a dull story"] * 5
LABELS = ["pos", "pos", "neg", "neg"] * 5
SETTINGS = {"train.max_steps": 3, "train.device": "cpu", "model.kind": "transformer", "model.d_model": 8,
            "model.num_heads": 2, "model.num_layers": 1, "model.ff_size": 16, "model.condition_dim": 4,
            "data.batch_size": 4}


def test_transformer_generate_run(tmp_path):
    run = rnnkit.fit("generate", TEXTS, LABELS, out=tmp_path / "run", settings={**SETTINGS,
                                                                                "model.condition_mode": "both"})
    assert type(run.model).__name__ == "TransformerGenerator"
    examples = run.task.from_memory(TEXTS[:6], LABELS[:6])
    metrics = pipeline.evaluate_examples(run.task, run.model, examples)
    rows = pipeline.predict_examples(run.task, run.model, examples)
    tokens = sum(r["tokens"] for r in rows)
    assert metrics["nll"] == pytest.approx(sum(r["nll"] * r["tokens"] for r in rows) / tokens, rel=1e-5)
    text = run.generate(condition="neg", length=6, temperature=0.9, top_k=4, seed=5)
    again = rnnkit.load(tmp_path / "run")
    assert again.generate(condition="neg", length=6, temperature=0.9, top_k=4, seed=5) == text
    assert again.generate(condition="pos", length=6, temperature=0, guidance=1.0) == \
        run.generate(condition="pos", length=6, temperature=0, guidance=1.0)


def test_transformer_generate_config_errors():
    with pytest.raises(ConfigError, match="condition_mode"):
        load_run_config("generate", ["model.kind=transformer", "model.condition_mode=prefix"])
    with pytest.raises(ConfigError, match="d_model"):
        load_run_config("generate", ["model.kind=transformer", "model.d_model=10", "model.num_heads=4"])
    with pytest.raises(ConfigError, match="context_size must be >= 2"):
        load_run_config("generate", ["model.kind=transformer", "model.context_size=1"])
