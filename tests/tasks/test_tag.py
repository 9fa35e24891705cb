"""Task ``tag`` through the pipeline skeleton: read (CoNLL / CoNLL-U / plain text, plain or
``.gz``) → prepare → a short Trainer fit → evaluate the whole split → predict, and the
artifacts saved and loaded as one object."""

from __future__ import annotations

import gzip
import json
import random
import shutil

import pytest
import torch

from rnnkit.config import from_dict
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks import pipeline
from rnnkit.tasks.tag import TagArtifacts, TagConfig, TagObjective, TagTask
from rnnkit.train import RunDir, Trainer
from rnnkit.train.metrics import entity_f1

# The tag is a function of the token: names are PER (a B- then an I- surname), cities LOC.
NAMES, CITIES, OTHER = ["Alice", "Bob", "Carol", "Dave"], ["Paris", "Rome", "Oslo"], ["the", "went", "to", "saw", "a"]
TINY = {"model": {"embedding_dim": 8, "hidden_size": 12}, "train": {"quiet": True, "epochs": 4, "optim": {"lr": 0.03}}}


def sentences(n: int, seed: int) -> list[list[tuple[str, str]]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sent: list[tuple[str, str]] = []
        for _ in range(rng.randint(3, 7)):
            r = rng.random()
            if r < 0.25:
                sent += [(rng.choice(NAMES), "B-PER"), ("Smith", "I-PER")]
            elif r < 0.45:
                sent.append((rng.choice(CITIES), "B-LOC"))
            else:
                sent.append((rng.choice(OTHER), "O"))
        out.append(sent)
    return out


def _open(path, gz: bool):
    return gzip.open(path, "wt", encoding="utf-8") if gz else open(path, "w", encoding="utf-8")


def write_conll(path, sents, gz: bool = False) -> str:
    with _open(path, gz) as f:
        f.write("-DOCSTART- -X- -X- O\n\n")
        for sent in sents:
            f.write("".join(f"{tok} NNP I-NP {tag}\n" for tok, tag in sent) + "\n")
    return str(path)


def write_conllu(path, sents, gz: bool = False) -> str:
    """POS tags in the upos column: NOUN for names and cities, X otherwise."""
    with _open(path, gz) as f:
        for k, sent in enumerate(sents):
            f.write(f"# sent_id = {k}\n")
            for i, (tok, tag) in enumerate(sent, 1):
                upos = "X" if tag == "O" else "NOUN"
                f.write(f"{i}\t{tok}\t{tok.lower()}\t{upos}\t_\t_\t0\tdep\t_\t_\n")
            f.write("\n")
    return str(path)


def config(data: dict, **tables: dict) -> TagConfig:
    raw = {"task": "tag", "data": {"batch_size": 8, **data}, **{k: dict(v) for k, v in TINY.items()}}
    for name, table in tables.items():
        raw[name] = {**raw.get(name, {}), **table}
    return from_dict(TagConfig, raw)


def train(cfg: TagConfig, run: RunDir | None = None, given=None):
    """prepare → build the model → a short fit, as the runner does."""
    task = TagTask(cfg)
    data = pipeline.prepare(task, given=given)
    if run is not None:
        pipeline.save_artifacts(task, run)
    model = task.build_model()
    Trainer(model, task.objective(final=False), cfg.train, None).fit(data.train, data.val)
    return task, model, data


def manual_scores(rows, gold_tags) -> dict[str, float]:
    """Token accuracy and entity F1 of predict rows against the gold tags."""
    pred = [r["tags"] for r in rows]
    assert [len(p) for p in pred] == [len(g) for g in gold_tags]
    pairs = [(p, g) for ps, gs in zip(pred, gold_tags) for p, g in zip(ps, gs)]
    return {"accuracy": sum(p == g for p, g in pairs) / len(pairs), **entity_f1(pred, gold_tags)}


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_train_evaluate_predict_agree_on_the_same_files(tmp_path, gz):
    ext = ".conll.gz" if gz else ".conll"
    files = {name: write_conll(tmp_path / f"{name}{ext}", sentences(n, seed), gz)
             for name, n, seed in (("train", 120, 0), ("val", 20, 1), ("test", 30, 2))}
    cfg = config({"path": files["train"], "val_path": files["val"], "test_path": files["test"], "char_features": True},
                 model={"crf": True, "char_hidden_size": 6, "char_embedding_dim": 5})
    run = RunDir(tmp_path / "run")
    task, model, data = train(cfg, run)
    assert data.info["test examples"] == 30 and data.info["entity F1"] is True
    assert task.artifacts.tags == ["B-LOC", "B-PER", "I-PER", "O"]

    for split in ("val", "test"):
        labelled = task.read(files[split])
        metrics = pipeline.evaluate_examples(task, model, labelled)
        assert metrics["accuracy"] > 0.9 and metrics["f1"] > 0.8, metrics
        rows = pipeline.predict_examples(task, model, task.read(files[split], labelled=False))
        assert len(rows) == len(labelled) and rows[0]["line"] == 3  # after -DOCSTART- and its blank line
        assert rows[0]["tokens"] == labelled.inputs[0]
        manual = manual_scores(rows, labelled.targets)
        for key in ("accuracy", "precision", "recall", "f1"):
            assert metrics[key] == pytest.approx(manual[key], abs=1e-12), key

    # the artifacts are one file; loaded back into a fresh task they give the same predictions
    run.save_weights(model.state_dict())
    saved = json.loads((run.path / pipeline.ARTIFACTS_FILE).read_text())
    assert saved["task"] == "tag" and saved["artifacts"]["tags"] == task.artifacts.tags
    again = TagTask(cfg)
    pipeline.load_artifacts(again, run)
    model2 = again.build_model()
    model2.load_state_dict(run.load_weights())
    source = task.read(files["test"], labelled=False)
    assert pipeline.predict_examples(again, model2, source) == pipeline.predict_examples(task, model, source)


def test_conllu_gz_is_read_as_conllu_by_train_evaluate_and_predict(tmp_path):
    train_file = write_conllu(tmp_path / "train.conllu", sentences(80, 2))
    test_file = write_conllu(tmp_path / "test.conllu.gz", sentences(20, 3), gz=True)
    cfg = config({"path": train_file, "test_path": test_file, "lowercase": True})
    task, model, data = train(cfg)
    assert data.info["entity F1"] is False  # NOUN/X are not BIO chunks
    assert "alice" in task.artifacts.words and "Alice" not in task.artifacts.words
    metrics = pipeline.evaluate_examples(task, model, pipeline.read_split_only(task, "test"))
    assert metrics["accuracy"] > 0.9 and "f1" not in metrics
    rows = pipeline.predict_examples(task, model, pipeline.source_examples(task, test_file))
    gold = task.read(test_file)
    assert [r["tokens"] for r in rows] == gold.inputs  # the form column, not whole lines
    assert rows[0]["line"] == 2  # the first token line, after "# sent_id = 0"
    assert metrics["accuracy"] == pytest.approx(manual_scores(rows, gold.targets)["accuracy"], abs=1e-12)


def test_predict_plain_text_and_in_memory(tmp_path):
    cfg = config({"path": write_conll(tmp_path / "train.conll", sentences(120, 0)), "char_features": True})
    task, model, _ = train(cfg)
    text = tmp_path / "input.txt"
    text.write_text("Alice Smith went to Paris\n\nthe Zoe Smith\n", encoding="utf-8")
    rows = pipeline.predict_examples(task, model, pipeline.source_examples(task, text))
    assert [r["line"] for r in rows] == [1, 3]
    assert rows[0] == {"line": 1, "tokens": ["Alice", "Smith", "went", "to", "Paris"],
                       "tags": ["B-PER", "I-PER", "O", "O", "B-LOC"]}
    memory = pipeline.predict_examples(task, model, task.from_memory(["Alice Smith went to Paris", "",
                                                                      ["the", "Zoe", "Smith"]]))
    assert memory == rows


def test_fit_on_in_memory_sentences(tmp_path):
    sents = sentences(100, 5)
    tokens, tags = [[t for t, _ in s] for s in sents], [[g for _, g in s] for s in sents]
    cfg = config({"val_fraction": 0.2})
    task, model, data = train(cfg, given={"train": TagTask(cfg).from_memory(tokens, tags)})
    assert data.info["data"] == "in memory" and data.info["validation examples"] == 20
    val = data.examples["val"]
    assert pipeline.evaluate_examples(task, model, val)["accuracy"] > 0.9
    with pytest.raises(DataError, match=r"targets\[1\] must hold one str tag per token \(3\); got \['O'\]"):
        task.from_memory([["a", "b"], ["c", "d", "e"]], [["O", "O"], ["O"]])
    with pytest.raises(DataError, match=r"targets must be a list with one entry per item of data \(2\); got 1"):
        task.from_memory([["a"], ["b"]], [["O"]])
    with pytest.raises(DataError, match=r"data: targets\[1\]\[0\]: tag 'B-GPE' never appears in the training data"):
        task.encode(task.from_memory([["Bob"], ["Rome"]], [["B-PER"], ["B-GPE"]]))


def test_validation_split_is_deterministic_and_vocab_from_train_only(tmp_path):
    # every sentence has a word of its own: only the training part's may enter the vocabulary
    sents = [s + [(f"w{k}", "O")] for k, s in enumerate(sentences(40, 4))]
    sents[7].append(("Kyiv", "B-GPE"))  # a tag of one sentence only: known even when it is held out
    cfg = config({"path": write_conll(tmp_path / "train.conll", sents), "val_fraction": 0.25})
    a, b = TagTask(cfg), TagTask(cfg)
    da, db = pipeline.prepare(a), pipeline.prepare(b)
    assert da.info["validation examples"] == 10 and da.info["train examples"] == 30
    assert da.examples["val"].lines == db.examples["val"].lines
    assert [x.indices.tolist() for x in da.val] == [x.indices.tolist() for x in db.val]
    assert sum(t.startswith("w") and t[1:].isdigit() for t in a.artifacts.words.tokens) == 30
    assert "B-GPE" in a.artifacts.tags


def test_errors_name_the_problem(tmp_path):
    conll = write_conll(tmp_path / "train.conll", sentences(60, 0))
    with pytest.raises(ConfigError, match="data.path is required"):
        pipeline.prepare(TagTask(config({})))
    with pytest.raises(ConfigError, match=r"data.val_fraction must be in \[0, 1\); got 1.5"):
        config({"val_fraction": 1.5})
    with pytest.raises(ConfigError, match=r"data.unk_dropout must be in \[0, 1\); got 1.5"):
        config({"unk_dropout": 1.5})
    with pytest.raises(ConfigError, match="data.tokens"):
        config({"tokens": 1})
    # the data layer's messages surface unchanged
    bad = tmp_path / "bad.conll"
    bad.write_text("a O\nb X O\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.conll: line 2: expected 2 columns like line 1; got 3"):
        pipeline.prepare(TagTask(config({"path": str(bad)})))
    # a tag of a validation or test file that training never saw: file and line
    for gz, split in ((False, "val_path"), (True, "test_path")):
        unseen = tmp_path / ("unseen.conll.gz" if gz else "unseen.conll")
        with _open(unseen, gz) as f:
            f.write("Bob B-PER\nwent O\n\nRome B-GPE\n")
        with pytest.raises(DataError, match=rf"{unseen.name}: line 4: tag 'B-GPE' never appears in the training data"):
            pipeline.prepare(TagTask(config({"path": conll, split: str(unseen)})))


def test_malformed_artifacts_are_named(tmp_path):
    cfg = config({"path": write_conll(tmp_path / "train.conll", sentences(30, 0))})
    task = TagTask(cfg)
    run = RunDir(tmp_path / "run")
    pipeline.prepare(task)
    pipeline.save_artifacts(task, run)
    good = task.artifacts.to_dict()
    assert TagArtifacts.from_dict(json.loads(json.dumps(good)), "x") == task.artifacts
    where = "run/artifacts.json"
    cases = [({k: v for k, v in good.items() if k != "words"}, CheckpointError, "artifacts has no 'words' entry"),
             ({**good, "tags": "O"}, CheckpointError, r"artifacts\['tags'\] must be list; got O"),
             ({**good, "max_word_len": "20"}, CheckpointError, r"artifacts\['max_word_len'\] must be int; got 20"),
             ({**good, "words": {"tokens": []}}, DataError, r"artifacts\['words'\]: not an rnnkit vocabulary"),
             ({**good, "tags": []}, DataError, r"artifacts\['tags'\] must be a non-empty list of tag names")]
    for raw, error, message in cases:
        with pytest.raises(error, match=rf"^{where}: {message}"):
            TagArtifacts.from_dict(raw, where)
    # a run directory of another task, or none at all
    (run.path / pipeline.ARTIFACTS_FILE).write_text(json.dumps({"task": "seq2seq", "artifacts": good}))
    with pytest.raises(CheckpointError, match="expected the artifacts of a tag run"):
        pipeline.load_artifacts(TagTask(cfg), run)
    shutil.rmtree(run.path)
    with pytest.raises(CheckpointError, match="has no artifacts.json"):
        pipeline.load_artifacts(TagTask(cfg), RunDir(tmp_path / "run"))


def test_unk_dropout_replaces_real_words_only_while_training():
    from rnnkit.data import Batch

    seen: list[torch.Tensor] = []

    class Tagger(torch.nn.Module):
        def forward(self, words, lengths, chars):
            seen.append(words.clone())
            return torch.zeros(*words.shape, 2, requires_grad=True)

        def loss(self, emissions, targets, lengths):
            return emissions.sum()

        def decode(self, emissions, lengths):
            return emissions.argmax(-1)

    words = torch.full((64, 10), 7)
    words[:, 6:] = 0  # padding
    batch = Batch(words, torch.full((64,), 6), torch.zeros(64, 10, dtype=torch.long))
    model = Tagger()
    objective = TagObjective(["B-X", "O"], entity_f1=False, unk_dropout=0.25, unk_id=1)
    torch.manual_seed(0)
    objective(model.train(), batch, None)
    dropped = seen[-1][:, :6] == 1
    assert 0.2 < dropped.float().mean() < 0.3  # about a quarter of the real words
    assert torch.all(seen[-1][:, 6:] == 0)  # padding stays padding
    objective(model.eval(), batch, None)
    assert torch.equal(seen[-1], words)  # never while evaluating
    with pytest.raises(ConfigError, match=r"data.unk_dropout=0.25 needs a vocabulary with an unk token"):
        TagObjective(["O"], entity_f1=False, unk_dropout=0.25, unk_id=None)


def test_a_one_column_conll_file_is_refused_for_training_and_read_for_predict(tmp_path):
    from rnnkit.errors import DataError
    from rnnkit.data.sources import read_conll

    path = tmp_path / "tokens.conll"
    path.write_text("anna\nwent\n\nbob\n")
    with pytest.raises(DataError, match=r"tokens.conll: line 1: a tagged CoNLL line needs a token column and a tag "
                                        r"column \(the last\); this file has 1 column"):
        read_conll(path)
    assert read_conll(path, token_column=0, tag_column=0).tokens == [["anna", "went"], ["bob"]]


@pytest.mark.parametrize("kind, given, expected", [
    ("rnn", None, True), ("transformer", None, False), ("rnn", False, False), ("rnn", True, True)])
def test_char_features_default_follows_the_model_kind(kind, given, expected):
    raw = {"task": "tag", "model": {"kind": kind}, "data": {} if given is None else {"char_features": given}}
    task = TagTask(from_dict(TagConfig, raw))
    assert task.uses_chars() is expected
    assert task.config.data.unk_dropout == 0.15  # the default: unseen words are tagged from context


def test_iobes_scheme_learns_iobes_and_writes_iob2(tmp_path):
    """data.tag_scheme = "iobes": the tag set is IOBES, the gold tags are encoded as IOBES, entity
    F1 equals the one of the predictions written back as IOB2, and the artifacts carry the scheme."""
    from rnnkit.tag_schemes import to_iobes

    files = {name: write_conll(tmp_path / f"{name}.conll", sentences(n, seed))
             for name, n, seed in (("train", 120, 0), ("val", 20, 1), ("test", 30, 2))}
    cfg = config({"path": files["train"], "val_path": files["val"], "test_path": files["test"], "tag_scheme": "iobes"},
                 model={"crf": True})
    run = RunDir(tmp_path / "run")
    task, model, data = train(cfg, run)
    assert task.artifacts.tags == ["B-LOC", "B-PER", "E-LOC", "E-PER", "I-LOC", "I-PER", "O",
                                   "S-LOC", "S-PER"]
    assert data.info["tag scheme"].startswith("IOBES (data.tag_scheme")
    test = task.read(files["test"])
    names = task.artifacts.tags
    encoded = task._encode_tags(test)
    assert [[names[i] for i in ids] for ids in encoded] == [to_iobes(t) for t in test.targets]
    metrics = pipeline.evaluate_examples(task, model, test)
    rows = pipeline.predict_examples(task, model, task.read(files["test"], labelled=False))
    assert {t for r in rows for t in r["tags"]} <= {"B-LOC", "B-PER", "I-PER", "O"}  # IOB2, as the file
    manual = manual_scores(rows, test.targets)
    assert metrics["f1"] > 0.8 and metrics["f1"] == pytest.approx(manual["f1"], abs=1e-12)
    saved = json.loads((run.path / pipeline.ARTIFACTS_FILE).read_text())["artifacts"]
    assert saved["tag_scheme"] == "iobes"
    assert TagArtifacts.from_dict({**saved, "tag_scheme": "file"}, "x").scheme == "file"
    old = {k: v for k, v in saved.items() if k != "tag_scheme"}  # a run saved before data.tag_scheme
    assert TagArtifacts.from_dict(old, "x").scheme == "file"
    with pytest.raises(DataError, match=r"x: artifacts\['tag_scheme'\] must be one of 'file', 'iobes'; got 'bilou'"):
        TagArtifacts.from_dict({**saved, "tag_scheme": "bilou"}, "x")


def test_iobes_scheme_errors(tmp_path):
    pos = write_conllu(tmp_path / "pos.conllu", sentences(40, 0))
    with pytest.raises(ConfigError, match=r"data.tag_scheme = 'iobes' needs chunk tags such as B-PER, I-PER and O; "
                                          r"the training tags of .*pos.conllu are 'NOUN', 'X'"):
        train(config({"path": pos, "tag_scheme": "iobes"}))
    with pytest.raises(ConfigError, match=r"data.tag_scheme must be one of 'file', 'iobes'; got 'bilou'"):
        config({"tag_scheme": "bilou"})
    files = {name: write_conll(tmp_path / f"{name}.conll", sents)
             for name, sents in (("train", sentences(60, 0)), ("val", [[("Zed", "B-ORG")]]))}
    with pytest.raises(DataError, match=r"val.conll: line 3: tag 'B-ORG' never appears in the training data"):
        train(config({"path": files["train"], "val_path": files["val"], "tag_scheme": "iobes"}))
