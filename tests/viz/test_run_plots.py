"""Every run directory gets its plots (linked from report.md): curves always, and per task
the confusion matrix, predicted vs actual, attention heatmaps or sample text."""

from __future__ import annotations

import pytest

import rnnkit
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

pytest.importorskip("matplotlib", reason="plots need the optional viz extra (matplotlib)")
PNG = b"\x89PNG\r\n\x1a\n"


def _report_links(run, *names):
    report = (run.path / "report.md").read_text()
    page = (run.path / "report.html").read_text()  # the same plots, inline
    for name in names:
        assert (run.path / "plots" / name).is_file(), name
        assert f"plots/{name}" in report
        assert f"<figcaption>plots/{name}</figcaption>" in page
        if name.endswith(".png"):
            assert (run.path / "plots" / name).read_bytes()[:8] == PNG


def test_seq2seq_run_has_attention_heatmaps(tmp_path):
    src = ["one two", "two three", "three four", "four five", "five one", "one three"] * 4
    tgt = [s.upper() for s in src]
    run = rnnkit.fit("seq2seq", src, tgt, out=tmp_path / "run",
                     settings={"train.epochs": 150, "model.hidden_size": 8, "model.embedding_dim": 4,
                               "data.val_fraction": 0.25, "train.optim.lr": 0.01})  # 150 steps: it decodes words
    _report_links(run, "curves.png", "attention_1.png", "attention_2.png")


def test_lm_and_generate_runs_have_sample_text(tmp_path):
    run = rnnkit.fit("lm", ["to be or not to be, that is the question"] * 40, out=tmp_path / "lm",
                     settings={"train.epochs": 1, "model.hidden_size": 8, "data.batch_size": 4,
                               "data.seq_len": 8})
    _report_links(run, "curves.png", "sample.txt")
    texts = ["a great film", "a fine film", "an awful film", "a dull film"] * 5
    labels = ["pos", "pos", "neg", "neg"] * 5
    gen = rnnkit.fit("generate", texts, labels, out=tmp_path / "gen",
                     settings={"train.epochs": 1, "model.hidden_size": 8, "data.val_fraction": 0.2})
    _report_links(gen, "curves.png", "sample.txt")
    sample = (gen.path / "plots" / "sample.txt").read_text()
    assert "--- neg ---" in sample and "--- pos ---" in sample
    assert "--- neg ---" in (gen.path / "report.html").read_text()  # sample text shown in a <pre>


def test_tag_run_has_curves(tmp_path):
    sents = [["anna", "went", "to", "paris"], ["bob", "saw", "london"]] * 8
    tags = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-LOC"]] * 8
    run = rnnkit.fit("tag", sents, tags, out=tmp_path / "run", settings={"train.epochs": 1, "model.hidden_size": 8})
    _report_links(run, "curves.png")


def test_a_word_level_lm_samples_from_the_default_line_break_prime(tmp_path):
    run = rnnkit.fit("lm", ["the cat sat on the mat", "the dog sat on the log"] * 20, out=tmp_path / "lm",
                     settings={"train.epochs": 1, "model.hidden_size": 8, "data.level": "word",
                               "data.batch_size": 2, "data.seq_len": 4})
    _report_links(run, "sample.txt")  # the prime "\n" is the <eos> token at word level
    assert run.task.encode_prompt("\n").tolist() == [run.task.artifacts.vocab.encode(["<eos>"])[0]]
