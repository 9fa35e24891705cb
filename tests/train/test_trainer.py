"""Trainer: exact resume, TBPTT state handling, clipping, accumulation, early stopping, outputs."""

from __future__ import annotations

import os
import signal

import pytest
import torch

from rnnkit.data import LMBatches

from rnnkit.errors import ConfigError
from rnnkit.train import (
    OptimConfig,
    RunDir,
    ScheduleConfig,
    ShuffledBatches,
    TrainConfig,
    Trainer,
)


class SigintAt:
    """Sends a real Ctrl-C (SIGINT) to this process after optimizer step ``step``."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer, info):
        if info.step == self.step:
            os.kill(os.getpid(), signal.SIGINT)


class RaiseAt:
    """Wraps an objective; raises KeyboardInterrupt in the middle of call number ``n``."""

    def __init__(self, objective, n: int) -> None:
        self.objective, self.n, self.calls = objective, n, 0

    def metrics(self):
        return self.objective.metrics()

    def __call__(self, model, batch, state):
        self.calls += 1
        res = self.objective(model, batch, state)  # the forward ran (and drew dropout masks)
        if self.calls == self.n:
            raise KeyboardInterrupt
        return res


def _classify_run(toys, run_dir, init_seed=0, callbacks=(), resume=False, **cfg):
    torch.manual_seed(init_seed)
    model = toys.Classifier(p=0.3)
    x, y = toys.classify_data()
    train = ShuffledBatches((x, y), batch_size=6, shuffle=True, seed=3)  # 8 batches per epoch
    val = ShuffledBatches((x[:12], y[:12]), batch_size=6, shuffle=False)
    config = TrainConfig(**{"epochs": 3, "quiet": True, "seed": 5, "clip_norm": 1.0,
                            "optim": OptimConfig(name="adamw", lr=0.02, weight_decay=0.01),
                            "schedule": ScheduleConfig(name="cosine", warmup_steps=3), **cfg})
    trainer = Trainer(model, toys.ClassifyObjective(), config, run_dir=run_dir, callbacks=callbacks)
    return model, trainer.fit(train, val, resume=resume)


def test_exact_resume_after_sigint_mid_epoch(tmp_path, toys):
    straight, res = _classify_run(toys, tmp_path / "a")
    assert res.stop_reason == "completed" and res.global_step == 24

    _, part = _classify_run(toys, tmp_path / "b", callbacks=[SigintAt(11)])  # epoch 2, batch 3 of 8
    assert part.interrupted and part.global_step == 11 and part.checkpoint.name == "step-00000011"
    resumed, rest = _classify_run(toys, tmp_path / "b", init_seed=99, resume=True)  # other init: weights must load
    assert rest.stop_reason == "completed" and rest.global_step == 24
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    # the epoch sums survived too: the interrupted epoch's train loss is the same number
    assert [r["train_loss"] for r in rest.history] == [r["train_loss"] for r in res.history]
    assert [r["val_accuracy"] for r in rest.history] == [r["val_accuracy"] for r in res.history]
    assert len(RunDir(tmp_path / "b").read_metrics()) == 3


def test_exact_resume_tbptt_with_accumulation_and_mid_step_interrupt(tmp_path, toys):
    def run(run_dir, objective, init_seed=0, resume=False):
        torch.manual_seed(init_seed)
        model = toys.CharLM(p=0.2)
        streams = LMBatches(toys.token_stream().numpy(), batch_size=toys.B, seq_len=toys.T)  # 27 chunks
        cfg = TrainConfig(epochs=2, quiet=True, grad_accum=2, clip_value=0.5, seed=1,
                          optim=OptimConfig(name="rmsprop", lr=0.01, momentum=0.5),
                          schedule=ScheduleConfig(name="step", step_epochs=1, gamma=0.5))
        return model, Trainer(model, objective, cfg, run_dir=run_dir).fit(streams, resume=resume)

    straight, res = run(tmp_path / "a", toys.LMObjective())
    assert res.global_step == 28  # 14 steps per epoch: the 27th chunk makes a partial step
    _, part = run(tmp_path / "b", RaiseAt(toys.LMObjective(), 18))  # 2nd micro-batch of step 9... of epoch 1
    assert part.interrupted and part.global_step == 8
    resumed, rest = run(tmp_path / "b", toys.LMObjective(), init_seed=7, resume=True)
    assert rest.global_step == 28
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert rest.history[-1]["train_nll"] == res.history[-1]["train_nll"]


def test_tbptt_state_carried_detached_and_reset_each_epoch(toys):
    torch.manual_seed(0)
    model = toys.CharLM(p=0.0)
    tokens = toys.token_stream()
    streams = LMBatches(tokens.numpy(), batch_size=toys.B, seq_len=toys.T)
    n = len(streams)

    returned = []

    class Recording(toys.LMObjective):
        def __call__(self, model, batch, state):
            res = super().__call__(model, batch, state)
            returned.append(res.state)
            assert res.state[0].requires_grad  # the model's own state still has a graph
            return res

    objective = Recording()
    Trainer(model, objective, TrainConfig(epochs=2, quiet=True)).fit(streams)
    seen = objective.seen_states
    assert len(seen) == 2 * n
    assert seen[0] is None and seen[n] is None  # reset at every epoch start
    for k in list(range(1, n)) + list(range(n + 1, 2 * n)):
        h, c = seen[k]
        assert not h.requires_grad and h.grad_fn is None and not c.requires_grad  # cut at the boundary
        assert torch.equal(h, returned[k - 1][0].detach())  # ...but the values are carried


def test_gradient_clipping_logs_pre_clip_norm_and_clips(toys):
    x, y = toys.classify_data(12)
    for kind, limit in (("clip_norm", 1e-3), ("clip_value", 1e-4)):
        torch.manual_seed(0)
        model = toys.Classifier(p=0.0)
        before = [p.detach().clone() for p in model.parameters()]
        norms = []

        class Log:
            def on_step_end(self, trainer, info):
                norms.append(float(info.grad_norm))

        cfg = TrainConfig(epochs=1, quiet=True, **{kind: limit}, optim=OptimConfig(name="sgd", lr=1.0, momentum=0.0))
        res = Trainer(model, toys.ClassifyObjective(), cfg, callbacks=[Log()]).fit([(x, y)])
        delta = [p.detach() - b for p, b in zip(model.parameters(), before)]  # = -clipped grad (lr 1)
        assert norms[0] > 10 * limit  # the logged norm is the one before clipping
        assert res.history[0]["grad_norm"] == pytest.approx(norms[0])
        if kind == "clip_norm":
            assert torch.cat([d.flatten() for d in delta]).norm() == pytest.approx(limit, rel=1e-3)
        else:
            assert max(float(d.abs().max()) for d in delta) == pytest.approx(limit, rel=1e-3)


def test_gradient_accumulation_equals_the_big_batch(toys):
    x, y = toys.classify_data(24)
    out = []
    for bs, accum in ((12, 1), (6, 2)):
        torch.manual_seed(0)
        model = toys.Classifier(p=0.0)
        cfg = TrainConfig(epochs=2, quiet=True, grad_accum=accum, optim=OptimConfig(name="sgd", lr=0.1))
        Trainer(model, toys.ClassifyObjective(), cfg).fit(ShuffledBatches((x, y), bs, seed=4))
        out.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    torch.testing.assert_close(out[0], out[1], rtol=1e-5, atol=1e-6)


def test_early_stopping_restore_best_and_run_dir(tmp_path, toys):
    x, y = toys.classify_data(24)
    cfg = TrainConfig(epochs=10, quiet=True, monitor="val_accuracy", monitor_mode="max",
                      early_stopping_patience=1, early_stopping_min_delta=2.0, restore_best=True)
    torch.manual_seed(0)
    model = toys.Classifier()
    res = Trainer(model, toys.ClassifyObjective(), cfg, run_dir=tmp_path).fit(
        ShuffledBatches((x, y), 6), ShuffledBatches((x, y), 6, shuffle=False))
    assert res.stop_reason == "early_stopping" and len(res.history) == 3  # epochs 2 and 3 cannot beat +2.0
    run = RunDir(tmp_path)
    best = run.load_weights("best.safetensors")
    assert all(torch.equal(best[k], v) for k, v in model.state_dict().items())  # ended on epoch 1's weights
    assert all(torch.equal(run.load_weights()[k], v) for k, v in model.state_dict().items())
    rows = run.read_metrics()
    assert list(rows[0])[:3] == ["epoch", "step", "lr"] and "val_accuracy" in rows[0] and "grad_norm" in rows[0]
    assert not (tmp_path / "tensorboard").exists() or __import__("importlib").util.find_spec("tensorboard")
    with pytest.raises(ConfigError, match=r"train\.monitor='val_f1' is not a logged metric; choose one of .*val_accuracy"):
        Trainer(toys.Classifier(), toys.ClassifyObjective(),
                TrainConfig(epochs=1, quiet=True, monitor="val_f1", early_stopping_patience=1)).fit(
            [(x, y)], [(x, y)])
    with pytest.raises(ConfigError, match=r"train\.monitor='val_accuracy' is not a logged metric \(there is no "
                                          r"validation split: give one \(--val, or data\.val_fraction > 0 in a task "
                                          r"run\)\); choose one of lr, train_loss"):
        Trainer(toys.Classifier(), toys.ClassifyObjective(),
                TrainConfig(epochs=1, quiet=True, monitor="val_accuracy", restore_best=True)).fit([(x, y)])


def test_evaluate_predict_bf16_and_quiet_output(toys, capfd):
    x, y = toys.classify_data(12)
    torch.manual_seed(0)

    class MeanPool(torch.nn.Module):  # torch's CPU LSTM kernel (oneDNN) refuses bf16 autocast
        def __init__(self):
            super().__init__()
            self.head = torch.nn.Linear(toys.D, toys.C)

        def forward(self, x):
            return self.head(x.mean(1))

    trainer = Trainer(MeanPool(), toys.ClassifyObjective(), TrainConfig(epochs=1, precision="bf16"))
    res = trainer.fit([(x[:6], y[:6]), (x[6:], y[6:])])
    assert torch.isfinite(torch.tensor(res.history[0]["train_loss"]))
    out = capfd.readouterr()
    # not a TTY: no progress bar, one log line per epoch (and one per 30 s of training) on stderr
    assert out.out == "" and out.err.startswith("[rnnkit] epoch 1/1 done at step 2") and out.err.count("\n") == 1
    ev = trainer.evaluate([(x, y)])
    assert set(ev) == {"loss", "accuracy"} and 0 <= ev["accuracy"] <= 1
    pred = trainer.predict([(x[:5], y[:5]), (x[5:], y[5:])])
    assert [p.shape for p in pred] == [(5,), (7,)]


def test_train_config_errors():
    with pytest.raises(ConfigError, match=r"train\.grad_accum must be an integer >= 1; got 0"):
        TrainConfig(grad_accum=0)
    with pytest.raises(ConfigError, match=r"train\.clip_norm must be a finite number > 0 or none; got -1"):
        TrainConfig(clip_norm=-1.0)


def test_dataloader_batch_sampler_gets_set_epoch_and_batch_objects_move(toys):
    from torch.utils.data import DataLoader, TensorDataset

    from rnnkit.train.trainer import _set_epoch, _to_device

    class Sampler:
        epoch = None

        def set_epoch(self, e):
            self.epoch = e

        def __iter__(self):
            return iter([[0, 1], [2]])

        def __len__(self):
            return 2

    loader = DataLoader(TensorDataset(torch.arange(3)), batch_sampler=Sampler())
    _set_epoch(loader, 4)
    assert loader.batch_sampler.epoch == 4

    class Batch:
        def __init__(self, t):
            self.t = t

        def to(self, device, non_blocking=False):
            return Batch(self.t.to(device))

    moved = _to_device({"b": Batch(torch.ones(2))}, torch.device("cpu"))
    assert isinstance(moved["b"], Batch) and torch.equal(moved["b"].t, torch.ones(2))


def test_max_minutes_stops_validates_and_carries_the_budget_across_resume(tmp_path, toys, monkeypatch):
    import rnnkit.train.trainer as trainer_module

    clock = [0.0]
    monkeypatch.setattr(trainer_module.time, "perf_counter", lambda: clock[0])

    class Minute:  # every optimizer step takes one (fake) minute
        def on_step_end(self, trainer, info):
            clock[0] += 60.0

    _, res = _classify_run(toys, tmp_path / "a", callbacks=[Minute()], max_minutes=5.5)
    assert res.stop_reason == "max_time" and res.global_step == 6  # 6 min >= 5.5 at the 6th step boundary
    assert len(res.history) == 1 and "val_accuracy" in res.history[0]  # the cut epoch is still validated
    clock[0] = 1000.0  # a new process: its own clock, the budget comes from the checkpoint
    _, rest = _classify_run(toys, tmp_path / "a", callbacks=[Minute()], max_minutes=8.5, resume=True)
    assert rest.stop_reason == "max_time" and rest.global_step == 9


def test_max_minutes_must_be_positive():
    with pytest.raises(ConfigError, match=r"train\.max_minutes must be a finite number > 0 or none; got 0"):
        TrainConfig(max_minutes=0)
