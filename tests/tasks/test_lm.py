"""Task ``lm`` through the pipeline skeleton: train → evaluate → predict on the same files
agree (plain and .gz, char and word level), the validation tail, artifacts, generation."""

from __future__ import annotations

import gzip
import json
import math

import pytest
import torch

from rnnkit.config import from_dict
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models import LanguageModel, LanguageModelConfig
from rnnkit.tasks import pipeline
from rnnkit.tasks.lm import LMArtifacts, LMConfig, LanguageModelTask
from rnnkit.train import RunDir, Trainer

TEXT = "the cat sat on the mat.\nthe dog sat on the log.\n\na cat, a dog; a log!\n" * 12


def write(path, text):
    if path.suffix == ".gz":
        path.write_bytes(gzip.compress(text.encode("utf-8")))
    else:
        path.write_text(text, encoding="utf-8")
    return path


def make_task(path=None, **data):
    raw = {"task": "lm", "data": {"batch_size": 4, "seq_len": 12, "eval_context": 8, **data},
           "model": {"embedding_dim": 8, "hidden_size": 16},
           "train": {"epochs": 2, "quiet": True, "optim": {"lr": 0.01}}}
    if path is not None:
        raw["data"]["path"] = str(path)
    return LanguageModelTask(from_dict(LMConfig, raw))


def trained(task):
    data = pipeline.prepare(task, None)
    model = task.build_model()
    Trainer(model, task.objective(final=False), task.config.train).fit(data.train, data.val)
    return data, model


def manual_nll(rows):
    """The token-weighted mean NLL of predict rows."""
    tokens = sum(r["tokens"] for r in rows)
    return sum(r["nll"] * r["tokens"] for r in rows if r["tokens"]) / tokens, tokens


@pytest.mark.parametrize("level", ["char", "word"])
@pytest.mark.parametrize("name", ["corpus.txt", "corpus.txt.gz"])
def test_train_evaluate_predict_agree(tmp_path, name, level):
    path = write(tmp_path / name, TEXT)
    task = make_task(path, level=level)
    data, model = trained(task)
    for examples in (data.examples["val"], task.read(path)):  # the held-out tail, then the whole file
        metrics = pipeline.evaluate_examples(task, model, examples)
        rows = pipeline.predict_examples(task, model, examples)
        assert len(rows) == len(examples)
        nll, tokens = manual_nll(rows)
        assert tokens == len(task.encode(examples).ids) - 1  # every token but the first is scored, once
        assert metrics["nll"] == pytest.approx(nll, rel=1e-5)
        assert metrics["loss"] == pytest.approx(nll, rel=1e-5)
        assert metrics["bpc"] == pytest.approx(nll / math.log(2), rel=1e-5)
    whole = pipeline.evaluate_examples(task, model, task.read(path))
    assert whole["nll"] < math.log(len(task.artifacts.vocab))  # it learnt something
    row = rows[1]
    assert row["text"] == examples.inputs[1].rstrip("\n") and row["ppl"] == pytest.approx(math.exp(row["nll"]))


def test_validation_is_the_tail_of_the_corpus(tmp_path):
    task = make_task(write(tmp_path / "c.txt", TEXT), val_fraction=0.25)
    splits = pipeline.read_splits(task)
    train, val = "".join(splits["train"].inputs), "".join(splits["val"].inputs)
    assert train + val == TEXT and len(val) == int(len(TEXT) * 0.25)  # cut at the character, mid-line
    assert splits["test"] is None


def test_bundled_tiny_shakespeare_when_no_path_is_given():
    task = make_task()
    splits = pipeline.read_splits(task)
    assert splits["train"].inputs[0] == "First Citizen:\n"
    n = sum(len(s) for s in splits["train"].inputs) + sum(len(s) for s in splits["val"].inputs)
    assert sum(len(s) for s in splits["val"].inputs) == int(n * 0.1)
    task.artifacts = task.fit(splits["train"])
    assert len(task.artifacts.vocab) == 65


def test_eval_context_zero_scores_each_line_alone(tmp_path):
    task = make_task(write(tmp_path / "c.txt", TEXT), eval_context=0)
    _, model = trained(task)
    alone = pipeline.predict_examples(task, model, task.from_memory(["a", "the dog sat on the log."]))[1]
    other = pipeline.predict_examples(task, model, task.from_memory(["a cat, a dog", "the dog sat on the log."]))[1]
    assert alone["tokens"] == other["tokens"] == len("the dog sat on the log.\n")
    assert alone["nll"] == pytest.approx(other["nll"], rel=1e-5)


def test_artifacts_round_trip_and_reload(tmp_path):
    path = write(tmp_path / "c.txt", TEXT)
    task = make_task(path, level="word", lower=True)
    _, model = trained(task)
    run = RunDir(tmp_path / "run")
    pipeline.save_artifacts(task, run)
    saved = json.loads((tmp_path / "run" / pipeline.ARTIFACTS_FILE).read_text())
    assert saved["task"] == "lm" and saved["artifacts"]["level"] == "word" and saved["artifacts"]["lower"] is True
    again = make_task(path, level="word", lower=True)
    pipeline.load_artifacts(again, run)
    assert again.artifacts == task.artifacts
    twin = again.build_model()
    twin.load_state_dict(model.state_dict())
    examples = task.read(path)
    assert pipeline.predict_examples(again, twin, examples) == pipeline.predict_examples(task, model, examples)


@pytest.mark.parametrize("raw,message", [
    ({"level": "byte", "lower": False, "vocab": {}}, "artifacts key 'level' must be 'char' or 'word'; got 'byte'"),
    ({"level": "char", "lower": "no", "vocab": {}}, "artifacts key 'lower' must be true or false; got 'no'"),
    ({"level": "char", "lower": False}, "artifacts key 'vocab' must be a vocabulary"),
    ({"level": "char", "lower": False, "vocab": {"tokens": ["a"]}}, "not an rnnkit vocabulary"),
])
def test_malformed_artifacts_are_named(raw, message):
    with pytest.raises(CheckpointError, match="run/artifacts.json: ") as info:
        LMArtifacts.from_dict(raw, "run/artifacts.json")
    assert message in str(info.value)


def test_unseen_characters_in_held_out_text_are_named(tmp_path):
    task = make_task(write(tmp_path / "c.txt", TEXT))
    task.artifacts = task.fit(task.read(tmp_path / "c.txt"))
    other = task.read(write(tmp_path / "other.txt", "the cat sat on a QUIZ\n"))
    with pytest.raises(DataError, match=r"other.txt: characters the model never saw in training: \['I', 'Q', 'U', 'Z'\]"):
        task.encode(other)


def test_generate_is_reproducible_and_primed(tmp_path):
    task = make_task(write(tmp_path / "c.txt", TEXT))
    _, model = trained(task)
    greedy = task.generate(model, "the ", 20, temperature=0)
    assert greedy.startswith("the ") and len(greedy) == 24
    assert task.generate(model, "the ", 20, temperature=0) == greedy
    a, b = (task.generate(model, "the ", 30, temperature=1.0, seed=s) for s in (1, 1))
    assert a == b
    with pytest.raises(DataError, match=r"--prime has characters the model never saw: \['Q'\]"):
        task.generate(model, "Q")


def test_recurrent_dropout_is_a_model_setting():
    cfg = LanguageModelConfig(vocab_size=7, embedding_dim=5, hidden_size=11, recurrent_dropout=0.25)
    model = LanguageModel(cfg)
    assert model.rnn.recurrent_dropout == 0.25
    model.train()
    assert model.rnn.path == "unrolled"
    logits, _ = model(torch.randint(0, 7, (3, 4)))
    assert logits.shape == (3, 4, 7)
    with pytest.raises(ConfigError, match="LanguageModelConfig.recurrent_dropout must be in \\[0, 1\\); got 1.5"):
        LanguageModelConfig(vocab_size=7, recurrent_dropout=1.5)
    with pytest.raises(ConfigError, match="LanguageModelConfig.backend='fused' cannot run recurrent_dropout=0.2"):
        LanguageModelConfig(vocab_size=7, recurrent_dropout=0.2, backend="fused")


def test_data_settings_are_checked_when_the_config_loads():
    with pytest.raises(ConfigError, match="data.eval_context must be >= 0; got -1"):
        make_task(eval_context=-1)
    with pytest.raises(ConfigError, match="data.seq_len must be >= 1; got 0"):
        make_task(seq_len=0)


def test_state_reset_restarts_whole_streams_from_zero():
    """data.state_reset: each stream's carried state (every tensor of it) restarts from zero with
    probability p per training batch; scoring and p = 0 leave it alone."""
    from rnnkit.tasks.configs import load_run_config
    from rnnkit.tasks.lm import reset_streams

    h, c = torch.ones(2, 500, 3), torch.full((2, 500, 3), 2.0)
    torch.manual_seed(0)
    h2, c2 = reset_streams((h, c), 0.3)
    zeroed = (h2 == 0).all(2).all(0)
    assert torch.equal(zeroed, (c2 == 0).all(2).all(0))  # the same streams in h and c
    assert 0.2 < zeroed.float().mean().item() < 0.4
    assert torch.equal(h2[:, ~zeroed], h[:, ~zeroed]) and torch.equal(c2[:, ~zeroed], c[:, ~zeroed])
    assert (reset_streams(h, 1.0) == 0).all() and torch.equal(reset_streams(h, 0.0), h)
    with pytest.raises(ConfigError, match=r"data.state_reset"):
        load_run_config("lm", ["data.state_reset=1.5"])
