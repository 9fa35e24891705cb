"""Users' numeric sequence formats end to end through the classify (and regress) task:
sktime .ts and long-format CSV with variable lengths, .npz with lengths; a padded batch
predicts what each sequence predicts alone; format detection and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import runner
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import sentiment_rows, train_run, write_table

TOML = """
task = "classify"
[data]
batch_size = 8
[model]
cell = "gru"
hidden_size = 8
[train]
epochs = 1
"""


def _sequences(n: int, seed: int) -> tuple[list[np.ndarray], list[str]]:
    """Variable-length (4..11 steps) two-feature sequences; 'up' rises in feature 0, 'down' falls."""
    rng = np.random.default_rng(seed)
    seqs, labels = [], []
    for _ in range(n):
        up = bool(rng.random() < 0.5)
        t = int(rng.integers(4, 12))
        x = rng.normal(0, 0.2, size=(t, 2))
        x[:, 0] += np.linspace(-1, 1, t) * (1 if up else -1)
        seqs.append(x.round(4))
        labels.append("up" if up else "down")
    return seqs, labels


def _write_ts(path, seqs, labels) -> None:
    head = "@problemName toy\n@timeStamps false\n@univariate false\n@dimensions 2\n@equalLength false\n" \
           "@classLabel true down up\n@data\n"
    rows = [":".join(",".join(f"{v:g}" for v in x[:, d]) for d in range(2)) + f":{y}" for x, y in zip(seqs, labels)]
    path.write_text(head + "\n".join(rows) + "\n")


def _write_long(path, seqs, labels) -> None:
    lines = ["series_id,step,a,b,label"]
    for i, (x, y) in enumerate(zip(seqs, labels)):
        lines += [f"s{i},{t},{x[t, 0]:g},{x[t, 1]:g},{y}" for t in range(len(x))]
    path.write_text("\n".join(lines) + "\n")


def _alone_equals_batched(run_dir, source, seqs) -> None:
    batched = runner.predict(run_dir, str(source))
    assert len(batched) == len(seqs)
    for i in range(0, len(seqs), 7):  # each sequence alone (a batch of one, no padding)
        alone = runner.predict(run_dir, [seqs[i]])
        assert alone[0]["p_up"] == pytest.approx(batched[i]["p_up"], abs=1e-5)


def test_ts_variable_lengths_end_to_end(tmp_path):
    seqs, labels = _sequences(60, 0)
    _write_ts(tmp_path / "train.ts", seqs, labels)
    res = train_run(tmp_path, TOML, data=str(tmp_path / "train.ts"))
    assert res.task.artifacts.steps is None and res.task.artifacts.features == 2  # lengths kept, no padding
    assert res.task.artifacts.labels == ["down", "up"]
    _alone_equals_batched(res.run_dir, tmp_path / "train.ts", seqs)
    m = runner.evaluate(res.run_dir, tmp_path / "train.ts")
    assert 0.0 <= m["accuracy"] <= 1.0


def test_long_csv_variable_lengths_end_to_end(tmp_path):
    seqs, labels = _sequences(60, 1)
    _write_long(tmp_path / "train.csv", seqs, labels)
    with pytest.warns(UserWarning, match=r"data.id_column = 'auto' chose column 'series_id'"):
        res = train_run(tmp_path, TOML, data=str(tmp_path / "train.csv"))
    assert res.task.artifacts.steps is None and res.task.artifacts.features == 2
    _alone_equals_batched(res.run_dir, tmp_path / "train.csv", seqs)


def test_npz_lengths_nan_padding_through_the_task(tmp_path):
    seqs, labels = _sequences(40, 2)
    x = np.full((len(seqs), 11, 2), np.nan)  # NaN padding past each length: never read
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
    lengths = np.array([len(s) for s in seqs])
    np.savez(tmp_path / "train.npz", X=x, y=np.array(labels), lengths=lengths)
    res = train_run(tmp_path, TOML, data=str(tmp_path / "train.npz"))
    assert res.task.artifacts.steps is None
    _alone_equals_batched(res.run_dir, tmp_path / "train.npz", seqs)
    np.savez(tmp_path / "extra.npz", X=x, y=np.array(labels), lengths=lengths, weights=np.ones(len(seqs)))
    with pytest.raises(DataError, match=r"extra\.npz: unknown array 'weights'"):
        runner.evaluate(res.run_dir, tmp_path / "extra.npz")


def test_regress_reads_ts_targets_and_long_csv(tmp_path):
    seqs, _ = _sequences(30, 3)
    head = "@problemName r\n@univariate false\n@equalLength false\n@targetLabel true\n@data\n"
    rows = [":".join(",".join(f"{v:g}" for v in x[:, d]) for d in range(2)) + f":{x[:, 0].mean():.4f}" for x in seqs]
    (tmp_path / "r.ts").write_text(head + "\n".join(rows) + "\n")
    toml = 'task = "regress"\n[model]\nhidden_size = 6\n[train]\nepochs = 1\n'
    res = train_run(tmp_path, toml, data=str(tmp_path / "r.ts"))
    assert res.task.artifacts.steps is None and len(runner.predict(res.run_dir, str(tmp_path / "r.ts"))) == 30
    lines = ["id,t,a,b,target"] + [f"s{i},{t},{x[t, 0]:g},{x[t, 1]:g},{x[:, 0].mean():.4f}"
                                   for i, x in enumerate(seqs) for t in range(len(x))]
    (tmp_path / "l.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "two").mkdir()
    with pytest.raises(ConfigError, match=r"data.target_columns must name the target column\(s\) of the "
                                          r"long-format CSV"):
        train_run(tmp_path / "two", toml, data=str(tmp_path / "l.csv"))
    res = train_run(tmp_path / "two", toml, ["data.target_columns=['target']", "data.missing=interpolate"],
                    data=str(tmp_path / "l.csv"))
    assert res.task.artifacts.features == 2 and res.task.artifacts.steps is None
    assert res.task.artifacts.targets == ["target"]  # named by data.target_columns


def test_format_key_and_detection_errors_through_the_task(tmp_path):
    seqs, labels = _sequences(30, 4)
    _write_ts(tmp_path / "train.txt", seqs, labels)  # a .ts file under another name: its header says so
    res = train_run(tmp_path, TOML, ["train.epochs=1", "data.format=ts"], data=str(tmp_path / "train.txt"))
    assert res.task.artifacts.features == 2
    (tmp_path / "b").mkdir()
    with pytest.raises(DataError, match=r"train\.txt: line 1: starts with '@': this is a sktime/UEA \.ts file, "
                                        r"not UCR TSV; set data.format = 'ts'"):
        train_run(tmp_path / "b", TOML, ["data.format=ucr"], data=str(tmp_path / "train.txt"))
    train = write_table(tmp_path / "t.tsv", sentiment_rows(20, 0), "tsv")
    with pytest.raises(DataError, match=r"t\.tsv: line 1: unknown column 'review' \(data.text_column, for a tsv "
                                        r"text table\); not a label followed by numbers \(for ucr\); the header "
                                        r"has \['label', 'text'\]"):
        train_run(tmp_path / "b", TOML, ["data.text_column=review"], data=str(train))
    with pytest.raises(ConfigError, match=r"data.missing must be one of 'error', 'interpolate'; got 'zero'"):
        train_run(tmp_path / "b", TOML, ["data.missing=zero"], data=str(train))
    with pytest.raises(ConfigError, match=r"data.format must be one of 'auto', 'csv', 'tsv', 'jsonl', 'npz', 'ucr', "
                                          r"'ts', 'long-csv'; got 'tsv-ucr'"):
        train_run(tmp_path / "b", TOML, ["data.format=tsv-ucr"], data=str(train))
