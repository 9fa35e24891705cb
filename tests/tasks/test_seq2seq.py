"""Task ``seq2seq`` through the pipeline skeleton: read (TSV pairs or one source per line,
plain or ``.gz``) → prepare → a short Trainer fit → evaluate the whole split with the
configured decoding (greedy and beam) → predict, the per-epoch decode sample, and the
artifacts saved and loaded as one object."""

from __future__ import annotations

import dataclasses
import gzip
import json
import random

import numpy as np
import pytest

from rnnkit.config import from_dict
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks import pipeline
from rnnkit.tasks.seq2seq import _UNSEEN, Seq2SeqArtifacts, Seq2SeqTask, Seq2SeqTaskConfig
from rnnkit.train import RunDir, Trainer
from rnnkit.train.metrics import corpus_bleu, error_rates

# Without input feeding and with full teacher forcing the decoder runs over all steps in one call: fast.
FAST = {"model": {"embedding_dim": 12, "hidden_size": 32, "input_feeding": False},
        "train": {"quiet": True, "epochs": 6, "optim": {"lr": 0.03}}}
CHARS = {"source_level": "char", "target_level": "char", "batch_size": 16}


def reversal_pairs(path, n: int, seed: int, gz: bool = False) -> str:
    rng = random.Random(seed)
    with gzip.open(path, "wt", encoding="utf-8") if gz else open(path, "w", encoding="utf-8") as f:
        for _ in range(n):
            w = "".join(rng.choice("abcde") for _ in range(rng.randint(2, 5)))
            f.write(f"{w}\t{w[::-1]}\n")
    return str(path)


def config(data: dict, **tables: dict) -> Seq2SeqTaskConfig:
    raw = {"task": "seq2seq", "data": dict(data), **{k: dict(v) for k, v in FAST.items()}}
    for name, table in tables.items():
        raw[name] = {**raw.get(name, {}), **table}
    return from_dict(Seq2SeqTaskConfig, raw)


def train(cfg: Seq2SeqTaskConfig, run: RunDir | None = None, given=None):
    """prepare → build the model → a short fit, as the runner does."""
    task = Seq2SeqTask(cfg)
    data = pipeline.prepare(task, given=given)
    if run is not None:
        pipeline.save_artifacts(task, run)
    model = task.build_model()
    trainer = Trainer(model, task.objective(final=False), cfg.train, None)
    trainer.fit(data.train, data.val)
    return task, model, data, trainer.history


def with_decode(task: Seq2SeqTask, **decode) -> Seq2SeqTask:
    """The same fitted task with other decode settings (as `--set decode.beam_size=4`)."""
    cfg = task.config
    other = Seq2SeqTask(dataclasses.replace(cfg, decode=dataclasses.replace(cfg.decode, **decode)))
    other.artifacts = task.artifacts
    return other


def manual_scores(task: Seq2SeqTask, rows, references: list[str]) -> dict[str, float]:
    """BLEU and error rates of predict rows against the reference strings, both tokenized
    by the run's target tokenizer."""
    tok = task.artifacts.target_tokenizer
    hyps, refs = [tok(r["prediction"]) for r in rows], [tok(t) for t in references]
    return {"bleu": corpus_bleu(hyps, refs), **error_rates(hyps, refs)}


@pytest.fixture(scope="module")
def reversal(tmp_path_factory):
    """A char-level reversal model trained once on plain files and used by several tests."""
    tmp = tmp_path_factory.mktemp("reversal")
    files = {"train": reversal_pairs(tmp / "train.tsv", 300, 0), "test": reversal_pairs(tmp / "test.tsv", 40, 1)}
    cfg = config({**CHARS, "path": files["train"], "test_path": files["test"], "val_fraction": 0.1},
                 decode={"max_len": 8, "eval_sample": 12})
    run = RunDir(tmp / "run")
    task, model, data, history = train(cfg, run)
    run.save_weights(model.state_dict())
    return task, model, data, history, files, run


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_evaluate_equals_scoring_predict_rows_with_greedy_and_beam(tmp_path, reversal, gz):
    task, model, data, history, files, _ = reversal
    test_file = files["test"]
    if gz:  # the same pairs, compressed: read alike by evaluate and predict
        test_file = reversal_pairs(tmp_path / "test.tsv.gz", 40, 1, gz=True)
    labelled = task.read(test_file)
    assert labelled.targets == task.read(files["test"]).targets
    for beam in (1, 4):
        t = with_decode(task, beam_size=beam)
        metrics = pipeline.evaluate_examples(t, model, labelled)
        rows = pipeline.predict_examples(t, model, pipeline.source_examples(t, test_file))
        assert [r["source"] for r in rows] == labelled.inputs and [r["line"] for r in rows] == list(range(1, 41))
        manual = manual_scores(t, rows, labelled.targets)
        assert metrics["bleu"] > 0.5 and metrics["sequence_error_rate"] < 0.6, (beam, metrics)
        for key in ("bleu", "token_error_rate", "sequence_error_rate"):
            assert metrics[key] == pytest.approx(manual[key], abs=1e-12), (beam, key)


def test_per_epoch_validation_decodes_a_labelled_seeded_sample(reversal):
    task, model, data, history, _, _ = reversal
    # the epochs' rows say the decoded metrics come from a sample; loss and accuracy do not
    last = history[-1]
    assert {"val_loss", "val_accuracy", "val_bleu_sample", "val_sequence_error_rate_sample"} <= set(last)
    assert "val_bleu" not in last and not any(k.startswith("train_bleu") for k in last)
    assert last["val_bleu_sample"] > 0.4  # a 12-pair sample of a 6-epoch model: 0.49 to 0.6 with the test order
    # which examples: by index, seeded by train.seed, the same for every encoding of the split
    val = data.examples["val"]
    n, k = len(val), task.config.decode.eval_sample
    expected = np.sort(np.random.default_rng(task.config.train.seed).permutation(n)[:k])
    assert np.array_equal(np.flatnonzero(task.encode(val).in_sample), expected)
    # the sample's metrics are those of predicting exactly those examples
    trainer = Trainer(model, task.objective(final=False), task.config.train, None)
    sampled = trainer.evaluate(data.val)
    rows = pipeline.predict_examples(task, model, val.take(expected))
    manual = manual_scores(task, rows, [val.targets[i] for i in expected])
    assert sampled["bleu_sample"] == pytest.approx(manual["bleu"], abs=1e-12)
    assert sampled["sequence_error_rate_sample"] == pytest.approx(manual["sequence_error_rate"], abs=1e-12)
    assert sampled["loss"] == pytest.approx(pipeline.evaluate_batches(task, model, data.val)["loss"])
    # eval_sample = none: every example (no suffix); 0: no decoding per epoch
    everything = Trainer(model, with_decode(task, eval_sample=None).objective(final=False), task.config.train,
                         None).evaluate(data.val)
    assert everything["bleu"] == pytest.approx(pipeline.evaluate_batches(task, model, data.val)["bleu"])
    off = with_decode(task, eval_sample=0)
    assert set(Trainer(model, off.objective(final=False), off.config.train, None).evaluate(
        off.loader(off.encode(val), train=False))) == {"loss", "accuracy"}


def test_artifacts_round_trip_and_attention(reversal):
    task, model, _, _, files, run = reversal
    saved = json.loads((run.path / pipeline.ARTIFACTS_FILE).read_text())
    assert saved["task"] == "seq2seq"
    assert saved["artifacts"]["target"]["specials"] == {"pad": "<pad>", "unk": "<unk>", "bos": "<bos>", "eos": "<eos>"}
    assert "bos" not in saved["artifacts"]["source"]["specials"]
    assert saved["artifacts"]["tokenizers"]["source"]["level"] == "char"
    again = Seq2SeqTask(task.config)
    pipeline.load_artifacts(again, run)
    model2 = again.build_model()
    model2.load_state_dict(run.load_weights())
    source = again.read(files["test"], labelled=False)
    assert pipeline.predict_examples(again, model2, source) == pipeline.predict_examples(task, model, source)
    # in memory, blank items skipped; beam search with attention weights (target x source)
    beam = with_decode(again, beam_size=3, attention=True)
    rows = pipeline.predict_examples(beam, model2, beam.from_memory(["abcd", "", "eedca"]))
    assert [r["line"] for r in rows] == [1, 3] and rows[0]["source_tokens"] == list("abcd")
    assert rows[0]["target_tokens"] == list(rows[0]["prediction"])
    attention = rows[0]["attention"]
    assert len(attention) == len(rows[0]["prediction"])
    assert all(len(step) == 4 and abs(sum(step) - 1) < 1e-3 for step in attention)


def test_word_level_swap_val_file_and_max_len(tmp_path):
    rng = random.Random(2)
    words = {"one": "un", "two": "deux", "three": "trois", "cat": "chat", "dog": "chien"}

    def write(path, n, longest=4):
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(n):
                en = [rng.choice(list(words)) for _ in range(rng.randint(1, longest))]
                f.write(" ".join(words[w] for w in en) + " !\t" + " ".join(en).title() + " !\tCC-BY\n")
        return str(path)

    train_file, val_file = write(tmp_path / "fr-en.tsv", 200, longest=6), write(tmp_path / "val.tsv", 30, longest=6)
    cfg = config({"path": train_file, "val_path": val_file, "swap": True, "batch_size": 16, "max_len": 5},
                 decode={"max_len": 10}, train={"epochs": 6})
    task, model, data, _ = train(cfg)
    # swapped, lowercased, punctuation split; the source column of predict input is the swapped one
    assert "cat" in task.artifacts.source and "!" in task.artifacts.source and "chat" not in task.artifacts.source
    left_out = data.info["train pairs left out (longer than data.max_len)"]
    assert 0 < left_out < 200 and data.info["validation examples"] == 30  # validation pairs are all kept
    assert sum(len(b) for b in data.train) == 200 - left_out
    rows = pipeline.predict_examples(task, model, task.read(val_file, labelled=False))
    assert [r["source"] for r in rows] == task.read(val_file).inputs
    assert all(r["source"][0].isupper() for r in rows)  # English, the second column
    metrics = pipeline.evaluate_examples(task, model, task.read(val_file))
    assert metrics["accuracy"] > 0.5, metrics
    assert metrics["bleu"] == pytest.approx(manual_scores(task, rows, task.read(val_file).targets)["bleu"], abs=1e-12)


def test_one_source_per_line_and_in_memory_training(tmp_path):
    pairs = [(w, w[::-1]) for w in ("abc", "bca", "cab", "aab", "bba", "abab", "cc", "acb")]
    cfg = config({**CHARS, "val_fraction": 0.25}, train={"epochs": 1})
    memory = Seq2SeqTask(cfg).from_memory([s for s, _ in pairs], [t for _, t in pairs])
    task, model, data, _ = train(cfg, given={"train": memory})
    assert data.info["train examples"] == 6 and data.info["validation examples"] == 2
    lines = tmp_path / "sources.txt.gz"
    with gzip.open(lines, "wt", encoding="utf-8") as f:
        f.write("abc\n\ncab\n")
    rows = pipeline.predict_examples(task, model, pipeline.source_examples(task, lines))
    assert [(r["line"], r["source"]) for r in rows] == [(1, "abc"), (3, "cab")]
    with pytest.raises(DataError, match=r"targets\[1\] must be a non-empty string; got ''"):
        task.from_memory(["a", "b"], ["a", ""])
    with pytest.raises(DataError, match=r"data must be a list of source strings; got str"):
        task.from_memory("abc")


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="data.path is required"):
        pipeline.prepare(Seq2SeqTask(config({})))
    with pytest.raises(ConfigError, match="decode.beam_size must be >= 1; got 0"):
        config({}, decode={"beam_size": 0})
    with pytest.raises(ConfigError, match=r"decode.eval_sample must be >= 0 or none; got -1"):
        config({}, decode={"eval_sample": -1})
    with pytest.raises(ConfigError, match=r"data.test_fraction must be in \[0, 1\); got 1.0"):
        config({"test_fraction": 1.0})
    with pytest.raises(ConfigError, match="data.source_level"):
        config({"source_level": "byte"})
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tb\nno tab here\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.tsv: line 2: expected source<TAB>target; found no tab"):
        pipeline.prepare(Seq2SeqTask(config({"path": str(bad)})))
    empty = tmp_path / "empty.tsv.gz"
    with gzip.open(empty, "wt", encoding="utf-8") as f:
        f.write("a b\tc\n\n \tx\n")
    with pytest.raises(DataError, match=r"empty.tsv.gz: line 3: the source column is empty"):
        Seq2SeqTask(config({})).read(empty)


def test_malformed_artifacts_are_named(tmp_path):
    task = Seq2SeqTask(config({**CHARS, "path": reversal_pairs(tmp_path / "p.tsv", 20, 0)}))
    pipeline.prepare(task)
    good = json.loads(json.dumps(task.artifacts.to_dict()))
    assert Seq2SeqArtifacts.from_dict(good, "x") == task.artifacts
    where = "run/artifacts.json"
    no_eos = {**good["target"], "specials": {"pad": "<pad>", "unk": "<unk>"}}
    cases = [({k: v for k, v in good.items() if k != "target"}, CheckpointError, "artifacts has no 'target' entry"),
             ({**good, "target": no_eos}, CheckpointError, r"artifacts\['target'\] must have bos and eos tokens"),
             ({**good, "tokenizers": {"source": good["tokenizers"]["source"]}}, CheckpointError,
              r"artifacts\['tokenizers'\] has no 'target' entry"),
             ({**good, "tokenizers": {**good["tokenizers"], "target": {"level": "byte"}}}, CheckpointError,
              r"artifacts\['tokenizers'\]: tokenizer level must be 'char' or 'word'; got 'byte'"),
             ({**good, "source": []}, CheckpointError, r"artifacts\['source'\] must be dict; got \[\]"),
             ({**good, "source": {"format": "other"}}, DataError, r"artifacts\['source'\]: not an rnnkit vocabulary")]
    for raw, error, message in cases:
        with pytest.raises(error, match=rf"^{where}: {message}"):
            Seq2SeqArtifacts.from_dict(raw, where)


def test_bpe_subwords_saved_in_the_run_reloaded_and_joined_back_to_text(tmp_path):
    from rnnkit.data.bpe import UNK, BPETokenizer
    from rnnkit.export.exporter import _graphs

    rng = random.Random(4)
    words = {"one": "un", "two": "deux", "three": "trois", "cat": "chat", "dog": "chien", "cats": "chats"}
    path = tmp_path / "pairs.tsv"
    with open(path, "w", encoding="utf-8") as f:
        for _ in range(150):
            en = [rng.choice(list(words)) for _ in range(rng.randint(1, 4))]
            f.write(" ".join(en) + "\t" + " ".join(words[w] for w in en) + "\n")
    cfg = config({"path": str(path), "tokenizer": "bpe", "bpe_vocab_size": 30, "batch_size": 16},
                 decode={"max_len": 20}, train={"epochs": 2})
    run = RunDir(tmp_path / "run")
    task, model, data, _ = train(cfg, run)
    tok = task.artifacts.target_tokenizer
    assert isinstance(tok, BPETokenizer) and data.info["target tokens"] == "bpe"
    assert sorted(p.name for p in run.path.iterdir()) == ["artifacts.json", "tokenizer-source.json",
                                                          "tokenizer-target.json"]
    # a word never seen whole, made of known subwords, is no <unk>
    assert UNK not in task.artifacts.source_tokenizer("dogcat twone") and UNK not in tok("chienchat")
    again = Seq2SeqTask(cfg)
    pipeline.load_artifacts(again, run)
    assert again.artifacts.target.tokens == task.artifacts.target.tokens
    assert again.artifacts.source_tokenizer("two dogs") == task.artifacts.source_tokenizer("two dogs")
    examples = task.read(str(path), labelled=False)
    rows, rows_again = (pipeline.predict_examples(t, model, examples) for t in (task, again))
    assert rows == rows_again
    assert all("\u2581" not in r["prediction"] and r["prediction"] == r["prediction"].strip() for r in rows)
    # BLEU counts words: the joined text re-tokenized as the word level does
    objective = task.objective()
    assert objective.scored(tok("chien chats")) == ["chien", "chats"]
    assert tok("chien, €") == ["\u2581chien", UNK, "\u2581", UNK]  # "," and "€" were never seen
    assert objective.scored(tok("chien, €")) == ["chien", UNK, UNK]
    assert objective.scored(tok("chien, €"), reference=True)[1:] == [_UNSEEN, _UNSEEN]
    # exportable: rnnkit export copies both tokenizer files (tests/export/test_export_bpe.py)
    assert sorted(_graphs(task, model)) == ["decoder_step", "encoder"]
    with pytest.raises(ConfigError, match=r"data.source_level='char' conflicts with data.tokenizer='bpe'"):
        config({"tokenizer": "bpe", "source_level": "char"})
    with pytest.raises(ConfigError, match=r"data.bpe_vocab_size must be an integer >= 16; got 3"):
        config({"tokenizer": "bpe", "bpe_vocab_size": 3})
