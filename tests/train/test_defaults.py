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
