"""Progress off a terminal, on a fake clock: one line per epoch and one every 30 s of training
(step, epoch, loss, main metric, items/s, ETA, lr), a partial metrics.csv row at each beat
(``partial = 1``; epoch rows ``partial = 0``), nothing with ``quiet``, and a resume that rewrites
metrics.csv from the checkpoint without duplicates."""

from __future__ import annotations

import io
import re

import torch

from rnnkit.train import Callback, RunDir, ShuffledBatches, TrainConfig, Trainer
from rnnkit.train.callbacks import Progress
from rnnkit.train.callbacks.progress import format_duration


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Tick(Callback):
    """Each optimizer step takes ``seconds`` of the fake clock (runs before Progress)."""

    order = 10

    def __init__(self, clock: FakeClock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds

    def on_step_end(self, trainer, info):
        self.clock.now += self.seconds


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def _trainer(toys, run_dir, cfg, stream, clock, seconds=10.0):
    torch.manual_seed(0)
    trainer = Trainer(toys.Classifier(), toys.ClassifyObjective(), cfg, run_dir, callbacks=[Tick(clock, seconds)])
    trainer.callbacks = [Progress(cfg.log_every_steps, interval=30.0, stream=stream, clock=clock)
                         if isinstance(cb, Progress) else cb for cb in trainer.callbacks]
    return trainer


def _data(toys, n=48):
    x, y = toys.classify_data(n)  # batches of 6: 8 steps per epoch
    return ShuffledBatches((x, y), batch_size=6, seed=3), ShuffledBatches((x, y), batch_size=6, shuffle=False)


def test_log_lines_off_a_terminal_and_partial_rows(tmp_path, toys):
    clock, out = FakeClock(), io.StringIO()
    train, val = _data(toys)
    res = _trainer(toys, tmp_path, TrainConfig(epochs=2), out, clock).fit(train, val)
    assert res.global_step == 16
    lines = out.getvalue().splitlines()
    beats = [line for line in lines if " done at step " not in line]
    epochs = [line for line in lines if " done at step " in line]
    # a beat every 3 steps of 10 s; the epoch end restarts the 30 s
    assert [re.search(r"step (\d+)/16", b).group(1) for b in beats] == ["3", "6", "11", "14"]
    assert len(epochs) == 2 and epochs[0].startswith("[rnnkit] epoch 1/2 done at step 8")
    assert "val_loss" in epochs[0] and "train_accuracy" in epochs[0]
    first = beats[0]
    assert first.startswith("[rnnkit] epoch 1/2 step 3/16 (19%)")
    # 18 examples in 30 s; 13 steps left at 10 s a step
    assert re.search(r"  loss \d\.\d{4}  accuracy 0\.\d+  1 items/s  ETA 2m10s  lr 1\.00e-03$", first), first
    rows = RunDir(tmp_path).read_metrics()
    assert [(r["step"], r["partial"]) for r in rows] == [("3", "1"), ("6", "1"), ("8", "0"),
                                                         ("11", "1"), ("14", "1"), ("16", "0")]
    assert [r["epoch"] for r in rows if r["partial"] == "0"] == ["1", "2"]
    part = rows[0]
    assert float(part["train_loss"]) > 0 and 0 <= float(part["train_accuracy"]) <= 1 and part["val_loss"] == ""
    assert float(part["seconds"]) == 30.0


def test_quiet_prints_nothing_and_writes_epoch_rows_only(tmp_path, toys):
    clock, out = FakeClock(), io.StringIO()
    train, val = _data(toys)
    _trainer(toys, tmp_path, TrainConfig(epochs=2, quiet=True), out, clock).fit(train, val)
    assert out.getvalue() == ""
    assert [r["partial"] for r in RunDir(tmp_path).read_metrics()] == ["0", "0"]


def test_on_a_terminal_a_bar_and_no_lines_but_partial_rows(tmp_path, toys):
    clock, out = FakeClock(), TTY()
    train, val = _data(toys)
    _trainer(toys, tmp_path, TrainConfig(epochs=1), out, clock).fit(train, val)
    assert "[rnnkit]" not in out.getvalue()
    assert [r["partial"] for r in RunDir(tmp_path).read_metrics()] == ["1", "1", "0"]


def test_resume_rewrites_metrics_csv_from_the_checkpoint_without_duplicates(tmp_path, toys):
    train, val = _data(toys)
    clock = FakeClock()
    cut = _trainer(toys, tmp_path, TrainConfig(epochs=2, max_steps=12), io.StringIO(), clock).fit(train, val)
    assert cut.stop_reason == "max_steps"
    run = RunDir(tmp_path)
    assert [(r["step"], r["partial"]) for r in run.read_metrics()] == [("3", "1"), ("6", "1"), ("8", "0"),
                                                                       ("11", "1"), ("12", "0")]
    # what a kill after the checkpoint leaves: rows of steps the resumed run will train again
    run.append_metrics({"epoch": 2, "step": 14, "lr": 0.001, "train_loss": 1.0, "seconds": 30.0, "partial": 1})
    run.append_metrics({"epoch": 2, "step": 16, "lr": 0.001, "train_loss": 1.0, "seconds": 60.0, "partial": 0})
    out = io.StringIO()
    res = _trainer(toys, tmp_path, TrainConfig(epochs=2), out, FakeClock()).fit(train, val, resume=True)
    assert res.global_step == 16
    rows = run.read_metrics()
    # kept: the partial rows up to the checkpoint (step 12), the history's epoch rows (the cut
    # epoch's row at step 12 included); the resumed run's beat at step 15 and its epoch row
    assert [(r["step"], r["partial"]) for r in rows] == [("3", "1"), ("6", "1"), ("8", "0"), ("11", "1"),
                                                         ("12", "0"), ("15", "1"), ("16", "0")]
    assert len({(r["step"], r["partial"]) for r in rows}) == len(rows)
    assert "epoch 2/2 step 15/16" in out.getvalue()


def test_format_duration():
    assert [format_duration(s) for s in (0, 42.4, 250, 7500, float("nan"), -1)] == \
        ["0s", "42s", "4m10s", "2h05m", "?", "?"]
