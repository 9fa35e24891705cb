"""The loop over one LoopState: callback hooks and state, stop reasons, one seeding point,
the time-aware schedule, non-finite losses, range checks, checkpoint validation."""

from __future__ import annotations

import json
import math

import pytest
import torch

from rnnkit.errors import CheckpointError, ConfigError, NonFiniteLossError, RnnkitError
from rnnkit.train import (
    Callback,
    OptimConfig,
    RunDir,
    ScheduleConfig,
    ShuffledBatches,
    StepResult,
    TrainConfig,
    Trainer,
)
from rnnkit.train.callbacks import tensorboard_available
from rnnkit.train.checkpoint import _state_sha, list_checkpoints, load_checkpoint


def _data(toys, n=24):
    x, y = toys.classify_data(n)
    return ShuffledBatches((x, y), batch_size=6, seed=3), ShuffledBatches((x, y), batch_size=6, shuffle=False)


class Recorder(Callback):
    """Records the hooks; keeps a counter that must survive a resume."""

    def __init__(self):
        self.calls, self.steps_seen = [], 0

    def on_fit_start(self, trainer):
        self.calls.append("fit_start")

    def on_epoch_start(self, trainer, epoch):
        self.calls.append(f"epoch_start {epoch}")

    def on_step_end(self, trainer, info):
        self.steps_seen += 1
        self.calls.append(f"step {info.step}")

    def on_epoch_end(self, trainer, epoch, row):
        row["extra"] = 1.5  # a callback may add to the row before metrics.csv and the checkpoint see it
        self.calls.append(f"epoch_end {epoch}")

    def on_fit_end(self, trainer, result):
        self.calls.append(f"fit_end {result.stop_reason}")

    def state_dict(self):
        return {"steps_seen": self.steps_seen}

    def load_state_dict(self, state):
        self.steps_seen = state["steps_seen"]


def test_hooks_run_in_order_and_callback_state_survives_resume(tmp_path, toys):
    train, val = _data(toys)  # 4 batches per epoch
    torch.manual_seed(0)
    rec = Recorder()
    cfg = TrainConfig(epochs=3, max_steps=6, quiet=True)
    res = Trainer(toys.Classifier(), toys.ClassifyObjective(), cfg, tmp_path, callbacks=[rec]).fit(train, val)
    assert res.stop_reason == "max_steps" and res.global_step == 6
    assert rec.calls == ["fit_start", "epoch_start 0", "step 1", "step 2", "step 3", "step 4", "epoch_end 0",
                         "epoch_start 1", "step 5", "step 6", "epoch_end 1", "fit_end max_steps"]
    assert [r["extra"] for r in RunDir(tmp_path).read_metrics()] == ["1.5", "1.5"]
    rec2 = Recorder()
    res2 = Trainer(toys.Classifier(), toys.ClassifyObjective(), TrainConfig(epochs=3, quiet=True), tmp_path,
                   callbacks=[rec2]).fit(train, val, resume=True)
    assert rec2.calls[:3] == ["fit_start", "epoch_start 1", "step 7"]  # mid-epoch: batches 3-4 of epoch 2
    assert res2.global_step == 12 and rec2.steps_seen == 12
    # the cut epoch keeps its row (step 6), then the finished epoch 2 and epoch 3 follow
    assert [(r["epoch"], r["step"]) for r in res2.history] == [(1, 4), (2, 6), (2, 8), (3, 12)]
    assert len(RunDir(tmp_path).read_metrics()) == 4  # rewritten from the checkpoint's history, not doubled


def test_request_stop_from_a_callback_and_unknown_reason(toys):
    train, _ = _data(toys)

    class StopAt(Callback):
        def on_step_end(self, trainer, info):
            if info.step == 2:
                trainer.request_stop("early_stopping")

    t = Trainer(toys.Classifier(), toys.ClassifyObjective(), TrainConfig(epochs=3, quiet=True), callbacks=[StopAt()])
    res = t.fit(train)
    assert res.stop_reason == "early_stopping" and res.global_step == 2
    with pytest.raises(ConfigError, match=r"stop reason must be one of .*; got 'bored'"):
        t.request_stop("bored")


def test_fit_does_not_seed(toys):
    """One seeding point: the caller's. fit() with different train.seed values trains identically."""
    train, _ = _data(toys)
    out = []
    for seed in (1, 2):
        torch.manual_seed(0)
        model = toys.Classifier(p=0.3)
        Trainer(model, toys.ClassifyObjective(), TrainConfig(epochs=1, quiet=True, seed=seed)).fit(train)
        out.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert torch.equal(out[0], out[1])


def test_time_budget_drives_the_schedule_and_resume_restores_it(tmp_path, toys, monkeypatch):
    import rnnkit.train.trainer as trainer_module

    clock = [0.0]
    monkeypatch.setattr(trainer_module.time, "perf_counter", lambda: clock[0])
    lrs = []

    class Minute(Callback):  # every optimizer step takes one (fake) minute
        def on_step_end(self, trainer, info):
            clock[0] += 60.0
            lrs.append(info.lr)

    train, _ = _data(toys, 48)  # 8 steps per epoch, 80 over the 10 epochs: step progress stays small
    cfg = dict(epochs=10, quiet=True, max_minutes=10.0,
               optim=OptimConfig(lr=0.1), schedule=ScheduleConfig(name="cosine", warmup_steps=2))

    class CtrlCAt(Callback):
        def __init__(self, step):
            self.step = step

        def on_step_end(self, trainer, info):
            if info.step == self.step:
                trainer.request_stop()  # what Ctrl-C does

    def run(run_dir, resume=False, stop_at=None):
        torch.manual_seed(0)
        t = Trainer(toys.Classifier(), toys.ClassifyObjective(), TrainConfig(**cfg), run_dir,
                    callbacks=[Minute()] + ([CtrlCAt(stop_at)] if stop_at else []))
        return t, t.fit(train, resume=resume)

    t, res = run(tmp_path / "a")
    assert res.stop_reason == "max_time" and res.global_step == 10
    assert t.schedule.total_steps == 80 and t.schedule.budget_seconds == 600.0

    def expected(step):  # lr used by step `step` (1-based): the schedule after step-1 steps, elapsed (step-2) min
        k = step - 1
        warm = min(1.0, (k + 1) / 3)
        t_ = min(1.0, max(max(0, k - 2) / 78, 60.0 * max(k - 1, 0) / 600.0))
        return 0.1 * warm * 0.5 * (1 + math.cos(math.pi * t_))

    assert lrs == pytest.approx([expected(s) for s in range(1, 11)], rel=1e-9)
    assert lrs[-1] < 0.25 * lrs[2]  # a time-capped run still decays (steps alone: 10/80 done)
    # interrupted at step 6, then resumed: the same learning rates follow
    lrs.clear()
    clock[0] = 0.0
    assert run(tmp_path / "b", stop_at=6)[1].interrupted
    first = lrs[:]
    lrs.clear()
    clock[0] = 5000.0  # another process: its own clock; the spent time comes from the checkpoint
    _, rest = run(tmp_path / "b", resume=True)
    assert rest.stop_reason == "max_time" and rest.global_step == 10
    assert first + lrs == pytest.approx([expected(s) for s in range(1, 11)], rel=1e-12)


class NaNAt:
    """Classifier objective whose loss becomes NaN from call ``n`` on."""

    def __init__(self, toys, n):
        self.inner, self.n, self.calls = toys.ClassifyObjective(), n, 0

    def metrics(self):
        return self.inner.metrics()

    def __call__(self, model, batch, state):
        self.calls += 1
        res = self.inner(model, batch, state)
        if self.calls >= self.n:
            return StepResult(res.loss * float("nan"), res.weight, res.updates)
        return res


def test_non_finite_loss_stops_with_a_diagnosis_and_keeps_the_last_checkpoint(tmp_path, toys):
    train, _ = _data(toys, 48)  # 8 steps per epoch
    torch.manual_seed(0)
    model = toys.Classifier()
    cfg = TrainConfig(epochs=3, quiet=True, checkpoint_every_steps=4, log_every_steps=100)
    with pytest.raises(NonFiniteLossError) as info:
        Trainer(model, NaNAt(toys, 6), cfg, tmp_path).fit(train)
    msg = str(info.value)
    assert isinstance(info.value, RnnkitError)
    assert "became nan at step 6" in msg and "last finite loss 1." in msg and "gradient norm at that step nan" in msg
    assert "first non-finite parameter: rnn.weight_ih_l0" in msg and "step-00000004" in msg and "intact" in msg
    # found at the step-8 checkpoint, before writing it: the step-4 one is the last, and finite
    assert [p.name for p in list_checkpoints(tmp_path / "checkpoints")] == ["step-00000004"]
    c = load_checkpoint(tmp_path / "checkpoints" / "step-00000004")
    assert all(torch.isfinite(v).all() for v in c.model_state.values())
    assert all(torch.isfinite(v).all() for v in RunDir(tmp_path).load_weights().values())


@pytest.mark.parametrize("kwargs, message", [
    ({"max_steps": 0}, r"train\.max_steps must be an integer >= 1 or none; got 0"),
    ({"checkpoint_every_steps": -2}, r"train\.checkpoint_every_steps must be an integer >= 1 or none; got -2"),
    ({"early_stopping_patience": 0}, r"train\.early_stopping_patience must be an integer >= 1 or none; got 0"),
    ({"seed": -1}, r"train\.seed must be an integer in 0\.\.9223372036854775807 \(2\*\*63-1\); got -1"),
    ({"seed": 2**63}, r"train\.seed must be an integer in 0\.\.9223372036854775807 .*; got 9223372036854775808"),
    ({"max_minutes": float("inf")}, r"train\.max_minutes must be a finite number > 0 or none; got inf"),
    ({"max_minutes": -1.0}, r"train\.max_minutes must be a finite number > 0 or none; got -1\.0"),
    ({"optim": {"lr": float("nan")}}, r"train\.optim\.lr must be a finite number > 0; got nan"),
    ({"optim": {"lr": 0.0}}, r"train\.optim\.lr must be a finite number > 0; got 0\.0"),
    ({"optim": {"weight_decay": -0.1}}, r"train\.optim\.weight_decay must be a finite number >= 0; got -0\.1"),
])
def test_train_config_range_checks_name_key_range_and_value(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        if "optim" in kwargs:
            TrainConfig(optim=OptimConfig(**kwargs["optim"]))
        else:
            TrainConfig(**kwargs)


def _edit_state(path, edit):
    f = path / "trainer_state.json"
    doc = json.loads(f.read_text())
    edit(doc["state"])
    doc["manifest"]["trainer_state.json"]["state_sha256"] = _state_sha(doc["state"])
    f.write_text(json.dumps(doc))


def test_checkpoint_state_is_checksummed_and_every_field_validated(tmp_path, toys):
    train, _ = _data(toys)
    torch.manual_seed(0)
    Trainer(toys.Classifier(), toys.ClassifyObjective(), TrainConfig(epochs=1, quiet=True), tmp_path).fit(train)
    ck = list_checkpoints(tmp_path / "checkpoints")[-1]
    text = (ck / "trainer_state.json").read_text()
    (ck / "trainer_state.json").write_text(text.replace('"global_step": 4', '"global_step": 5'))
    with pytest.raises(CheckpointError, match=r"trainer_state\.json is corrupt: its state does not match the SHA-256"):
        load_checkpoint(ck)
    (ck / "trainer_state.json").write_text(text)

    def resume():
        Trainer(toys.Classifier(), toys.ClassifyObjective(), TrainConfig(epochs=2, quiet=True), tmp_path).fit(
            train, resume=True)

    for edit, message in [
        (lambda s: s["loop"].update(global_step=-1), r"field loop\.global_step must be an integer >= 0; got -1"),
        (lambda s: s["loop"].update(train_seconds="x"), r"field loop\.train_seconds must be a finite number >= 0"),
        (lambda s: s["loop"].pop("history"), r"field loop\.history is missing"),
        (lambda s: s["loop"].update(rng=[]), r"field loop\.rng must be a list of one entry per rank \(1\)"),
        (lambda s: s.pop("optimizer"), r"field optimizer is missing"),
        (lambda s: s["schedule"].update(steps="many"), r"field schedule cannot be restored \(ValueError"),
        (lambda s: s["loop"]["callbacks"]["EarlyStop"].update(bad_epochs=None),
         r"field EarlyStop cannot be restored \(TypeError"),
    ]:
        _edit_state(ck, edit)
        with pytest.raises(CheckpointError, match=r"step-00000004[/\\]trainer_state\.json: " + message):
            resume()
        (ck / "trainer_state.json").write_text(text)


@pytest.mark.skipif(not tensorboard_available(), reason="the tensorboard package is not installed "
                    "(pip install tensorboard to test the TensorBoard callback)")
def test_tensorboard_events_written(tmp_path, toys):
    train, val = _data(toys)
    Trainer(toys.Classifier(), toys.ClassifyObjective(), TrainConfig(epochs=2, quiet=True), tmp_path).fit(train, val)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "tensorboard"))
    acc.Reload()
    assert [e.step for e in acc.Scalars("val_loss")] == [4, 8]
