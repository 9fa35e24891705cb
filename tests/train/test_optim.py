"""Optimizers and learning-rate schedules."""

from __future__ import annotations

import math

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.train.optim import OptimConfig, ScheduleConfig, build_optimizer, build_schedule


def _params():
    return [torch.nn.Parameter(torch.ones(3))]


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                       ("sgd", torch.optim.SGD), ("rmsprop", torch.optim.RMSprop)])
def test_build_optimizer(name, cls):
    opt = build_optimizer(_params(), OptimConfig(name=name, lr=0.1, weight_decay=0.01, momentum=0.8))
    assert isinstance(opt, cls) and opt.param_groups[0]["lr"] == 0.1
    assert opt.param_groups[0]["weight_decay"] == 0.01
    if name in ("sgd", "rmsprop"):
        assert opt.param_groups[0]["momentum"] == 0.8


def test_optim_config_errors():
    with pytest.raises(ConfigError, match=r"train\.optim\.lr must be a finite number > 0; got 0"):
        OptimConfig(lr=0)
    with pytest.raises(ConfigError, match=r"optim\.betas must be two numbers in \[0, 1\); got \[0\.9\]"):
        OptimConfig(betas=[0.9])
    with pytest.raises(ConfigError, match="needs the run's total number of steps .* or train.max_minutes"):
        build_schedule(build_optimizer(_params(), OptimConfig()), ScheduleConfig(name="cosine"))


def test_warmup_then_cosine():
    opt = build_optimizer(_params(), OptimConfig(lr=1.0))
    s = build_schedule(opt, ScheduleConfig(name="cosine", warmup_steps=4, min_lr_ratio=0.1), total_steps=14)
    lrs = [s.get_last_lr()[0]]
    for _ in range(14):
        s.step()
        lrs.append(s.get_last_lr()[0])
    assert lrs[:5] == pytest.approx([0.2, 0.4, 0.6, 0.8, 1.0])  # linear warm-up
    assert lrs[9] == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))  # half way down
    assert lrs[14] == pytest.approx(0.1)


def test_step_and_plateau_and_state_round_trip():
    opt = build_optimizer(_params(), OptimConfig(lr=1.0))
    s = build_schedule(opt, ScheduleConfig(name="step", step_epochs=2, gamma=0.1))
    lrs = []
    for _ in range(5):
        s.epoch_end()
        lrs.append(s.get_last_lr()[0])
    assert lrs == pytest.approx([1.0, 0.1, 0.1, 0.01, 0.01])

    opt = build_optimizer(_params(), OptimConfig(lr=1.0))
    s = build_schedule(opt, ScheduleConfig(name="plateau", patience=1, factor=0.5, min_lr=0.3))
    lrs = []
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]:
        s.epoch_end(metric)
        lrs.append(s.get_last_lr()[0])
    assert lrs == pytest.approx([1.0, 1.0, 1.0, 0.5, 0.5, 0.3, 0.3, 0.3])  # floor at min_lr
    opt2 = build_optimizer(_params(), OptimConfig(lr=1.0))
    s2 = build_schedule(opt2, ScheduleConfig(name="plateau", patience=1, factor=0.5, min_lr=0.3))
    s2.load_state_dict(s.state_dict())
    assert s2.get_last_lr() == s.get_last_lr() and s2.state_dict() == s.state_dict()


def test_a_second_schedule_on_the_same_optimizer_keeps_the_configured_lr():
    """The Trainer builds a schedule at construction and again in fit(); the warm-up
    factor applied by the first must not shrink the base lr of the second."""
    import torch

    from rnnkit.train.optim import LRSchedule, OptimConfig, ScheduleConfig, build_optimizer

    opt = build_optimizer(torch.nn.Linear(2, 1).parameters(), OptimConfig(name="adam", lr=3e-3))
    cfg = ScheduleConfig(name="cosine", warmup_steps=5)
    LRSchedule(opt, cfg, total_steps=60)  # applies the first warm-up factor, 1/6
    second = LRSchedule(opt, cfg, total_steps=60)
    for _ in range(5):
        second.step()
    assert abs(opt.param_groups[0]["lr"] - 3e-3) < 1e-12  # warm-up done: the full configured lr
