"""Task ``regress`` end to end through rnnkit.tasks.runner: npz, UCR-style TSV and CSV windows."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import runner
from rnnkit.tasks.splits import random_split
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import artifacts, assert_run_files, train_run

TOML = """
task = "regress"
[data]
batch_size = 16
[model]
cell = "gru"
hidden_size = 11
[train]
epochs = 15
"""


def mean_task(n: int, t: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """y = 100 + 10 * (mean of feature 0 over time): large original units, easy to learn."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, d)).astype(np.float32)
    return x, (100 + 10 * x[:, :, 0].mean(1)).astype(np.float32)


def test_npz_learns_with_predictions_in_original_units(tmp_path):
    x, y = mean_task(240, 5, 3, 0)
    xt, yt = mean_task(60, 5, 3, 1)
    np.savez(tmp_path / "train.npz", X=x, y=y)
    np.savez(tmp_path / "test.npz", X=xt, y=yt)
    res = train_run(tmp_path, TOML, data=str(tmp_path / "train.npz"), test=str(tmp_path / "test.npz"))
    assert_run_files(res.run_dir, "plots/predicted_vs_actual.png")
    scalers = artifacts(res.run_dir)
    assert scalers["target_scaler"]["kind"] == "standard"
    train_idx, _ = random_split(240, 0.1, 0)  # the scaler saw the training part only, not the held-out 10 %
    assert scalers["target_scaler"]["mean"][0] == pytest.approx(y[train_idx].mean(), rel=1e-4)

    naive = np.abs(yt - y.mean()).mean()  # predicting the training mean
    m = runner.evaluate(res.run_dir, tmp_path / "test.npz")
    assert m["mae_orig"] < 0.5 * naive
    # scaled and original errors differ by the target's std
    assert m["mae_orig"] == pytest.approx(m["mae"] * scalers["target_scaler"]["std"][0], rel=1e-3)
    assert res.test_metrics["mae_orig"] == pytest.approx(m["mae_orig"], rel=1e-5)

    np.savez(tmp_path / "new.npz", X=xt[:5])
    rows = runner.predict(res.run_dir, str(tmp_path / "new.npz"))
    assert [r["index"] for r in rows] == list(range(5))
    pred = np.array([r["y"] for r in rows])
    assert np.abs(pred - yt[:5]).mean() < naive  # original units, near the truth


def test_ucr_style_targets_with_feedforward(tmp_path):
    x, y = mean_task(150, 7, 1, 2)
    lines = ["\t".join([f"{t:.5f}"] + [f"{v:.5f}" for v in row[:, 0]]) for t, row in zip(y, x)]
    (tmp_path / "train.tsv").write_text("\n".join(lines[:120]) + "\n")
    (tmp_path / "test.tsv").write_text("\n".join(lines[120:]) + "\n")
    res = train_run(tmp_path, TOML, ["model.kind=feedforward", "model.hidden_sizes=[]", "train.epochs=30"],
                    data=str(tmp_path / "train.tsv"), test=str(tmp_path / "test.tsv"))
    naive = np.abs(y[120:] - y[:120].mean()).mean()
    assert res.test_metrics["mae_orig"] < 0.3 * naive  # a linear model is exact here
    assert len(runner.predict(res.run_dir, str(tmp_path / "test.tsv"))) == 30


def _sensor_csv(path, n: int, seed: int, with_target: bool = True):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    target = 50 + 5 * (a + np.concatenate([[0, 0], a[:-2]]))  # a now and two rows ago
    header = "date,a,b" + (",load" if with_target else "")
    rows = [f"2020-01-{i:05d},{a[i]:.5f},{b[i]:.5f}" + (f",{target[i]:.5f}" if with_target else "") for i in range(n)]
    path.write_text(header + "\n" + "\n".join(rows) + "\n")
    return target


def test_csv_windows_estimate_the_last_rows_target(tmp_path):
    target = _sensor_csv(tmp_path / "train.csv", 300, 0)
    test_target = _sensor_csv(tmp_path / "test.csv", 60, 1)
    res = train_run(tmp_path, TOML, ["data.target_columns=load", "data.input_len=4", "train.epochs=12"],
                    data=str(tmp_path / "train.csv"), test=str(tmp_path / "test.csv"))
    assert res.task.artifacts.features == 2  # a and b; the date and the target are not inputs
    naive = np.abs(test_target[3:] - target.mean()).mean()
    assert res.test_metrics["mae_orig"] < 0.5 * naive
    _sensor_csv(tmp_path / "new.csv", 10, 1, with_target=False)  # no target column needed to predict
    rows = runner.predict(res.run_dir, str(tmp_path / "new.csv"))
    assert [r["row"] for r in rows] == list(range(3, 10))
    assert np.abs(np.array([r["load"] for r in rows]) - test_target[3:10]).mean() < naive


def test_errors(tmp_path):
    _sensor_csv(tmp_path / "train.csv", 30, 0)
    with pytest.raises(ConfigError, match=r"data.target_columns must name at least one column"):
        train_run(tmp_path, TOML, data=str(tmp_path / "train.csv"))
    with pytest.raises(DataError, match=r"train.csv: line 1: unknown column 'power'"):
        train_run(tmp_path, TOML, ["data.target_columns=power"], data=str(tmp_path / "train.csv"))
    (tmp_path / "bad.tsv").write_text("1.5\t1\t2\nhigh\t3\t4\n")
    with pytest.raises(DataError, match=r"bad.tsv: line 2: column 1: the target must be a number; got 'high'"):
        train_run(tmp_path, TOML, data=str(tmp_path / "bad.tsv"))
    np.savez(tmp_path / "nan.npz", X=np.zeros((4, 3, 2)), y=np.array([1.0, np.nan, 0, 0]))
    with pytest.raises(DataError, match=r"nan.npz: y\[1\] is not finite"):
        train_run(tmp_path, TOML, data=str(tmp_path / "nan.npz"))


def test_cli_train_evaluate_predict_npz(tmp_path, capsys):
    from rnnkit.cli.main import main

    x, y = mean_task(60, 5, 3, 0)
    np.savez(tmp_path / "train.npz", X=x, y=y)
    cfg = tmp_path / "reg.toml"
    cfg.write_text(TOML)
    run = tmp_path / "run"
    assert main(["train", str(cfg), "--data", str(tmp_path / "train.npz"), "--out", str(run),
                 "--set", "train.epochs=2", "--set", "train.device=cpu", "--quiet"]) == 0
    assert main(["evaluate", str(run)]) == 0  # the held-out validation part
    out = capsys.readouterr().out
    assert "mae_orig" in out.split("run directory:")[1]
    assert main(["predict", str(run), str(tmp_path / "train.npz")]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 60 and set(rows[0]) == {"index", "y"}
    assert main(["predict", str(run), str(tmp_path / "missing.npz")]) == 2
    assert "file not found" in capsys.readouterr().err
