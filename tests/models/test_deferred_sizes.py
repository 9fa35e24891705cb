"""A recipe's model section may leave data-derived sizes unset; the model build checks them."""

from __future__ import annotations

import pytest

from rnnkit.errors import ConfigError
from rnnkit.models import LanguageModel, LanguageModelConfig, SequenceClassifierConfig


def test_unset_data_size_defers_validation_until_the_model_is_built():
    cfg = LanguageModelConfig(hidden_size=16)  # vocab_size comes from the data later
    assert cfg.deferred
    with pytest.raises(ConfigError, match=r"LanguageModelConfig.vocab_size must be a positive integer; got None"):
        LanguageModel(cfg)
    cfg.vocab_size = 7
    assert not cfg.deferred
    assert LanguageModel(cfg).config.vocab_size == 7


def test_deferred_config_still_checks_what_it_can_at_build():
    cfg = SequenceClassifierConfig(cell="lstm")
    assert cfg.deferred  # neither vocab_size nor input_size yet
    cfg.cell = "transformer"
    cfg.input_size = 3
    with pytest.raises(ConfigError, match=r"cell must be one of 'rnn', 'lstm', 'gru', 'mingru', 'minlstm'; got 'transformer'"):
        cfg.validate()


def test_complete_config_is_validated_at_construction():
    with pytest.raises(ConfigError, match=r"tie_weights=True needs hidden_size == embedding_dim"):
        LanguageModelConfig(vocab_size=5, hidden_size=8, embedding_dim=4, tie_weights=True)
