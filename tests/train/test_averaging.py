"""train.ema_decay: the moving average of the weights, validated, kept as best, saved and resumed."""

from __future__ import annotations


import pytest
import torch
from torch import nn

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.train import OptimConfig, RunDir, ShuffledBatches, TrainConfig, Trainer
from rnnkit.train import checkpoint as ckpt
from rnnkit.train.averaging import WeightEMA, averaged_weights, warmed_decay

from .test_trainer import SigintAt


class Recorder:
    """Keeps the training weights after every optimizer step (float64 copies)."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []

    def on_step_end(self, trainer, info):
        self.steps.append({k: v.detach().double().clone() for k, v in trainer.module.state_dict().items()})


def _by_hand(start: dict[str, torch.Tensor], steps: list[dict[str, torch.Tensor]], decay: float):
    avg = {k: v.detach().double().clone() for k, v in start.items()}
    for n, weights in enumerate(steps, start=1):
        d = warmed_decay(decay, n)
        for k in avg:
            avg[k] = d * avg[k] + (1 - d) * weights[k]
    return avg


def test_warmed_decay_follows_tensorflow_and_saturates():
    assert warmed_decay(0.999, 1) == pytest.approx(2 / 11)
    assert warmed_decay(0.999, 90) == pytest.approx(91 / 100)
    assert warmed_decay(0.9, 1000) == 0.9


def test_weight_ema_equals_the_average_by_hand_and_swaps_back():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    ema = WeightEMA(model, 0.9)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    steps = []
    for _ in range(30):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        model(torch.randn(5, 3))  # moves the BatchNorm running stats (float buffers) and its counter
        steps.append({k: v.double().clone() for k, v in model.state_dict().items()})
        ema.update()
    want = _by_hand(start, steps, 0.9)
    got = ema.state()
    assert "1.num_batches_tracked" not in ema.names and torch.equal(got["1.num_batches_tracked"], torch.tensor(30))
    for k in ema.names:
        torch.testing.assert_close(got[k].double(), want[k], rtol=1e-5, atol=1e-5)
    trained = {k: v.clone() for k, v in model.state_dict().items()}
    with ema.swapped():
        assert all(torch.equal(model.state_dict()[k], got[k]) for k in ema.names)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in trained.items())


def test_weight_ema_state_dict_round_trip_and_refusals():
    model = nn.Linear(3, 2)
    ema = WeightEMA(model, 0.99)
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update()
    other = WeightEMA(nn.Linear(3, 2), 0.99)
    other.load_state_dict(ema.state_dict())
    assert other.updates == 1 and all(torch.equal(a, b) for a, b in zip(other.shadow, ema.shadow))
    with pytest.raises(ValueError, match=r"does not fit the model: missing \['weight'\]"):
        other.load_state_dict({"updates": 1, "shadow": {"bias": torch.zeros(2)}})
    with pytest.raises(ValueError, match=r"weight must have shape \(2, 3\); got \(3, 3\)"):
        other.load_state_dict({"updates": 1, "shadow": {"weight": torch.zeros(3, 3), "bias": torch.zeros(2)}})
    with pytest.raises(ValueError, match=r"'updates' \(an integer >= 0\)"):
        other.load_state_dict({"updates": -1, "shadow": {}})
    with pytest.raises(ValueError, match=r"naming entries of the model's weights"):
        averaged_weights(model.state_dict(), {"shadow": {"nope": torch.zeros(1)}})


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, True, "0.9"])
def test_ema_decay_out_of_range_is_refused(bad):
    with pytest.raises(ConfigError, match=r"train\.ema_decay must be a number between 0 and 1 \(exclusive\), "
                                          rf"such as 0\.999, or none; got {bad!r}"):
        TrainConfig(ema_decay=bad)


def _fit(toys, run_dir, callbacks=(), resume=False, init_seed=0, **cfg):
    torch.manual_seed(init_seed)
    model = toys.Classifier(p=0.3)
    x, y = toys.classify_data()
    train = ShuffledBatches((x, y), batch_size=6, shuffle=True, seed=3)  # 8 batches per epoch
    val = ShuffledBatches((x[:12], y[:12]), batch_size=6, shuffle=False)
    config = TrainConfig(**{"epochs": 3, "quiet": True, "ema_decay": 0.9, "optim": OptimConfig(name="adam", lr=0.05),
                            **cfg})
    trainer = Trainer(model, toys.ClassifyObjective(), config, run_dir=run_dir, callbacks=callbacks)
    return model, trainer, trainer.fit(train, val, resume=resume), val


def test_fit_validates_and_ends_with_the_average(tmp_path, toys):
    torch.manual_seed(0)
    start = {k: v.clone() for k, v in toys.Classifier(p=0.3).state_dict().items()}
    rec = Recorder()
    model, trainer, res, val = _fit(toys, tmp_path, callbacks=[rec])
    assert res.stop_reason == "completed" and len(rec.steps) == 24
    want = _by_hand(start, rec.steps, 0.9)
    for k, v in model.state_dict().items():  # the module ends holding the average
        torch.testing.assert_close(v.double(), want[k], rtol=1e-5, atol=1e-6)
    assert not torch.equal(model.state_dict()["head.weight"], rec.steps[-1]["head.weight"].float())
    # the last epoch's validation scored the average: evaluating the final module gives the same row
    last = trainer.evaluate(val)
    assert last["loss"] == pytest.approx(res.history[-1]["val_loss"], rel=1e-6)
    saved = RunDir(tmp_path).load_weights()
    assert all(torch.equal(saved[k], v) for k, v in model.state_dict().items())
    # the checkpoint keeps the training weights and the average beside them
    c = ckpt.load_latest(RunDir(tmp_path).checkpoints_dir)
    torch.testing.assert_close(c.model_state["head.weight"].double(), rec.steps[-1]["head.weight"])
    assert c.trainer_state["average"]["updates"] == 24
    assert all(torch.equal(averaged_weights(c.model_state, c.trainer_state["average"])[k], v)
               for k, v in model.state_dict().items())


def test_restore_best_keeps_the_best_epochs_average(tmp_path, toys):
    rec = Recorder()

    class AverageAtEpochEnd:
        def __init__(self):
            self.states = []

        def on_epoch_end(self, trainer, epoch, row):
            self.states.append(trainer.deliverable_state())

    seen = AverageAtEpochEnd()
    model, _, res, _ = _fit(toys, tmp_path, callbacks=[rec, seen], epochs=4, monitor="val_loss", restore_best=True)
    best = min(range(4), key=lambda i: res.history[i]["val_loss"])
    assert all(torch.equal(seen.states[best][k], v) for k, v in model.state_dict().items())
    assert all(torch.equal(RunDir(tmp_path).load_weights("best.safetensors")[k], v)
               for k, v in model.state_dict().items())


def test_resume_continues_weights_and_average_exactly(tmp_path, toys):
    straight, _, res, _ = _fit(toys, tmp_path / "a")
    _, _, part, _ = _fit(toys, tmp_path / "b", callbacks=[SigintAt(11)])
    assert part.interrupted
    # interrupted: model.safetensors holds the average so far, the checkpoint the training weights
    c = ckpt.load_latest(RunDir(tmp_path / "b").checkpoints_dir)
    saved = RunDir(tmp_path / "b").load_weights()
    assert all(torch.equal(saved[k], v) for k, v in averaged_weights(c.model_state, c.trainer_state["average"]).items())
    resumed, _, rest, _ = _fit(toys, tmp_path / "b", init_seed=99, resume=True)
    assert rest.global_step == res.global_step == 24
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name
    assert [r["val_loss"] for r in rest.history] == [r["val_loss"] for r in res.history]


def test_resume_without_a_saved_average_warns_and_restarts_it(tmp_path, toys, caplog):
    _fit(toys, tmp_path, callbacks=[SigintAt(5)], ema_decay=None)
    with caplog.at_level("WARNING", logger="rnnkit.train"):
        _, trainer, res, _ = _fit(toys, tmp_path, resume=True)
    assert "holds no weight average (train.ema_decay was not set when it was written)" in caplog.text
    assert res.stop_reason == "completed" and trainer.average.updates == 24 - 5


def test_damaged_average_in_a_checkpoint_is_named(tmp_path, toys):
    _fit(toys, tmp_path, callbacks=[SigintAt(5)])
    c = ckpt.load_latest(RunDir(tmp_path).checkpoints_dir)
    state = dict(c.trainer_state)
    state["average"] = {"decay": 0.9, "updates": 5, "shadow": {"head.weight": torch.zeros(2, 2)}}
    ckpt.save_checkpoint(RunDir(tmp_path).checkpoints_dir, 6, c.model_state, state)
    with pytest.raises(CheckpointError, match=r"trainer_state\.json: field average cannot be restored "
                                              r"\(ValueError: the weight average does not fit the model"):
        _fit(toys, tmp_path, resume=True)
