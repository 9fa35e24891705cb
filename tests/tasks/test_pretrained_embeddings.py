"""``model.pretrained_embeddings`` through the tasks (tag, classify) on small vectors files
made here: the rows are copied at training time (exact, then lowercase match), frozen
rows stay fixed through training and fine-tuned ones move, the dimension comes from the
file, the coverage is said and kept in the report, and a run reloads without the file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.config import from_dict
from rnnkit.errors import ConfigError
from rnnkit.models import SequenceClassifierConfig
from rnnkit.tasks import pipeline
from rnnkit.tasks.configs import load_run_config
from rnnkit.tasks.tag import TagConfig, TagTask

SENTS = [["Alice", "went", "to", "Paris"], ["Bob", "saw", "Rome"], ["the", "city", "Paris"]] * 8
TAGS = [["B-PER", "O", "O", "B-LOC"], ["B-PER", "O", "B-LOC"], ["O", "O", "B-LOC"]] * 8
# "paris" and "alice" match by the lowercase form; "city", "saw", "Bob" have no vector
VECTORS = {"went": [1, 0, 0, 0, 0], "to": [0, 1, 0, 0, 0], "paris": [0, 0, 1, 0, 0], "alice": [0, 0, 0, 1, 0],
           "Rome": [0, 0, 0, 0, 1], "the": [0.5, 0.5, 0, 0, 0], "unused": [9, 9, 9, 9, 9]}
SETTINGS = {"model.hidden_size": 6, "train.epochs": 2, "train.optim.lr": 0.05, "data.batch_size": 8}


def glove(path) -> str:
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in VECTORS.items()), encoding="utf-8")
    return str(path)


def rows_of(run, words) -> torch.Tensor:
    vocab = run.task.artifacts.words
    return run.model.encoder.embedding.weight.detach()[[vocab[w] for w in words]]


@pytest.mark.parametrize("freeze", [True, False], ids=["frozen", "fine-tuned"])
def test_tag_copies_the_vectors_and_freezes_or_fine_tunes(tmp_path, freeze):
    path = glove(tmp_path / "vectors.txt")
    run = rnnkit.fit("tag", SENTS, TAGS, out=tmp_path / "run", settings={
        **SETTINGS, "model.pretrained_embeddings": path, "model.freeze_embeddings": freeze})
    assert run.config.model.embedding_dim == 5  # taken from the file, and saved in config.toml
    words = ["went", "Paris", "Alice", "Rome"]
    expected = torch.tensor([VECTORS[w] if w in VECTORS else VECTORS[w.lower()] for w in words], dtype=torch.float32)
    assert run.model.encoder.embedding.weight.requires_grad is not freeze
    if freeze:
        assert torch.equal(rows_of(run, words), expected)  # two epochs of steps did not move them
    else:
        assert not torch.allclose(rows_of(run, words), expected)  # fine-tuned: they moved
    report = (tmp_path / "run" / "report.md").read_text()
    # 8 ordinary words: went, to, the, Rome exact; Paris, Alice by lowercase; city, saw, Bob missing
    assert "exact 4 (44.44%), lowercase 2 (22.22%), missing 3 (33.33%)" in report
    assert "glove, 7 vectors, dimension 5" in report

    # the weights live in the run: it reloads and predicts without the vectors file
    (tmp_path / "vectors.txt").unlink()
    again = rnnkit.load(tmp_path / "run")
    assert again.config.model.embedding_dim == 5
    assert torch.equal(again.model.encoder.embedding.weight, run.model.encoder.embedding.weight)
    assert again.model.encoder.embedding.weight.requires_grad is not freeze
    assert again.predict(SENTS[:3]) == run.predict(SENTS[:3])


def test_coverage_is_said_on_stderr(tmp_path, capsys):
    cfg = from_dict(TagConfig, {"task": "tag", "model": {"pretrained_embeddings": glove(tmp_path / "v.txt")}})
    task = TagTask(cfg)
    pipeline.prepare(task, given={"train": task.from_memory(SENTS, TAGS)})
    err = capsys.readouterr().err
    assert "pretrained embeddings: " in err and "glove text format, 7 vectors of dimension 5; fine-tuned" in err
    assert "6 of 9 words have a vector: 4 exact (44.44%), 2 by their lowercase form (22.22%), 3 missing" in err
    assert task.config.model.embedding_dim == 5
    model = task.build_model()
    np.testing.assert_array_equal(model.encoder.embedding.weight[task.artifacts.words["Paris"]].detach().numpy(),
                                  VECTORS["paris"])


def test_classify_applies_the_vectors(tmp_path):
    texts = ["went to paris", "the city", "saw Rome", "to the city"] * 6
    labels = ["a", "b", "a", "b"] * 6
    run = rnnkit.fit("classify", texts, labels, out=tmp_path / "run", settings={
        **SETTINGS, "model.pretrained_embeddings": glove(tmp_path / "v.txt"), "model.freeze_embeddings": True})
    vocab = run.task.artifacts.vocab
    got = run.model.encoder.embedding.weight.detach()[vocab["paris"]]
    assert got.tolist() == VECTORS["paris"] and run.config.model.embedding_dim == 5
    assert "pretrained coverage" in (tmp_path / "run" / "report.md").read_text()


def test_errors_name_the_setting(tmp_path):
    path = glove(tmp_path / "v.txt")
    with pytest.raises(ConfigError, match=r"model.embedding_dim=8, but model.pretrained_embeddings .*v.txt holds "
                                          r"vectors of dimension 5; leave model.embedding_dim unset"):
        rnnkit.fit("tag", SENTS, TAGS, out=tmp_path / "r1", settings={
            **SETTINGS, "model.pretrained_embeddings": path, "model.embedding_dim": 8})
    with pytest.raises(rnnkit.errors.DataError, match=r"word vectors file not found: .*nope.txt"):
        rnnkit.fit("tag", SENTS, TAGS, out=tmp_path / "r2", settings={
            **SETTINGS, "model.pretrained_embeddings": str(tmp_path / "nope.txt")})
    with pytest.raises(ConfigError, match=r"freeze_embeddings=True freezes pretrained vectors; expected "
                                          r"model.pretrained_embeddings to be set too"):
        load_run_config("tag", ["model.freeze_embeddings=true"])
    with pytest.raises(ConfigError, match=r"pretrained_embeddings must be the path of a word vectors file; got ''"):
        load_run_config("tag", ["model.pretrained_embeddings="])
    with pytest.raises(ConfigError, match=r"SequenceClassifierConfig.pretrained_embeddings needs token inputs"):
        SequenceClassifierConfig(input_size=3, pretrained_embeddings=path)


def test_seq2seq_fills_source_and_target_embeddings(tmp_path, capsys):
    pairs = [("went to paris", "to paris went"), ("the city", "city the"), ("saw Rome", "Rome saw")] * 6
    run = rnnkit.fit("seq2seq", [a for a, _ in pairs], [b for _, b in pairs], out=tmp_path / "run", quiet=False,
                     settings={**SETTINGS, "train.epochs": 1, "data.lowercase": False,
                               "model.pretrained_embeddings": glove(tmp_path / "v.txt"),
                               "model.freeze_embeddings": True})
    a, m = run.task.artifacts, run.model
    assert run.config.model.embedding_dim == 5
    assert m.src_embedding.weight[a.source["paris"]].tolist() == VECTORS["paris"]
    assert m.tgt_embedding.weight[a.target["Rome"]].tolist() == VECTORS["Rome"]
    assert not m.src_embedding.weight.requires_grad and not m.tgt_embedding.weight.requires_grad
    err = capsys.readouterr().err
    assert "pretrained embeddings (source): " in err and "pretrained embeddings (target): " in err
    report = (tmp_path / "run" / "report.md").read_text()
    assert "pretrained coverage (source)" in report and "pretrained coverage (target)" in report
