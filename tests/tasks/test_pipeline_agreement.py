"""One pipeline for every task: train → evaluate → predict on the same files agree, plain
and gzipped, and ``evaluate`` equals a manual scoring of the ``predict`` rows over the
whole split (classify, regress, forecast; tag, seq2seq and lm have their own files)."""

from __future__ import annotations

import gzip
import json
import shutil

import numpy as np
import pytest

from rnnkit.cli.main import main
from rnnkit.tasks import runner
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import numeric_classes, sentiment_rows, train_run, write_table

FAST = ["train.epochs=3", "train.device=cpu"]


def _gz(path):
    out = path.with_name(path.name + ".gz")
    out.write_bytes(gzip.compress(path.read_bytes()))
    return out


def _cli_rows(run, source, capsys):
    assert main(["predict", str(run), str(source)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _cli_eval(run, source, capsys):
    assert main(["evaluate", str(run), "--data", str(source)]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_classify_text_evaluate_is_predict_scored(tmp_path, suffix, capsys):
    train = write_table(tmp_path / "train.csv", sentiment_rows(160, 0), "csv")
    test = write_table(tmp_path / "test.csv", sentiment_rows(47, 1), "csv")  # 47: not a multiple of the batch
    if suffix:
        train, test = _gz(train), _gz(test)
    res = train_run(tmp_path, 'task = "classify"\n[model]\nhidden_size = 11\n', FAST, data=str(train), test=str(test))
    rows = _cli_rows(res.run_dir, test, capsys)
    truth = [label for _, label in sentiment_rows(47, 1)]
    assert len(rows) == 47
    manual = np.mean([r["label"] == t for r, t in zip(rows, truth)])
    metrics = _cli_eval(res.run_dir, test, capsys)
    assert metrics["accuracy"] == pytest.approx(manual, abs=1e-9)
    assert res.test_metrics["accuracy"] == pytest.approx(manual, abs=1e-9)  # the end-of-training test line
    assert runner.evaluate(res.run_dir)["accuracy"] == pytest.approx(manual, abs=1e-9)  # the run's own test split


def test_classify_plain_and_gz_give_the_same_run(tmp_path):
    train = write_table(tmp_path / "train.csv", sentiment_rows(80, 3), "csv")
    runs = []
    for name, path in (("plain", train), ("gz", _gz(train))):
        (tmp_path / name).mkdir()
        runs.append(train_run(tmp_path / name, 'task = "classify"\n', FAST, data=str(path)))
    assert runs[0].val_metrics == runs[1].val_metrics
    assert runner.predict(runs[0].run_dir, train) == runner.predict(runs[1].run_dir, _gz(train))


def test_classify_npz_with_lengths_evaluate_is_predict_scored(tmp_path, capsys):
    x, y = numeric_classes(120, 9, 2, seed=0)
    lengths = np.random.default_rng(0).integers(4, 10, size=len(x))
    x[np.arange(9)[None, :] >= lengths[:, None]] = 1e3  # padding that must never be read
    np.savez(tmp_path / "train.npz", X=x, y=y, lengths=lengths)
    res = train_run(tmp_path, 'task = "classify"\n[model]\nhidden_size = 11\n', FAST, data=str(tmp_path / "train.npz"))
    assert res.task.artifacts.steps is None  # variable lengths: honoured, not padded by hand
    rows = _cli_rows(res.run_dir, tmp_path / "train.npz", capsys)
    manual = np.mean([r["label"] == str(t) for r, t in zip(rows, y)])
    assert _cli_eval(res.run_dir, tmp_path / "train.npz", capsys)["accuracy"] == pytest.approx(manual, abs=1e-9)
    # padded rows give the same prediction as the sequences alone
    alone = runner.predict(res.run_dir, [x[i, : lengths[i]] for i in range(5)])
    assert [r["p_1"] for r in alone] == pytest.approx([r["p_1"] for r in rows[:5]], abs=1e-5)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_regress_evaluate_is_predict_scored(tmp_path, suffix, capsys):
    rng = np.random.default_rng(0)
    lines = ["date,a,b,load"] + [f"d{i},{a:.4f},{b:.4f},{10 + 3 * a:.4f}"
                                 for i, (a, b) in enumerate(rng.normal(size=(150, 2)))]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    src = _gz(tmp_path / "s.csv") if suffix else tmp_path / "s.csv"
    res = train_run(tmp_path, 'task = "regress"\n[data]\ntarget_columns = ["load"]\ninput_len = 3\n', FAST,
                    data=str(src))
    rows = _cli_rows(res.run_dir, src, capsys)
    truth = np.array([float(line.split(",")[3]) for line in lines[1:]])
    pred = np.array([r["load"] for r in rows])
    manual = np.abs(pred - truth[[r["row"] for r in rows]]).mean()
    assert _cli_eval(res.run_dir, src, capsys)["mae_orig"] == pytest.approx(manual, rel=1e-4)


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_forecast_evaluate_is_predict_scored(tmp_path, suffix, capsys):
    t = np.arange(300)
    lines = ["time,temp"] + [f"t{i},{20 + 5 * np.sin(i / 4):.4f}" for i in t]
    (tmp_path / "s.csv").write_text("\n".join(lines) + "\n")
    src = _gz(tmp_path / "s.csv") if suffix else tmp_path / "s.csv"
    res = train_run(tmp_path, 'task = "forecast"\n[data]\ntarget_columns = ["temp"]\ninput_len = 8\nhorizon = 2\n',
                    FAST, data=str(src))
    # one window: input_len rows to predict from, then the horizon rows it is scored on
    (tmp_path / "window.csv").write_text("\n".join(lines[:1] + lines[101:111]) + "\n")
    (tmp_path / "inputs.csv").write_text("\n".join(lines[:1] + lines[101:109]) + "\n")
    rows = _cli_rows(res.run_dir, tmp_path / "inputs.csv", capsys)
    truth = np.array([float(line.split(",")[1]) for line in lines[109:111]])
    manual = np.abs(np.array([r["temp"] for r in rows]) - truth).mean()
    assert _cli_eval(res.run_dir, tmp_path / "window.csv", capsys)["mae_orig"] == pytest.approx(manual, rel=1e-4)


def test_invalid_model_setting_fails_before_any_data_is_read(tmp_path, capsys):
    out = tmp_path / "run"
    # the data file does not exist: had it been opened, the error would say so
    assert main(["train", "classify", "--data", str(tmp_path / "missing.csv"), "--out", str(out),
                 "--set", "model.hidden_size=0"]) == 2
    assert "model.hidden_size must be a positive integer; got 0" in capsys.readouterr().err
    assert not out.exists()
    assert main(["train", "classify", "--data", str(tmp_path / "missing.csv"), "--out", str(out),
                 "--set", "model.kind=feedforward", "--set", "model.activation=swish"]) == 2
    assert "model.activation must be one of" in capsys.readouterr().err
    assert not out.exists()


def test_a_run_directory_is_never_overwritten_by_surprise(tmp_path, capsys):
    train = write_table(tmp_path / "train.csv", sentiment_rows(40, 0), "csv")
    args = ["train", "classify", "--data", str(train), "--out", str(tmp_path / "run"), "--set", "train.epochs=1",
            "--quiet"]
    assert main(args) == 0
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    assert main(args) == 2
    assert "is not empty: continue it with `rnnkit resume" in capsys.readouterr().err
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before
    assert main([*args, "--overwrite", "--set", "train.seed=1"]) == 0
    assert (tmp_path / "run" / "model.safetensors").read_bytes() != before
    shutil.rmtree(tmp_path / "run" / "checkpoints")
    (tmp_path / "notarun").mkdir()
    (tmp_path / "notarun" / "keep.txt").write_text("mine")
    assert main([*args[:4], "--out", str(tmp_path / "notarun"), "--overwrite"]) == 2
    assert "holds no rnnkit run" in capsys.readouterr().err
    assert (tmp_path / "notarun" / "keep.txt").read_text() == "mine"


def test_train_takes_a_task_name_and_the_config_is_frozen(tmp_path):
    cfg = runner.load_run_config("regress", ["train.epochs=2"])
    assert cfg.task == "regress" and cfg.train.epochs == 2
    with pytest.raises(Exception, match="the config is frozen once loaded"):
        cfg.train.epochs = 3
    with pytest.raises(Exception, match="frozen"):
        cfg.model.hidden_size = 3
    assert runner.with_settings(cfg, ["train.epochs=4"]).train.epochs == 4
