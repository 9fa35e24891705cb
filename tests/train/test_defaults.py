"""The untuned defaults chosen by benchmarks/defaults.py, and that `rnnkit config` shows them."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models.sequence_classifier import SequenceClassifierConfig, SequenceRegressorConfig
from rnnkit.nn import Recurrent
from rnnkit.tasks.config_doc import render_config
from rnnkit.tasks.configs import load_run_config
from rnnkit.tasks.forecast import ForecastData
from rnnkit.train import TrainConfig


def test_lstm_forget_gate_bias_starts_at_one():
    torch.manual_seed(0)
    r = Recurrent("lstm", 3, 4, num_layers=2, bidirectional=True)
    for name in r._flat_weight_names:
        if name.startswith("bias_ih"):
            assert torch.equal(getattr(r, name)[4:8], torch.ones(4)), name
        elif name.startswith("bias_hh"):
            assert torch.equal(getattr(r, name)[4:8], torch.zeros(4)), name
    other = getattr(r, "bias_ih_l0")[:4]  # the input gate keeps torch's U(-1/sqrt(H), 1/sqrt(H))
    assert bool((other.abs() <= 0.5).all()) and not torch.equal(other, torch.ones(4))
    gru = Recurrent("gru", 3, 4)
    assert not torch.equal(gru.bias_ih_l0[4:8], torch.ones(4))  # GRU: untouched


def test_default_values():
    assert TrainConfig().epochs is None and TrainConfig().min_steps == 1000
    # by input kind: text (token ids) mean-pooled with dropout 0.5, features max-pooled without dropout
    text, feats = SequenceClassifierConfig(vocab_size=5), SequenceClassifierConfig(input_size=2)
    assert (text.pooling, text.dropout, text.hidden_size, text.embedding_dim) == ("mean", 0.5, 100, 100)
    assert (feats.pooling, feats.dropout, feats.hidden_size, feats.embedding_dim) == ("max", 0.0, 64, None)
    assert SequenceClassifierConfig(vocab_size=5, pretrained_embeddings="v.txt").embedding_dim is None  # the file's
    assert (SequenceClassifierConfig().pooling, SequenceClassifierConfig().dropout) == (None, None)  # deferred
    given = SequenceClassifierConfig(vocab_size=5, pooling="last", dropout=0.0)
    assert (given.pooling, given.dropout) == ("last", 0.0)
    assert SequenceRegressorConfig(input_size=2).pooling == "last"  # forecasts and regression read the last step
    assert ForecastData().relative is True


def test_rnnkit_config_shows_them():
    text = render_config(load_run_config("classify"))
    assert "# epochs = none  # int or none; default none" in text
    assert "min_steps = 1000  # int; default 1000" in text
    assert "# pooling = none  # one of 'last', 'mean', 'max', 'attention', 'flatten' or none; default none" in text
    assert "# restore_best = none  # bool or none; default none" in text


def test_restore_best_none_is_on_from_100_validation_examples():
    cfg = TrainConfig()
    assert cfg.restore_best is None
    assert [cfg.restore_best_for(n) for n in (None, 0, 5, 99, 100, 5000)] == [False, False, False, False, True, True]
    assert TrainConfig(restore_best=False).restore_best_for(5000) is False
    assert TrainConfig(restore_best=True).restore_best_for(None) is True
    assert "relative = true" in render_config(load_run_config("forecast"))


def test_monitor_none_is_the_tasks_metric_and_its_mode_comes_from_the_name():
    from rnnkit.tasks import get_task
    from rnnkit.train.train_config import mode_of

    assert (TrainConfig().monitor, TrainConfig().monitor_mode) == (None, None)
    assert (TrainConfig().monitored, TrainConfig().mode) == ("val_loss", "min")  # a Trainer on its own
    assert get_task("classify").monitor == "val_accuracy"
    assert {get_task(t).monitor for t in ("tag", "lm", "seq2seq", "forecast", "regress")} == {"val_loss"}
    names = ["val_loss", "val_accuracy", "val_macro_f1", "val_f1", "val_bleu", "val_mse_orig", "val_mae", "val_ppl",
             "val_errors", "train_nll", "val_Token_Accuracy", "val_foo", "val_loss_accuracy"]
    assert [mode_of(n) for n in names] == ["min", "max", "max", "max", "max", "min", "min", "min",
                                           "min", "min", "max", None, None]
    assert TrainConfig(monitor="val_accuracy").mode == "max"  # a user naming an accuracy no longer gets "min"
    assert TrainConfig(monitor="val_accuracy", monitor_mode="min").mode == "min"  # a set mode is kept
    with pytest.raises(ConfigError, match=r"train.monitor_mode = none cannot tell from the name whether "
                                          r"train.monitor='val_foo' is better high or low; set train.monitor_mode"):
        TrainConfig(monitor="val_foo")
    assert TrainConfig(monitor="val_foo", monitor_mode="max").mode == "max"
    with pytest.raises(ConfigError, match=r"train.monitor must be a metric name such as 'val_loss' or none; got ''"):
        TrainConfig(monitor="")
    assert "# monitor = none  # str or none; default none" in render_config(load_run_config("classify"))


def test_plateau_follows_the_monitored_direction():
    from rnnkit.train.optim import LRSchedule, ScheduleConfig

    def lr_after(values, mode, schedule_mode=None):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        sched = LRSchedule(opt, ScheduleConfig(name="plateau", patience=0, mode=schedule_mode), mode=mode)
        for v in values:
            sched.epoch_end(v)
        return opt.param_groups[0]["lr"]

    rising = [0.5, 0.6, 0.7, 0.8]
    assert lr_after(rising, "max") == 1.0  # an accuracy that climbs never decays the lr
    assert lr_after(rising, "min") == 0.5 ** 3  # read as a loss, every epoch is worse
    assert lr_after(rising, "max", schedule_mode="min") == 0.5 ** 3  # the schedule's own mode wins
