"""Task ``lm`` with ``data.tokenizer = "bpe"``: subwords learnt on the training text, the
tokenizer saved beside artifacts.json and read back, evaluate = predict, text generated."""

from __future__ import annotations

import math

import pytest

from rnnkit.config import from_dict
from rnnkit.data.bpe import MARK, UNK, BPETokenizer
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.tasks import pipeline
from rnnkit.tasks.lm import LMConfig, LanguageModelTask, TextWriter
from rnnkit.train import RunDir, Trainer

TEXT = "the cat sat on the mat.\nthe dog sat on the log.\n\na cat, a dog; a log!\n" * 12


def make_task(path, **data):
    raw = {"task": "lm", "data": {"path": str(path), "batch_size": 4, "seq_len": 12, "eval_context": 8,
                                  "tokenizer": "bpe", "bpe_vocab_size": 40, **data},
           "model": {"embedding_dim": 8, "hidden_size": 16},
           "train": {"epochs": 1, "quiet": True, "optim": {"lr": 0.01}}}
    return LanguageModelTask(from_dict(LMConfig, raw))


def test_bpe_language_model_round_trip(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    task = make_task(path)
    data = pipeline.prepare(task, None)
    a = task.artifacts
    assert isinstance(a.bpe, BPETokenizer) and a.level == "bpe" and data.info["level"] == "bpe"
    assert UNK not in a.bpe("dogcat matlog")  # never seen as words, made of known subwords
    model = task.build_model()
    Trainer(model, task.objective(final=False), task.config.train).fit(data.train, data.val)
    run = RunDir(tmp_path / "run")
    pipeline.save_artifacts(task, run)
    assert (run.path / "tokenizer.json").is_file()
    again = make_task(path)
    pipeline.load_artifacts(again, run)
    assert again.artifacts.vocab.tokens == a.vocab.tokens and again.artifacts.bpe("the cat") == a.bpe("the cat")
    examples = task.read(path)
    metrics = pipeline.evaluate_examples(again, model, examples)
    rows = pipeline.predict_examples(again, model, examples)
    tokens = sum(r["tokens"] for r in rows)
    assert metrics["nll"] == pytest.approx(sum(r["nll"] * r["tokens"] for r in rows if r["tokens"]) / tokens)
    assert math.isfinite(metrics["nll"])
    text = again.generate(model, "the cat", 15, temperature=0)
    assert text.startswith("the cat") and MARK not in text
    new = again.encode_prompt(text)[len(again.encode_prompt("the cat")):]  # the generated subwords
    if a.vocab.decode(new[:1].tolist())[0].startswith(MARK):  # a new word: a space after the prime
        assert text[len("the cat")] == " "
    # the writer glues subwords and turns a word's start mark into a space
    writer = TextWriter(a.vocab, "bpe")
    assert "".join(writer(i) for i in a.vocab.encode([*a.bpe("the cat sat"), "<eos>"]).tolist()) == "the cat sat\n"
    from rnnkit.export.exporter import _graphs

    # exportable: rnnkit export copies tokenizer.json, the runtime reads it (tests/export/test_export_bpe.py)
    assert sorted(_graphs(again, model)) == ["sequence", "step"]
    (run.path / "tokenizer.json").unlink()
    with pytest.raises(CheckpointError, match=r"tokenizer\.json is missing: the BPE tokenizer of this run"):
        pipeline.load_artifacts(make_task(path), run)
    with pytest.raises(ConfigError, match=r"data.bpe_vocab_size must be an integer >= 16; got 2"):
        make_task(path, bpe_vocab_size=2)
