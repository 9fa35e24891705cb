"""The Python API: rnnkit.fit on every in-memory input kind, then rnnkit.load(path).predict
gives what `rnnkit predict` prints for the same data written to a file."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rnnkit
from rnnkit.cli.main import main
from rnnkit.errors import ConfigError, DataError
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import numeric_classes, sentiment_rows

FAST = {"train.epochs": 2, "train.device": "cpu", "model.hidden_size": 11}


def _cli_rows(run_dir, source, capsys):
    assert main(["predict", str(run_dir), str(source)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for k in x:
            if isinstance(x[k], float):
                assert x[k] == pytest.approx(y[k], abs=1e-6)
            else:
                assert x[k] == y[k]


def test_fit_on_a_list_of_strings(tmp_path, capsys):
    rows = sentiment_rows(120, 0)
    run = rnnkit.fit("classify", [t for t, _ in rows], [y for _, y in rows], out=tmp_path / "run", settings=FAST)
    assert isinstance(run, rnnkit.Run) and run.path == tmp_path / "run"
    assert run.result.val_metrics["accuracy"] >= 0.0
    new = ["a great film", "the plot was awful"]
    (tmp_path / "new.txt").write_text("\n".join(new) + "\n")
    _same(rnnkit.load(run.path).predict(new), _cli_rows(run.path, tmp_path / "new.txt", capsys))
    _same(run.predict(new), rnnkit.load(run.path).predict(new))
    # evaluate in memory equals evaluate of the same rows in a file
    metrics = rnnkit.load(run.path).evaluate(([t for t, _ in rows[:30]], [y for _, y in rows[:30]]))
    assert set(metrics) >= {"loss", "accuracy", "macro_f1"}
    # the Run fresh from fit() keeps its in-memory splits; a loaded one says why it cannot read them again
    assert run.evaluate(split="val") == pytest.approx(run.result.val_metrics)
    assert run.evaluate() == pytest.approx(run.result.val_metrics)  # no test split: validation
    with pytest.raises(ConfigError, match=r"the run was trained on in-memory data \(rnnkit\.fit\), which its run "
                                          r"directory does not keep, so its validation split cannot be read again; "
                                          r"pass the examples: run\.evaluate\(data, targets\)"):
        rnnkit.load(run.path).evaluate(split="val")


def test_fit_on_a_dataframe(tmp_path, capsys):
    pd = pytest.importorskip("pandas", reason="pandas is the optional `pandas` extra")
    rows = sentiment_rows(100, 1)
    df = pd.DataFrame({"review": [t for t, _ in rows], "stars": [y for _, y in rows]})
    run = rnnkit.fit("classify", df, out=tmp_path / "run",
                     settings={**FAST, "data.text_column": "review", "data.label_column": "stars"})
    df.to_csv(tmp_path / "new.csv", index=False)
    _same(rnnkit.load(run.path).predict(df.head(7)), _cli_rows(run.path, tmp_path / "new.csv", capsys)[:7])
    with pytest.raises(DataError, match=r"the DataFrame has no column 'review'"):
        rnnkit.fit("classify", df.rename(columns={"review": "text"}), out=tmp_path / "bad",
                   settings={"data.text_column": "review", "data.label_column": "stars"})


def test_fit_on_a_dense_array_classify_and_regress(tmp_path, capsys):
    x, y = numeric_classes(80, 6, 3, seed=0)
    run = rnnkit.fit("classify", x, y, out=tmp_path / "cls", settings=FAST)
    np.savez(tmp_path / "new.npz", X=x[:9])
    _same(rnnkit.load(run.path).predict(x[:9]), _cli_rows(run.path, tmp_path / "new.npz", capsys))
    target = x[:, :, 0].sum(1)
    reg = rnnkit.fit("regress", x, target, out=tmp_path / "reg", settings=FAST)
    _same(rnnkit.load(reg.path).predict(x[:9]), _cli_rows(reg.path, tmp_path / "new.npz", capsys))
    assert "mae_orig" in reg.evaluate((x[:20], target[:20]))


def test_fit_on_variable_length_arrays(tmp_path, capsys):
    x, y = numeric_classes(80, 10, 2, seed=1)
    lengths = np.random.default_rng(1).integers(3, 11, size=len(x))
    seqs = [a[:n] for a, n in zip(x, lengths)]
    run = rnnkit.fit("classify", seqs, y, val=(seqs[:10], y[:10]), out=tmp_path / "run", settings=FAST)
    assert run.task.artifacts.steps is None
    np.savez(tmp_path / "new.npz", X=x[:8], lengths=lengths[:8])  # the file form: padded X plus lengths
    _same(rnnkit.load(run.path).predict(seqs[:8]), _cli_rows(run.path, tmp_path / "new.npz", capsys))


def test_fit_with_a_file_and_the_cli_reads_the_same_run(tmp_path, capsys):
    rows = sentiment_rows(60, 2)
    (tmp_path / "train.csv").write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows))
    run = rnnkit.fit("classify", tmp_path / "train.csv", out=tmp_path / "run", settings=FAST)
    assert main(["evaluate", str(run.path), "--data", str(tmp_path / "train.csv")]) == 0
    cli = json.loads(capsys.readouterr().out)
    assert cli == pytest.approx(rnnkit.load(run.path).evaluate(tmp_path / "train.csv"))


def test_api_errors_name_what_is_wrong(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key train.epoks"):
        rnnkit.fit("classify", ["a", "b"], ["x", "y"], out=tmp_path / "r", settings={"train.epoks": 1})
    with pytest.raises(DataError, match=r"targets must hold one label per example \(2\); got 3"):
        rnnkit.fit("classify", ["a", "b"], ["x", "y", "z"], out=tmp_path / "r")
    with pytest.raises(DataError, match=r"a single class \('x'\)"):
        rnnkit.fit("classify", ["a", "b", "c"], ["x", "x", "x"], out=tmp_path / "r")
    x, y = numeric_classes(20, 5, 2, seed=0)
    run = rnnkit.fit("classify", x, y, out=tmp_path / "ok", settings={"train.epochs": 1})
    with pytest.raises(ConfigError, match=r"generate needs a language model"):
        run.generate()
    with pytest.raises(DataError, match=r"D = 2 features as in training; got 3"):
        run.predict(np.zeros((2, 5, 3)))
    assert not (tmp_path / "r").exists()
