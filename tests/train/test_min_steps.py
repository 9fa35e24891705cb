"""train.epochs = none: 10 epochs or at least train.min_steps optimizer steps (small sets train longer);
explicit epochs are exact; early stopping waits for min_steps; a finished run is recognised."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.tasks.runner import finished_reason
from rnnkit.train import ShuffledBatches, TrainConfig, Trainer
from rnnkit.train.loop_state import LoopState


def test_planned_epochs():
    cfg = TrainConfig(min_steps=100)
    assert cfg.epochs is None
    assert cfg.planned_epochs(None) == 10  # unknown epoch length: 10 epochs
    assert cfg.planned_epochs(50) == 10  # 500 steps already
    assert cfg.planned_epochs(3) == 34  # ceil(100 / 3)
    assert TrainConfig(epochs=2, min_steps=100).planned_epochs(3) == 2  # explicit epochs are exact


@pytest.mark.parametrize("value", [0, -1, 1.5, None, True])
def test_min_steps_range(value):
    with pytest.raises(ConfigError, match=rf"train.min_steps must be an integer >= 1; got {value!r}"):
        TrainConfig(min_steps=value)


def _fit(toys, tmp_path, **cfg):
    torch.manual_seed(0)
    x, y = toys.classify_data(n=12)
    train = ShuffledBatches((x, y), batch_size=6, shuffle=True, seed=3)  # 2 steps per epoch
    val = ShuffledBatches((x[:6], y[:6]), batch_size=6, shuffle=False)
    config = TrainConfig(**{"quiet": True, **cfg})
    return Trainer(toys.Classifier(p=0.0), toys.ClassifyObjective(), config, run_dir=tmp_path).fit(train, val)


def test_small_set_trains_min_steps(toys, tmp_path):
    res = _fit(toys, tmp_path / "a", min_steps=31)
    assert res.stop_reason == "completed" and res.global_step == 32 and len(res.history) == 16
    exact = _fit(toys, tmp_path / "b", epochs=3, min_steps=31)
    assert exact.global_step == 6 and len(exact.history) == 3


def test_early_stopping_waits_for_min_steps(toys, tmp_path):
    # lr 0: the validation loss never improves after epoch 1, so patience 1 would stop at epoch 3
    from rnnkit.train import OptimConfig

    res = _fit(toys, tmp_path / "a", min_steps=20, early_stopping_patience=1, optim=OptimConfig(lr=1e-12))
    assert res.stop_reason == "early_stopping" and res.global_step == 20
    res = _fit(toys, tmp_path / "b", epochs=30, early_stopping_patience=1, optim=OptimConfig(lr=1e-12))
    assert res.stop_reason == "early_stopping" and res.global_step < 20


def test_finished_reason_counts_min_steps():
    class Cfg:
        train = TrainConfig(min_steps=100)

    assert finished_reason(Cfg, LoopState(epoch=10, global_step=20)) is None  # 10 epochs but not 100 steps
    assert finished_reason(Cfg, LoopState(epoch=50, global_step=100)) == "completed"
    Cfg.train = TrainConfig(epochs=10)
    assert finished_reason(Cfg, LoopState(epoch=10, global_step=20)) == "completed"
    early = {"EarlyStop": {"best": 1.0, "best_epoch": 0, "bad_epochs": 5}}
    Cfg.train = TrainConfig(min_steps=100, early_stopping_patience=2)
    assert finished_reason(Cfg, LoopState(epoch=6, global_step=60, callbacks=early)) is None  # waits for min_steps
    assert finished_reason(Cfg, LoopState(epoch=6, global_step=100, callbacks=early)) == "early_stopping"
