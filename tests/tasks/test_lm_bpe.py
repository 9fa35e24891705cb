"""Task ``lm`` with ``data.tokenizer = "bpe"``: subwords learnt on the training text, the
tokenizer saved beside artifacts.json and read back, evaluate = predict, text generated; each
line tokenized without its line break and ended by <eos> (runs saved before that still load)."""

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


def legacy_fit(self, train):
    """The lm task's BPE fit before line breaks were left out of subwords (each line trained and
    counted with its line break), to make a run as such a version saved it."""
    from collections import Counter

    from rnnkit.data import Vocab
    from rnnkit.tasks.lm import LMArtifacts

    d = self.config.data
    bpe = BPETokenizer.train(train.inputs, d.bpe_vocab_size, lower=d.lower)
    counts = Counter(t for line in train.inputs for t in bpe(line))
    return LMArtifacts(Vocab.from_counts(counts, pad="<pad>", unk="<unk>", bos=None, eos="<eos>"), "bpe", d.lower,
                       bpe=bpe)


def trained(task, path, epochs=1):
    task.config.train.epochs = epochs
    data = pipeline.prepare(task, None)
    model = task.build_model()
    Trainer(model, task.objective(final=False), task.config.train).fit(data.train, data.val)
    return model


def test_bpe_line_ends_are_eos_only(tmp_path):
    """Each line is tokenized without its line break and ended by <eos> (as at word level): no
    subword holds a line break, a line scored or trained has the tokens it has as a prime, and
    the text written back has one line break per line end."""
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    task = make_task(path, bpe_vocab_size=60, val_fraction=0.25)
    model = trained(task, path, epochs=25)
    a = task.artifacts
    assert not [t for t in a.vocab.tokens if t.splitlines() != [t]]  # no "\n" (nor any line break) in a subword
    assert not [t for t in a.bpe.model.get_vocab() if "\n" in t]
    assert not a.subword_breaks
    # the training text's tokens are the same text's tokens given as a prime, line by line and whole
    examples = task.read(path)
    ids = task.encode(examples).ids.tolist()
    assert ids == task.encode_prompt(TEXT).tolist()
    first = [*a.bpe("the cat sat on the mat."), "<eos>"]
    assert a.vocab.decode(ids[:len(first)], skip_specials=False) == first
    for line in ("a cat, a dog; a log!\n", "\n", "the dog sat on the log.\r\n"):
        assert task.encode_prompt(line).tolist() == task.encode(task.from_memory(line)).ids.tolist()
    two_lines = a.vocab.encode([*a.bpe("a log!"), "<eos>", *a.bpe("the")]).tolist()
    assert task.encode_prompt("a log!\nthe").tolist() == two_lines
    # a blank line is <eos> alone, as at word level
    assert task.encode_prompt("\n").tolist() == [a.vocab.eos_id]
    # written back: the text itself, one line break per line end (the blank line included)
    assert task.decode(ids) == TEXT
    writer = TextWriter(a.vocab, "bpe")
    assert "".join(writer(i) for i in ids) == TEXT
    # predict rows score each line's subwords and its <eos>
    rows = pipeline.predict_examples(task, model, task.from_memory(["the cat sat on the mat.", "", "a log!"]))
    assert [r["tokens"] for r in rows] == [len(a.bpe("the cat sat on the mat.")), 1, len(a.bpe("a log!")) + 1]
    # greedy generation over several lines: one line break per generated <eos>, no "\n \n"
    for prime in ("the cat", "a log!\n", "\n"):
        text = task.generate(model, prime, 60, temperature=0)
        new = text[len(prime):]
        assert new.count("\n") >= 3, text  # the test covers several line ends
        generated = model.generate(task.encode_prompt(prime), 60, temperature=0)[0].tolist()  # the same greedy ids
        assert new.count("\n") == generated.count(a.vocab.eos_id)
        assert "\n \n" not in text and " \n" not in text and "\n\n\n" not in text


def test_bpe_runs_trained_with_line_breaks_in_subwords_still_load(tmp_path, monkeypatch):
    """A run saved before the fix (subwords like ".\\n") loads and is read as it was trained:
    its lines keep their line breaks before <eos>, primes are encoded the same way, and the
    text written back has one line break per line end."""
    path = tmp_path / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    task = make_task(path, bpe_vocab_size=60)
    monkeypatch.setattr(LanguageModelTask, "fit", legacy_fit)
    model = trained(task, path)
    run = RunDir(tmp_path / "run")
    pipeline.save_artifacts(task, run)
    monkeypatch.undo()
    again = make_task(path, bpe_vocab_size=60)
    pipeline.load_artifacts(again, run)
    a = again.artifacts
    assert a.subword_breaks and [t for t in a.vocab.tokens if "\n" in t]
    examples = again.read(path)
    ids = again.encode(examples).ids.tolist()
    assert ids == task.encode(examples).ids.tolist()  # scored as it was trained
    first = [*a.bpe("the cat sat on the mat.\n"), "<eos>"]  # the line break in its last subword, then <eos>
    assert "\n" in first[-2] and a.vocab.decode(ids[:len(first)], skip_specials=False) == first
    assert ids == again.encode_prompt(TEXT).tolist()
    assert again.decode(ids) == TEXT
    rows = pipeline.predict_examples(again, model, examples)
    assert all(math.isfinite(r["nll"]) for r in rows[1:])
    text = again.generate(model, "the cat\n", 40, temperature=0)
    assert text.startswith("the cat\n") and "\n \n" not in text and MARK not in text
