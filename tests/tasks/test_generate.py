"""Task ``generate`` (one-to-many) through the pipeline skeleton: train → evaluate → predict
agree (CSV/TSV/JSONL, plain and .gz), artifacts, seeded and conditioned generation, errors."""

from __future__ import annotations

import csv
import gzip
import importlib.resources
import io
import json
import sys

import pytest

from rnnkit.config import from_dict
from rnnkit.errors import CheckpointError, DataError
from rnnkit.models import ConditionalGenerator, ConditionalGeneratorConfig
from rnnkit.tasks import pipeline
from rnnkit.tasks.generate import GenerateArtifacts, GenerateConfig, GenerateTask
from rnnkit.train import RunDir, Trainer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

POSITIVE = ["a great film , i loved it", "great acting and a fine story", "i loved this fine film"]
NEGATIVE = ["an awful film , i hated it", "bad acting and a dull story", "i hated this awful mess"]
ROWS = [(t, "pos") for t in POSITIVE] + [(t, "neg") for t in NEGATIVE]


def write_table(path, rows, header=("review", "sentiment")):
    if ".jsonl" in path.name:
        text = "".join(json.dumps(dict(zip(header, r))) + "\n" for r in rows)
    else:
        buf = io.StringIO()
        w = csv.writer(buf, delimiter="\t" if ".tsv" in path.name else ",", lineterminator="\n")
        w.writerows([header, *rows])
        text = buf.getvalue()
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def make_task(path=None, data=None, **model):
    raw = {"task": "generate",
           "data": {"text_column": "review", "condition_column": "sentiment", "batch_size": 4, "max_len": 6,
                    "val_fraction": 0.25, **(data or {})},
           "model": {"embedding_dim": 8, "hidden_size": 16, "condition_dim": 4, "condition_mode": "both", **model},
           "train": {"epochs": 15, "quiet": True, "optim": {"lr": 0.02}}}
    if path is not None:
        raw["data"]["path"] = str(path)
    return GenerateTask(from_dict(GenerateConfig, raw))


def trained(task):
    data = pipeline.prepare(task, None)
    model = task.build_model()
    Trainer(model, task.objective(final=False), task.config.train).fit(data.train, data.val)
    return data, model


@pytest.mark.parametrize("name", ["reviews.csv", "reviews.tsv.gz", "reviews.jsonl", "reviews.csv.gz"])
def test_train_evaluate_predict_agree(tmp_path, name):
    path = write_table(tmp_path / name, ROWS * 6)
    task = make_task(path)
    data, model = trained(task)
    assert task.artifacts.labels == ["neg", "pos"]
    for examples in (data.examples["val"], task.read(path)):
        metrics = pipeline.evaluate_examples(task, model, examples)
        rows = pipeline.predict_examples(task, model, examples)
        assert len(rows) == len(examples)
        tokens = sum(r["tokens"] for r in rows)
        manual = sum(r["nll"] * r["tokens"] for r in rows) / tokens
        assert metrics["nll"] == pytest.approx(manual, rel=1e-5)
        assert metrics["loss"] == pytest.approx(manual, rel=1e-5)
    assert rows[0]["text"] == POSITIVE[0] and rows[0]["condition"] == "pos"
    assert rows[0]["tokens"] == 6  # the first six words (max_len), no <eos>: the review goes on
    assert rows[1]["tokens"] == 7  # all six words and <eos>
    assert metrics["nll"] < 1.5  # well under uniform over the ~25 words


def test_generation_is_seeded_and_conditioned(tmp_path):
    task = make_task(write_table(tmp_path / "r.csv", ROWS * 6))
    _, model = trained(task)
    pos = task.generate(model, "pos", length=5, temperature=0)
    neg = task.generate(model, "neg", length=5, temperature=0)
    assert pos != neg
    assert any(w in pos.split() for w in ("great", "loved", "fine")), pos
    assert any(w in neg.split() for w in ("awful", "hated", "bad", "dull")), neg
    sampled = [task.generate(model, "pos", length=6, temperature=1.0, seed=3) for _ in range(2)]
    assert sampled[0] == sampled[1]
    primed = task.generate(model, "neg", "i", length=3, temperature=0)
    assert primed.startswith("i ")
    guided = task.generate(model, "pos", length=5, temperature=1.0, seed=3, guidance=1.5)  # away from "neg"
    assert guided == task.generate(model, "pos", length=5, temperature=1.0, seed=3, guidance=1.5, away_from="neg")
    with pytest.raises(DataError, match=r"condition 'meh' is not one of the training labels \['neg', 'pos'\]"):
        task.generate(model, "meh")


def test_an_unknown_condition_label_names_the_file_and_line(tmp_path):
    train = write_table(tmp_path / "train.csv", ROWS * 2)
    val = write_table(tmp_path / "val.csv", [("a fine film", "pos"), ("a film", "neutral")])
    task = make_task(train, data={"val_path": str(val)})
    with pytest.raises(DataError, match=r"val.csv: line 3: condition 'neutral' never appears in the training data "
                                        r"\(known: 'neg', 'pos'\)"):
        pipeline.prepare(task, None)


def test_vector_conditions(tmp_path):
    rows = [(t, "1", "0") for t in POSITIVE] + [(t, "0", "1") for t in NEGATIVE]
    path = write_table(tmp_path / "v.csv", rows * 4, header=("review", "x", "y"))
    task = make_task(path, data={"condition_columns": ["x", "y"]})
    data, model = trained(task)
    assert task.artifacts.columns == ["x", "y"] and model.config.condition == "vector"
    rows_out = pipeline.predict_examples(task, model, data.examples["val"])
    assert rows_out[0]["condition"] in ([1.0, 0.0], [0.0, 1.0])
    assert task.generate(model, "1,0", length=4, temperature=0) != task.generate(model, [0, 1], length=4,
                                                                                  temperature=0)
    with pytest.raises(DataError, match=r"condition must be 2 numbers for columns \['x', 'y'\]; got 3"):
        task.generate(model, "1,0,1")
    bad = write_table(tmp_path / "bad.csv", [("a film", "1", "high")], header=("review", "x", "y"))
    with pytest.raises(DataError, match="bad.csv: line 2: column 'y' must be a number; got 'high'"):
        task.read(bad)


def test_artifacts_round_trip(tmp_path):
    path = write_table(tmp_path / "r.jsonl", ROWS * 2)
    task = make_task(path, data={"level": "char"})
    _, model = trained(task)
    run = RunDir(tmp_path / "run")
    pipeline.save_artifacts(task, run)
    again = make_task(path, data={"level": "char"})
    pipeline.load_artifacts(again, run)
    assert again.artifacts == task.artifacts and again.artifacts.level == "char"
    twin = again.build_model()
    twin.load_state_dict(model.state_dict())
    examples = task.read(path)
    assert pipeline.predict_examples(again, twin, examples) == pipeline.predict_examples(task, model, examples)
    assert again.generate(twin, "pos", length=8, seed=1) == task.generate(model, "pos", length=8, seed=1)


@pytest.mark.parametrize("raw,message", [
    ({"level": "word", "lower": True, "vocab": {}}, "need exactly one of 'labels' (label conditions) or 'columns'"),
    ({"level": "word", "lower": True, "labels": []}, "artifacts key 'labels' must be a non-empty list of names"),
    ({"level": "word", "lower": True, "labels": ["a"], "vocab": [1]}, "artifacts key 'vocab' must be a vocabulary"),
    ({"level": "line", "lower": True, "labels": ["a"]}, "artifacts key 'level' must be 'char' or 'word'; got 'line'"),
])
def test_malformed_artifacts_are_named(raw, message):
    with pytest.raises(CheckpointError, match="run/artifacts.json: ") as info:
        GenerateArtifacts.from_dict(raw, "run/artifacts.json")
    assert message in str(info.value)


def test_recurrent_dropout_reaches_the_generator():
    model = ConditionalGenerator(ConditionalGeneratorConfig(vocab_size=9, hidden_size=11, recurrent_dropout=0.3))
    assert model.rnn.recurrent_dropout == 0.3


def test_review_writer_recipe_loads():
    text = (importlib.resources.files("rnnkit.recipes") / "review-writer.toml").read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    raw.pop("description")
    cfg = from_dict(GenerateConfig, raw)
    assert cfg.task == "generate" and cfg.data.dataset == "imdb" and cfg.generate.guidance > 0
