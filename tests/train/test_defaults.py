"""The untuned defaults chosen by benchmarks/defaults.py, and that `rnnkit config` shows them."""

from __future__ import annotations

import torch

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
    assert SequenceClassifierConfig(vocab_size=5).pooling == "max"
    assert SequenceRegressorConfig(input_size=2).pooling == "last"  # forecasts and regression read the last step
    assert ForecastData().relative is True


def test_rnnkit_config_shows_them():
    text = render_config(load_run_config("classify"))
    assert "# epochs = none  # int or none; default none" in text
    assert "min_steps = 1000  # int; default 1000" in text
    assert 'pooling = "max"' in text
    assert "relative = true" in render_config(load_run_config("forecast"))
