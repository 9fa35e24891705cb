"""train.ema_decay through a task run: the CLI says it, the run directory holds the average, and
a run killed after its last checkpoint is finished with the average, not the training weights."""

from __future__ import annotations

import json
import re

import torch

from rnnkit.tasks import runner
from rnnkit.train import RunDir
from rnnkit.train import checkpoint as ckpt
from rnnkit.train.averaging import averaged_weights
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import sentiment_rows, train_run, write_table

TOML = """
task = "classify"
[data]
batch_size = 16
[model]
hidden_size = 11
embedding_dim = 7
pooling = "max"
dropout = 0.0
[train]
epochs = 4
ema_decay = 0.9
device = "cpu"
[train.optim]
lr = 0.01
"""


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_cli_run_saves_and_scores_the_average(tmp_path, capsys):
    from rnnkit.cli.main import main

    data = write_table(tmp_path / "train.csv", sentiment_rows(120, 0), "csv")
    cfg = tmp_path / "cls.toml"
    cfg.write_text(TOML)
    run = tmp_path / "run"
    assert main(["train", str(cfg), "--data", str(data), "--out", str(run), "--set", "train.restore_best=false",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "weights: the moving average (train.ema_decay = 0.9) at the last step" in out
    val_accuracy = float(re.search(r"validation: .*accuracy=([0-9.]+)", out).group(1))
    c = ckpt.load_latest(RunDir(run).checkpoints_dir)
    saved = RunDir(run).load_weights()
    assert _same(saved, averaged_weights(c.model_state, c.trainer_state["average"]))
    assert not _same(saved, c.model_state)  # the training weights differ from their average
    # evaluate on the run's own validation split rebuilds the model from model.safetensors: the same figures
    assert main(["evaluate", str(run), "--split", "val"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert abs(again["accuracy"] - val_accuracy) < 1e-4

    assert main(["train", str(cfg), "--data", str(data), "--out", str(tmp_path / "best"), "--set",
                 "train.restore_best=true", "--quiet"]) == 0
    assert "weights: the moving average (train.ema_decay = 0.9) at the epoch with the best val_accuracy (" \
        in capsys.readouterr().out


def test_a_run_killed_after_its_last_checkpoint_is_finished_with_the_average(tmp_path):
    data = write_table(tmp_path / "train.csv", sentiment_rows(120, 0), "csv")
    first = train_run(tmp_path, TOML, ["train.restore_best=false"], data=str(data))
    finished = RunDir(first.run_dir).load_weights()
    # as if killed between the last checkpoint and the final files
    (first.run_dir / "report.md").unlink()
    (first.run_dir / "model.safetensors").unlink()
    again = runner.resume(first.run_dir, quiet=True)
    assert not again.already_finished and again.fit.stop_reason == "completed"
    assert _same(RunDir(first.run_dir).load_weights(), finished)
    assert again.val_metrics["accuracy"] == first.val_metrics["accuracy"]
