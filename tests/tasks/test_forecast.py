"""Task ``forecast`` end to end through rnnkit.tasks.runner: CSV series, chronological split, scaler.json."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import runner
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import artifacts, assert_run_files, train_run

TOML = """
task = "forecast"
[data]
target_columns = ["temp"]
input_len = 12
horizon = 3
batch_size = 16
[model]
cell = "lstm"
hidden_size = 11
[train]
epochs = 10
"""


def write_series(path, n: int, seed: int = 0, start: int = 0):
    """A noisy seasonal 'temp' (period 8) in large units, plus a helper column."""
    rng = np.random.default_rng(seed)
    t = np.arange(start, start + n)
    temp = 200 + 30 * np.sin(2 * np.pi * t / 8) + rng.normal(0, 1, n)
    hum = 0.5 + 0.1 * np.cos(2 * np.pi * t / 8)
    lines = ["time,hum,temp"] + [f"t{i},{h:.5f},{v:.5f}" for i, h, v in zip(t, hum, temp)]
    path.write_text("\n".join(lines) + "\n")
    return temp


def test_forecast_learns_season_and_round_trips(tmp_path):
    temp = write_series(tmp_path / "series.csv", 400)
    res = train_run(tmp_path, TOML, data=str(tmp_path / "series.csv"))
    assert_run_files(res.run_dir, "plots/predicted_vs_actual.png")
    scaler = artifacts(res.run_dir)["scaler"]
    n_train = 280  # 0.7 of 400: the scaler saw the training rows only
    assert scaler["mean"][1] == pytest.approx(temp[:n_train].mean(), rel=1e-5)
    assert res.task.artifacts.features == ["hum", "temp"]  # the time column is not a feature

    # a naive "repeat the last value" forecast, in original units, over the test windows
    test_rows = temp[280 - 12:]
    naive = np.mean([np.abs(test_rows[i + 12 : i + 15] - test_rows[i + 11]).mean() for i in range(len(test_rows) - 14)])
    assert res.test_metrics["mae_orig"] < 0.5 * naive
    assert res.test_metrics["mae_orig"] == pytest.approx(res.test_metrics["mae"] * scaler["std"][1], rel=1e-3)
    assert "standardised" in (res.run_dir / "report.md").read_text()

    write_series(tmp_path / "later.csv", 60, seed=1, start=400)
    m = runner.evaluate(res.run_dir, tmp_path / "later.csv")
    assert m["mae_orig"] < 0.5 * naive

    rows = runner.predict(res.run_dir, str(tmp_path / "later.csv"))
    assert [r["step"] for r in rows] == [1, 2, 3]
    truth = 200 + 30 * np.sin(2 * np.pi * np.arange(460, 463) / 8)
    assert np.abs(np.array([r["temp"] for r in rows]) - truth).mean() < naive


def test_separate_files_and_feature_columns(tmp_path):
    write_series(tmp_path / "train.csv", 120)
    write_series(tmp_path / "val.csv", 40, seed=2, start=120)
    res = train_run(tmp_path, TOML, ["data.feature_columns=temp", "train.epochs=2", "model.kind=feedforward"],
                    data=str(tmp_path / "train.csv"), val=str(tmp_path / "val.csv"))
    assert res.task.artifacts.features == ["temp"]
    assert res.fit.epochs_completed == 2
    assert {"mae", "mae_orig", "rmse_orig"} <= set(res.val_metrics)
    assert len(runner.predict(res.run_dir, str(tmp_path / "val.csv"))) == 3


def test_errors(tmp_path):
    write_series(tmp_path / "s.csv", 30)
    with pytest.raises(ConfigError, match=r"data.target_columns must name at least one column"):
        train_run(tmp_path, TOML, ["data.target_columns=[]"], data=str(tmp_path / "s.csv"))
    with pytest.raises(DataError, match=r"s.csv: line 1: unknown target column 'pressure'"):
        train_run(tmp_path, TOML, ["data.target_columns=pressure"], data=str(tmp_path / "s.csv"))
    write_series(tmp_path / "short.csv", 12)
    with pytest.raises(DataError, match=r"short.csv: 12 rows leave fewer than input_len = 12 rows before a held-out 20%"):
        train_run(tmp_path, TOML, data=str(tmp_path / "short.csv"))  # no rows left to train on
    with pytest.raises(ConfigError, match=r"data.test_fraction must be in \[0, 1\); got 1.2"):
        train_run(tmp_path, TOML, ["data.test_fraction=1.2"], data=str(tmp_path / "s.csv"))
    write_series(tmp_path / "few.csv", 40)
    with pytest.raises(DataError, match=r"few.csv: \d+ rows are fewer than input_len \+ horizon = 15"):
        train_run(tmp_path, TOML, ["data.test_fraction=0.05"], data=str(tmp_path / "few.csv"))
    (tmp_path / "empty.csv").write_text("time,hum,temp\n")
    with pytest.raises(DataError, match=r"empty.csv: has a header but no data rows"):
        train_run(tmp_path, TOML, data=str(tmp_path / "empty.csv"))


@pytest.mark.integration
def test_ett_recipe_on_real_etth1(datasets_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_DATA", str(datasets_dir))
    cfg = runner.load_run_config("ett-forecast", ["train.max_steps=3", "train.epochs=1", "model.hidden_size=8",
                                                  "train.device=cpu"])
    res = runner.train(cfg, tmp_path / "run", quiet=True)
    assert res.fit.global_step == 3
    assert res.task.artifacts.features == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]
    # the standard split (split_rows default [8640, 2880, 2880]): 8640 training rows → 8640 - 96 - 24 + 1 windows,
    # 2880 - 24 + 1 validation and test windows (each part starts input_len rows early)
    assert len(res.data.train.dataset) == 8521
    assert len(res.data.val.dataset) == len(res.data.test.dataset) == 2857
    assert {"mae", "mse", "mae_orig", "naive_mse", "naive_mae_orig", "seasonal_naive_mse"} <= set(res.test_metrics)
    # the naive baseline by hand on the test windows of OT, in standardised units
    ot = np.loadtxt(datasets_dir / "ett" / "ETTh1.csv", delimiter=",", skiprows=1, usecols=7)
    z = (ot - ot[:8640].mean()) / ot[:8640].std()
    errs = [z[t + 1: t + 25] - z[t] for t in range(11520 - 1, 14400 - 24)]
    assert res.test_metrics["naive_mse"] == pytest.approx(np.mean(np.square(errs)), rel=1e-4)


def test_cli_train_evaluate_predict_csv(tmp_path, capsys):
    from rnnkit.cli.main import main

    write_series(tmp_path / "series.csv", 120)
    cfg = tmp_path / "fc.toml"
    cfg.write_text(TOML)
    run = tmp_path / "run"
    assert main(["train", str(cfg), "--data", str(tmp_path / "series.csv"), "--out", str(run),
                 "--set", "train.epochs=2", "--set", "train.device=cpu", "--quiet"]) == 0
    assert "test: loss=" in capsys.readouterr().out
    assert main(["evaluate", str(run), "--data", str(tmp_path / "series.csv")]) == 0
    assert {"mae", "mae_orig"} <= set(json.loads(capsys.readouterr().out))
    assert main(["predict", str(run), str(tmp_path / "series.csv"), "--format", "csv"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "step,temp" and len(out) == 4
    assert main(["train", str(cfg), "--data", str(tmp_path / "series.csv"), "--set", "data.horizon=0", "--out", str(tmp_path / "bad")]) == 2
    assert "data.horizon must be >= 1; got 0" in capsys.readouterr().err
