"""Models by name, so a recipe or run directory can say ``model = "seq2seq"`` plus a
config table and get the model back."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rnnkit.errors import ConfigError
from rnnkit.models.base import Model
from rnnkit.models.conditional import ConditionalGenerator
from rnnkit.models.config import ModelConfig
from rnnkit.models.feedforward import FeedForward
from rnnkit.models.language_model import LanguageModel
from rnnkit.models.seq2seq import Seq2Seq
from rnnkit.models.sequence_classifier import SequenceClassifier, SequenceRegressor
from rnnkit.models.tagger import SequenceTagger

__all__ = ["MODELS", "build_model", "model_name", "config_from_dict"]

MODELS: dict[str, type[Model]] = {
    "feedforward": FeedForward,
    "sequence_classifier": SequenceClassifier,
    "sequence_regressor": SequenceRegressor,
    "tagger": SequenceTagger,
    "language_model": LanguageModel,
    "conditional_generator": ConditionalGenerator,
    "seq2seq": Seq2Seq,
}


def _lookup(name: str) -> type[Model]:
    if name not in MODELS:
        raise ConfigError(f"model must be one of {', '.join(MODELS)}; got {name!r}")
    return MODELS[name]


def config_from_dict(name: str, data: Mapping[str, Any]) -> ModelConfig:
    """The config of model ``name`` from its ``to_dict()`` form."""
    return _lookup(name).config_class.from_dict(data)


def build_model(name: str, config: ModelConfig | Mapping[str, Any]) -> Model:
    """Build model ``name`` from a config object or dict."""
    return _lookup(name).from_config(config)


def model_name(model: Model) -> str:
    """The registry name of ``model`` (inverse of :func:`build_model`)."""
    for name, cls in MODELS.items():
        if type(model) is cls:
            return name
    raise ConfigError(f"model must be one of the registered models ({', '.join(MODELS)}); got {type(model).__name__}")
