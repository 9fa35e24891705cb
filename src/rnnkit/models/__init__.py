"""rnnkit.models — one module per topology, each with a dataclass config.

==================  =======================  ==========================================
topology            model                    module
==================  =======================  ==========================================
one-to-one          FeedForward              :mod:`rnnkit.models.feedforward`
many-to-one         SequenceClassifier,      :mod:`rnnkit.models.sequence_classifier`
                    SequenceRegressor
many-to-many        SequenceTagger (+ CRF)   :mod:`rnnkit.models.tagger`
language model      LanguageModel            :mod:`rnnkit.models.language_model`
one-to-many         ConditionalGenerator     :mod:`rnnkit.models.conditional`
encoder-decoder     Seq2Seq                  :mod:`rnnkit.models.seq2seq`
transformer         TransformerClassifier,   :mod:`rnnkit.models.transformer`
baseline            TransformerRegressor
one-to-many         TransformerGenerator     :mod:`rnnkit.models.transformer_generator`
(transformer)
==================  =======================  ==========================================

Every model: ``Model(config)`` / ``Model(**fields)`` / ``Model.from_config(cfg_or_dict)``,
``model.config`` (``to_dict``/``from_dict``), ``num_parameters()``, ``summary()``;
unidirectional models also ``stream(chunk, state)``.
"""

from rnnkit.models.base import Model
from rnnkit.models.conditional import ConditionalGenerator, ConditionalGeneratorConfig
from rnnkit.models.config import ModelConfig
from rnnkit.models.decoding import filter_top_k, filter_top_p, sample_logits
from rnnkit.models.feedforward import FeedForward, FeedForwardConfig
from rnnkit.models.language_model import LanguageModel, LanguageModelConfig
from rnnkit.models.pooling import make_pooling
from rnnkit.models.registry import MODELS, build_model, config_from_dict, model_name
from rnnkit.models.seq2seq import Decoded, Seq2Seq, Seq2SeqConfig, Seq2SeqOutput
from rnnkit.models.sequence_classifier import (
    SequenceClassifier,
    SequenceClassifierConfig,
    SequenceRegressor,
    SequenceRegressorConfig,
)
from rnnkit.models.tagger import SequenceTagger, SequenceTaggerConfig
from rnnkit.models.transformer import (
    TransformerClassifier,
    TransformerClassifierConfig,
    TransformerLanguageModel,
    TransformerLanguageModelConfig,
    TransformerRegressor,
    TransformerRegressorConfig,
)
from rnnkit.models.transformer_generator import TransformerGenerator, TransformerGeneratorConfig

__all__ = [
    "Model",
    "ModelConfig",
    "FeedForward",
    "FeedForwardConfig",
    "SequenceClassifier",
    "SequenceClassifierConfig",
    "SequenceRegressor",
    "SequenceRegressorConfig",
    "SequenceTagger",
    "SequenceTaggerConfig",
    "TransformerClassifier",
    "TransformerClassifierConfig",
    "TransformerRegressor",
    "TransformerRegressorConfig",
    "TransformerLanguageModel",
    "TransformerLanguageModelConfig",
    "LanguageModel",
    "LanguageModelConfig",
    "ConditionalGenerator",
    "ConditionalGeneratorConfig",
    "TransformerGenerator",
    "TransformerGeneratorConfig",
    "Seq2Seq",
    "Seq2SeqConfig",
    "Seq2SeqOutput",
    "Decoded",
    "MODELS",
    "build_model",
    "config_from_dict",
    "model_name",
    "make_pooling",
    "sample_logits",
    "filter_top_k",
    "filter_top_p",
]
