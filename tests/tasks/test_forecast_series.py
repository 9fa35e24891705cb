"""Series conveniences of ``forecast``: time_column = "auto" by name (any case), the
monotonic-integer warning, ``data.split_rows`` and the naive / seasonal-naive baselines
checked against a hand computation."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import rnnkit
from rnnkit.data.baselines import naive_forecasts
from rnnkit.data.sources.timeseries import monotonic_integer_columns, read_csv_series
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import pipeline, runner
from rnnkit.tasks.forecast import ForecastData, ForecastTask
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import train_run, write_config

TOML = """
task = "forecast"
[data]
target_columns = ["temp"]
input_len = 4
horizon = 2
batch_size = 8
[model]
kind = "feedforward"
[train]
epochs = 1
max_steps = 1
"""


def write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(str(v) for v in r) for r in rows]) + "\n")
    return path


def task_for(tmp_path, overrides=(), **paths):
    return ForecastTask(runner.load_run_config(write_config(tmp_path, TOML), list(overrides), **paths))


# ------------------------------------------------------------------ time column
@pytest.mark.parametrize("name", ["YEAR", "Date", "TIME", "Date Time", "ds", "time_stamp", "Month", "period"])
def test_auto_time_column_recognises_usual_names_in_any_case(tmp_path, name):
    path = write_csv(tmp_path / "s.csv", [name, "temp"], [(2000 + i, 1.5 * i) for i in range(5)])
    with pytest.warns(UserWarning, match=rf"s.csv: time_column = \"auto\" chose '{name}' as the time column"):
        values, names, times = read_csv_series(path)
    assert names == ["temp"] and values[:, 0].tolist() == [0, 1.5, 3, 4.5, 6] and times[0] == "2000"


def test_auto_time_column_names_the_other_time_like_columns_and_none_is_silent(tmp_path):
    path = write_csv(tmp_path / "s.csv", ["year", "month", "temp"], [(2000, m, m * 2.0) for m in range(1, 6)])
    with pytest.warns(UserWarning, match=r"chose 'year' .*'month' look time-like too and stay numeric columns"):
        _, names, _ = read_csv_series(path)
    assert names == ["month", "temp"]
    path = write_csv(tmp_path / "plain.csv", ["a", "temp"], [(i % 3, i) for i in range(5)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, names, times = read_csv_series(path)
    assert names == ["a", "temp"] and times is None


def test_monotonic_integer_feature_is_warned_about(tmp_path):
    assert monotonic_integer_columns(np.array([[1, 0.5, 3], [2, 0.7, 2], [5, 0.9, 1.0]]), ["i", "f", "d"]) == ["i"]
    rows = [(i, 10 + i, round(np.sin(i), 3)) for i in range(40)]  # idx and count increase; temp is the target
    path = write_csv(tmp_path / "s.csv", ["idx", "count", "temp"], rows)
    task = task_for(tmp_path, data=str(path))
    with pytest.warns(UserWarning) as caught:
        task.fit(pipeline.read_splits(task)["train"])
    said = [str(w.message) for w in caught if "strictly increasing" in str(w.message)]
    assert len(said) == 2
    assert "column 'idx' holds strictly increasing integers (a row index or a year?) and is an input feature" in said[0]
    assert "set data.time_column = 'idx', or leave it out with data.feature_columns = ['count', 'temp']" in said[0]
    # a monotonic target, or features the user listed, are not warned about
    path = write_csv(tmp_path / "t.csv", ["x", "temp"], [(np.cos(i), i) for i in range(40)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        task = task_for(tmp_path, data=str(path))
        task.fit(pipeline.read_splits(task)["train"])
        task = task_for(tmp_path, ["data.feature_columns=idx,temp"], data=str(tmp_path / "s.csv"))
        task.fit(pipeline.read_splits(task)["train"])


# ------------------------------------------------------------------ split_rows
def test_split_rows_cuts_chronologically_with_context(tmp_path):
    path = write_csv(tmp_path / "s.csv", ["time", "temp"], [(f"t{i}", float(i)) for i in range(50)])
    task = task_for(tmp_path, ["data.split_rows=[30,8,6]"], data=str(path))
    with pytest.warns(UserWarning, match="chose 'time'"):
        splits = pipeline.read_splits(task)
    rows = {k: v.inputs[:, 0].astype(int).tolist() for k, v in splits.items()}
    assert rows["train"] == list(range(30))
    assert rows["val"] == list(range(26, 38)) and rows["test"] == list(range(34, 44))  # 4 rows of context each
    task.artifacts = task.fit(splits["train"])
    assert task.artifacts.scaler.mean.tolist() == pytest.approx([14.5])  # the training rows only
    assert [len(task.encode(splits[k])) for k in ("val", "test")] == [8 - 2 + 1, 6 - 2 + 1]
    # no validation part: none is held out either
    task = task_for(tmp_path, ["data.split_rows=[30,0,6]"], data=str(path))
    with pytest.warns(UserWarning):
        splits = pipeline.read_splits(task)
    assert splits["val"] is None and len(splits["test"]) == 10


def test_split_rows_errors(tmp_path):
    for value, message in [
        ([1, 2], r"data.split_rows must be three row counts \[train, val, test\]; got \[1, 2\]"),
        ([10, -1, 2], r"data.split_rows must be row counts >= 0 with at least 1 training row; got \[10, -1, 2\]"),
        ([0, 5, 5], r"with at least 1 training row; got \[0, 5, 5\]"),
        ([10, 2.5, 2], r"must be three row counts \[train, val, test\]; got \[10, 2.5, 2\]"),
    ]:
        with pytest.raises(ConfigError, match=message):
            ForecastData(target_columns=["temp"], split_rows=value)
    with pytest.raises(ConfigError, match=r"data.season must be an integer >= 1 \(rows per season\); got 0"):
        ForecastData(season=0)
    # between keys: checked once every override is in, whatever their order
    cfg = write_config(tmp_path, TOML)
    with pytest.raises(ConfigError, match=r"data.split_rows = \[30, 8, 6\] gives every split's rows; "
                                          r"data.test_fraction = 0.3 cannot be used with it"):
        runner.load_run_config(cfg, ["data.split_rows=[30,8,6]", "data.test_fraction=0.3"])
    with pytest.raises(ConfigError, match=r"data.split_rows = \[30, 8, 6\] and data.val_path both give the "
                                          r"validation split"):
        runner.load_run_config(cfg, ["data.split_rows=[30,8,6]"], val="v.csv")
    runner.load_run_config(cfg, ["data.split_rows=[30,0,6]"], val="v.csv")  # no validation rows: the file gives them
    with pytest.raises(ConfigError, match=r"data.season = 5 must be <= data.input_len = 4"):
        runner.load_run_config(cfg, ["data.season=5"])
    assert runner.load_run_config(cfg, ["data.season=6", "data.input_len=8"]).data.season == 6

    path = write_csv(tmp_path / "s.csv", ["temp"], [(float(i),) for i in range(50)])
    for value, message in [
        ("[30,15,6]", r"s.csv: data.split_rows = \[30, 15, 6\] needs 51 rows; the series has 50"),
        ("[5,8,6]", r"s.csv: data.split_rows gives the training part 5 rows; one window needs input_len \+ horizon = 6"),
        ("[30,1,6]", r"s.csv: data.split_rows gives the validation part 1 rows; a window needs horizon = 2 of them "
                     r"\(or 0 for no validation part\)"),
    ]:
        with pytest.raises(DataError, match=message):
            pipeline.read_splits(task_for(tmp_path, [f"data.split_rows={value}"], data=str(path)))


# ------------------------------------------------------------------ baselines
def test_naive_forecasts_by_hand():
    s = np.array([1.0, 4, 2, 8, 5, 7, 3, 9, 6])
    out = naive_forecasts(s, input_len=4, horizon=3, stride=2, season=2)
    # windows start at rows 0 and 2: last observed rows 3 and 5
    assert out["naive"][:, :, 0].tolist() == [[8, 8, 8], [7, 7, 7]]
    # season 2: steps 1, 2, 3 repeat rows t-1, t, t-1
    assert out["seasonal_naive"][:, :, 0].tolist() == [[2, 8, 2], [5, 7, 5]]
    assert naive_forecasts(s, 4, 3, season=1)["seasonal_naive"].tolist() == naive_forecasts(s, 4, 3)["naive"].tolist()
    with pytest.raises(ConfigError, match=r"season must be an integer in 1..input_len = 4 .*; got 5"):
        naive_forecasts(s, 4, 3, season=5)


def _hand_baselines(temp, lo, hi, L, H, m):
    """Mean absolute / squared errors of the naive and seasonal-naive forecasts of every
    window of rows [lo - L, hi) (original units), written as loops."""
    errs = {"naive": [], "seasonal_naive": []}
    for s in range(lo - L, hi - L - H + 1):
        t = s + L - 1
        for j in range(1, H + 1):
            errs["naive"].append(temp[t + j] - temp[t])
            back = m * -(-j // m)
            errs["seasonal_naive"].append(temp[t + j] - temp[t + j - back])
    return {k: (np.abs(v).mean(), np.square(v).mean()) for k, v in errs.items()}


@pytest.mark.parametrize("relative", [False, True])
def test_baselines_in_evaluate_summary_and_report_match_a_hand_computation(tmp_path, capsys, relative):
    from rnnkit.cli.main import main

    rng = np.random.default_rng(0)
    t = np.arange(60)
    temp = np.round(10 + 3 * np.sin(2 * np.pi * t / 3) + rng.normal(0, 0.5, 60), 3)
    path = write_csv(tmp_path / "s.csv", ["time", "temp"], [(f"t{i}", v) for i, v in zip(t, temp)])
    cfg = tmp_path / "fc.toml"
    cfg.write_text(TOML)
    run = tmp_path / "run"
    with pytest.warns(UserWarning, match="chose 'time'"):
        assert main(["train", str(cfg), "--data", str(path), "--out", str(run), "--quiet", "--set",
                     "data.split_rows=[36,10,12]", "--set", "data.season=3", "--set", f"data.relative={str(relative).lower()}",
                     "--set", "train.device=cpu"]) == 0
    printed = capsys.readouterr().out
    test_line = next(line for line in printed.splitlines() if line.startswith("test: "))
    assert "naive_mse=" in test_line and "seasonal_naive_mae_orig=" in test_line

    std = json.loads((run / "artifacts.json").read_text())["artifacts"]["scaler"]["std"][0]
    assert std == pytest.approx(temp[:36].std(), rel=1e-5)
    hand = _hand_baselines(temp, 46, 58, 4, 2, 3)
    with pytest.warns(UserWarning):
        m = runner.evaluate(run)  # the test split by default
    with pytest.warns(UserWarning):
        assert rnnkit.load(run).evaluate()["seasonal_naive_mse"] == m["seasonal_naive_mse"]  # the Python API
    for name, (mae, mse) in hand.items():
        assert m[f"{name}_mae_orig"] == pytest.approx(mae, rel=1e-4)
        assert m[f"{name}_mse_orig"] == pytest.approx(mse, rel=1e-4)
        assert m[f"{name}_mse"] == pytest.approx(mse / std**2, rel=1e-4)  # the model's standardised units
        assert m[f"{name}_rmse"] == pytest.approx(np.sqrt(mse) / std, rel=1e-4)
    assert m["seasonal_naive_mse"] < 0.5 * m["naive_mse"]  # the series has period 3
    report = (run / "report.md").read_text()
    assert f"| seasonal_naive_mae_orig | {hand['seasonal_naive'][0]:.4f} |" in report
    metrics_csv = (run / "metrics.csv").read_text()
    assert "naive" not in metrics_csv.splitlines()[0]  # per-epoch validation rows stay the model's own

    with pytest.warns(UserWarning):
        val = runner.evaluate(run, split="val")
    assert val["naive_mae_orig"] == pytest.approx(_hand_baselines(temp, 36, 46, 4, 2, 3)["naive"][0], rel=1e-4)
    # the training file itself scores every window of the whole file
    with pytest.warns(UserWarning):
        whole = runner.evaluate(run, path)
    assert whole["naive_mae_orig"] == pytest.approx(_hand_baselines(temp, 4, 60, 4, 2, 3)["naive"][0], rel=1e-4)
