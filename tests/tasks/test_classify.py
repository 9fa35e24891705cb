"""Task ``classify`` end to end through rnnkit.tasks.runner: text (CSV/TSV/JSONL) and numbers (npz, UCR)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import get_task, pipeline, runner
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import artifacts, assert_run_files, numeric_classes, sentiment_rows, train_run, write_table

TEXT_TOML = """
task = "classify"
[data]
batch_size = 16
[model]
cell = "lstm"
hidden_size = 11
embedding_dim = 7
pooling = "max"          # the text defaults (mean, dropout 0.5) need more than these few epochs on the keyword toy
dropout = 0.0
[train]
epochs = 8
"""

NUMERIC_TOML = """
task = "classify"
[data]
batch_size = 16
[model]
cell = "gru"
hidden_size = 11
[train]
epochs = 6
"""


def test_text_csv_learns_and_round_trips_through_the_run_dir(tmp_path):
    train = write_table(tmp_path / "train.csv", sentiment_rows(240, 0), "csv")
    test = write_table(tmp_path / "test.csv", sentiment_rows(60, 1), "csv")
    res = train_run(tmp_path, TEXT_TOML, data=str(train))
    assert_run_files(res.run_dir, "plots/curves.png", "plots/confusion.png")
    assert artifacts(res.run_dir)["labels"] == ["neg", "pos"]
    assert res.val_metrics["accuracy"] > 0.85  # chance is 0.5; one keyword decides the label
    assert "macro_f1" in res.val_metrics

    metrics = runner.evaluate(res.run_dir, test)
    assert metrics["accuracy"] > 0.85 and metrics["macro_f1"] > 0.85

    rows = runner.predict(res.run_dir, ["a great film", "the plot was awful and very awful"])
    assert [r["label"] for r in rows] == ["pos", "neg"]
    assert rows[0]["text"] == "a great film"
    assert rows[0]["p_neg"] + rows[0]["p_pos"] == pytest.approx(1.0, abs=1e-5)
    assert rows[0]["probability"] == pytest.approx(rows[0]["p_pos"])
    # a table file predicts from its text column; unknown words map to <unk>
    assert len(runner.predict(res.run_dir, str(test))) == 60
    assert runner.predict(res.run_dir, ["zzz unseen words"])[0]["label"] in ("neg", "pos")


@pytest.mark.parametrize("fmt", ["tsv", "jsonl"])
def test_text_tsv_and_jsonl_with_custom_columns_char_tokens(tmp_path, fmt):
    train = write_table(tmp_path / f"train.{fmt}", sentiment_rows(120, 2), fmt, "review", "sentiment")
    val = write_table(tmp_path / f"val.{fmt}", sentiment_rows(30, 3), fmt, "review", "sentiment")
    res = train_run(tmp_path, TEXT_TOML, ["data.text_column=review", "data.label_column=sentiment",
                                          "data.tokens=char", "train.epochs=2", "model.pooling=mean"],
                    data=str(train), val=str(val))
    tok = artifacts(res.run_dir)["tokenizer"]
    assert tok["level"] == "char"
    assert res.fit.epochs_completed == 2
    assert set(runner.evaluate(res.run_dir, val)) >= {"loss", "accuracy", "macro_f1"}
    rows = runner.predict(res.run_dir, str(val))
    assert len(rows) == 30 and all(r["label"] in ("neg", "pos") for r in rows)


def test_validation_split_is_deterministic_and_held_out(tmp_path):
    train = write_table(tmp_path / "train.csv", sentiment_rows(50, 4), "csv")
    cfg = runner.load_run_config(_cfg(tmp_path, TEXT_TOML),
                                 ["data.val_fraction=0.2"], data=str(train))
    sizes = []
    for _ in range(2):
        task = get_task("classify")(cfg)
        data = pipeline.prepare(task, None)
        sizes.append((data.info["train examples"], data.info["validation examples"]))
        val_idx = sorted(int(i) for b in data.val for i in b.indices)
        assert val_idx == list(range(10))
    assert sizes == [(40, 10), (40, 10)]


def _cfg(tmp_path, text):
    p = tmp_path / "c.toml"
    p.write_text(text)
    return p


def test_npz_sequences_learn_and_predict(tmp_path):
    x, y = numeric_classes(200, 5, 3, seed=0)
    np.savez(tmp_path / "train.npz", X=x, y=y)
    xt, yt = numeric_classes(40, 5, 3, seed=1)
    np.savez(tmp_path / "test.npz", X=xt, y=yt)
    res = train_run(tmp_path, NUMERIC_TOML, data=str(tmp_path / "train.npz"), test=str(tmp_path / "test.npz"))
    assert_run_files(res.run_dir)
    assert artifacts(res.run_dir)["scaler"]["kind"] == "standard"
    assert res.test_metrics["accuracy"] > 0.85
    assert runner.evaluate(res.run_dir)["accuracy"] == pytest.approx(res.test_metrics["accuracy"])
    np.savez(tmp_path / "unlabelled.npz", X=xt[:4])  # prediction needs no y
    rows = runner.predict(res.run_dir, str(tmp_path / "unlabelled.npz"))
    assert [r["index"] for r in rows] == [0, 1, 2, 3]
    assert [r["label"] for r in rows] == [str(v) for v in yt[:4]]


def test_ucr_tsv_with_feedforward_baseline(tmp_path):
    x, y = numeric_classes(160, 7, 1, seed=5)
    lines = ["\t".join([str(int(c) + 1)] + [f"{v:.4f}" for v in row[:, 0]]) for c, row in zip(y, x)]
    (tmp_path / "GunPoint_TRAIN.tsv").write_text("\n".join(lines[:120]) + "\n")
    (tmp_path / "GunPoint_TEST.tsv").write_text("\n".join(lines[120:]) + "\n")
    res = train_run(tmp_path, NUMERIC_TOML, ["model.kind=feedforward", "model.hidden_sizes=13", "train.epochs=15"],
                    data=str(tmp_path / "GunPoint_TRAIN.tsv"), test=str(tmp_path / "GunPoint_TEST.tsv"))
    assert artifacts(res.run_dir)["labels"] == ["1", "2"]
    assert type(res.model).__name__ == "FeedForward"
    assert res.test_metrics["accuracy"] > 0.85
    rows = runner.predict(res.run_dir, str(tmp_path / "GunPoint_TEST.tsv"))
    assert len(rows) == 40 and {r["label"] for r in rows} <= {"1", "2"}


# ------------------------------------------------------------------ errors
def test_unknown_column_is_the_data_layers_error(tmp_path):
    train = write_table(tmp_path / "train.csv", sentiment_rows(20, 0), "csv")
    with pytest.raises(DataError, match=r"train.csv: line 1: unknown column 'review'"):
        train_run(tmp_path, TEXT_TOML, ["data.text_column=review"], data=str(train))


def test_unseen_label_in_evaluation_file_names_file_and_line(tmp_path):
    train = write_table(tmp_path / "train.csv", sentiment_rows(40, 0), "csv")
    res = train_run(tmp_path, TEXT_TOML, ["train.epochs=1"], data=str(train))
    bad = write_table(tmp_path / "bad.csv", [("good film", "pos"), ("meh", "neutral")], "csv")
    with pytest.raises(DataError, match=r"bad.csv: line 3: label 'neutral' never appears in the training data"):
        runner.evaluate(res.run_dir, bad)


def test_empty_file_and_missing_path(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match=r"empty.csv is empty"):
        train_run(tmp_path, TEXT_TOML, data=str(tmp_path / "empty.csv"))
    with pytest.raises(ConfigError, match=r"data.path is required: pass --data PATH"):
        train_run(tmp_path, TEXT_TOML)


def test_bad_config_values(tmp_path):
    train = write_table(tmp_path / "train.csv", sentiment_rows(20, 0), "csv")
    with pytest.raises(ConfigError, match=r"unknown config key model.hiden_size"):
        train_run(tmp_path, TEXT_TOML, ["model.hiden_size=3"], data=str(train))
    with pytest.raises(ConfigError, match=r"model.kind must be one of 'rnn', 'feedforward', 'transformer'; got 'cnn'"):
        train_run(tmp_path, TEXT_TOML, ["model.kind=cnn"], data=str(train))
    with pytest.raises(ConfigError, match=r"data.val_fraction must be in \[0, 1\); got 1.5"):
        train_run(tmp_path, TEXT_TOML, ["data.val_fraction=1.5"], data=str(train))


def test_numeric_model_rejects_text_input(tmp_path):
    x, y = numeric_classes(30, 5, 3, seed=0)
    np.savez(tmp_path / "train.npz", X=x, y=y)
    res = train_run(tmp_path, NUMERIC_TOML, ["train.epochs=1"], data=str(tmp_path / "train.npz"))
    with pytest.raises(DataError, match=r"text inputs cannot feed a model trained on numeric inputs"):
        runner.predict(res.run_dir, ["hello"])
    np.savez(tmp_path / "wide.npz", X=np.zeros((2, 5, 4)), y=np.zeros(2))
    with pytest.raises(DataError, match=r"wide.npz: sequences must have D = 3 features as in training; got 4"):
        runner.evaluate(res.run_dir, tmp_path / "wide.npz")


@pytest.mark.integration
def test_mnist_recipe_on_real_mnist(datasets_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA", str(datasets_dir))
    # the batch size is pinned: 60 steps of the recipe's own batch may see too few digits to beat 0.2
    cfg = runner.load_run_config("mnist-lstm", ["train.max_steps=60", "train.epochs=1", "model.hidden_size=32",
                                                "data.batch_size=64", "train.device=cpu"])
    res = runner.train(cfg, tmp_path / "run", quiet=True)
    assert res.fit.global_step == 60
    info = res.data.info
    assert (info["train examples"], info["validation examples"], info["test examples"]) == (54000, 6000, 10000)
    assert (info["steps"], info["features"]) == (28, 28)
    assert res.test_metrics["accuracy"] > 0.2  # 60 steps already beat chance (0.1)


def test_cli_train_evaluate_predict_text(tmp_path, capsys):
    from rnnkit.cli.main import main

    train = write_table(tmp_path / "train.csv", sentiment_rows(120, 0), "csv")
    cfg = tmp_path / "cls.toml"
    cfg.write_text(TEXT_TOML)
    run = tmp_path / "run"
    assert main(["train", str(cfg), "--data", str(train), "--out", str(run), "--set", "train.epochs=6",
                 "--set", "train.optim.lr=0.01", "--set", "train.device=cpu", "--set", "train.restore_best=true",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"run directory: {run}" in out
    assert "weights: the epoch with the best val_accuracy (" in out and "; train.restore_best)" in out
    assert main(["evaluate", str(run), "--data", str(train)]) == 0
    assert json.loads(capsys.readouterr().out)["accuracy"] > 0.8
    lines = tmp_path / "lines.txt"
    lines.write_text("a great plot\nawful film\n")
    assert main(["predict", str(run), str(lines), "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "text,label,probability,p_neg,p_pos"
    assert [r.split(",")[1] for r in out[1:]] == ["pos", "neg"]
    assert main(["train", str(cfg), "--data", str(train), "--set", "data.tokens=bytes", "--out", str(tmp_path / "bad")]) == 2
    assert "data.tokens must be one of 'word', 'char'; got 'bytes'" in capsys.readouterr().err


def test_defaults_by_input_kind_are_resolved_and_said(tmp_path):
    """model.pooling/dropout = none: mean and 0.5 over text, max and 0 over features; the report says
    so. train.restore_best = none: on from 100 validation examples, and config.toml keeps the choice."""
    from rnnkit.config import tomllib

    def saved(run):
        return tomllib.loads((run.run_dir / "config.toml").read_text())["train"]["restore_best"]

    bare = 'task = "classify"\n[train]\nepochs = 1\n'
    for name in ("text", "num", "given"):
        (tmp_path / name).mkdir()
    train = write_table(tmp_path / "train.csv", sentiment_rows(1000, 0), "csv")  # 100 held out for validation
    res = train_run(tmp_path / "text", bare, data=str(train))
    c = res.model._config
    assert (c.pooling, c.dropout, c.hidden_size, c.embedding_dim) == ("mean", 0.5, 100, 100)
    data = json.loads((res.run_dir / "report.json").read_text())["data"]
    assert data["model defaults"] == ("pooling=mean, dropout=0.5, hidden_size=100, embedding_dim=100 "
                                      "(left at none: the defaults for token inputs)")
    assert data["restore_best"].startswith("on (") and "100 here" in data["restore_best"]
    assert saved(res) is True
    # train.monitor = none: classify watches the validation accuracy (better high), and says so
    assert data["monitor"] == "val_accuracy (train.monitor = none: the classify task's choice)"
    assert tomllib.loads((res.run_dir / "config.toml").read_text())["train"]["monitor"] == "val_accuracy"
    assert res.task.config.train.mode == "max"

    x, y = numeric_classes(60, 12, 2, 0)
    np.savez(tmp_path / "num.npz", X=x, y=y)
    res = train_run(tmp_path / "num", bare, data=str(tmp_path / "num.npz"))
    assert (res.model._config.pooling, res.model._config.dropout) == ("max", 0.0)
    data = json.loads((res.run_dir / "report.json").read_text())["data"]
    assert data["model defaults"] == ("pooling=max, dropout=0.0, hidden_size=64 "
                                      "(left at none: the defaults for feature inputs)")
    assert data["restore_best"].startswith("off (") and "6 here" in data["restore_best"]
    assert saved(res) is False

    given = train_run(tmp_path / "given", bare + "[model]\npooling = \"last\"\ndropout = 0.1\nhidden_size = 8\n"
                      "embedding_dim = 4\n",
                      ["train.restore_best=false", "train.monitor=val_loss"], data=str(train))
    assert given.task.config.train.mode == "min"
    assert (given.model._config.pooling, given.model._config.dropout) == ("last", 0.1)
    data = json.loads((given.run_dir / "report.json").read_text())["data"]
    assert "model defaults" not in data and "restore_best" not in data and "monitor" not in data
