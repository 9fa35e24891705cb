"""rnnkit — recurrent neural networks you can understand and ship.

The public API is listed in ``__all__`` and re-exported lazily (PEP 562): a name's
module is imported on first use, so ``import rnnkit.reference`` stays NumPy-only
and ``import rnnkit`` does not pay for torch until a torch-backed name is used.
Layers (see docs/architecture.md): reference → nn → data → models → train → tasks → api → surfaces.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rnnkit.errors import (
    BackendError,
    CheckpointError,
    ConfigError,
    DataError,
    RnnkitError,
    ShapeError,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Recurrent": "rnnkit.nn",
    "Trace": "rnnkit.nn",
    "RNNCell": "rnnkit.nn",
    "LSTMCell": "rnnkit.nn",
    "GRUCell": "rnnkit.nn",
    "CRF": "rnnkit.nn",
    **{name: "rnnkit.models" for name in (
        "FeedForward", "FeedForwardConfig", "SequenceClassifier", "SequenceClassifierConfig",
        "SequenceRegressor", "SequenceRegressorConfig", "SequenceTagger", "SequenceTaggerConfig",
        "LanguageModel", "LanguageModelConfig", "ConditionalGenerator", "ConditionalGeneratorConfig",
        "Seq2Seq", "Seq2SeqConfig", "build_model",
    )},
    **{name: "rnnkit.data" for name in (
        "Vocab", "CharTokenizer", "WordTokenizer", "pad_sequences", "one_hot", "Batch", "SequenceDataset",
        "BucketBatchSampler", "LMBatches", "make_windows", "StandardScaler", "MinMaxScaler",
    )},
    **{name: "rnnkit.train" for name in ("Trainer", "TrainConfig", "Callback")},
    **{name: "rnnkit.api" for name in ("fit", "load", "Run")},
    **{name: "rnnkit.config" for name in ("load_config", "dump_config")},
}

__all__ = [
    "__version__",
    "RnnkitError",
    "ShapeError",
    "BackendError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static type checkers and IDEs see the real names
    from rnnkit.config import dump_config, load_config
    from rnnkit.data import (Batch, BucketBatchSampler, CharTokenizer, LMBatches, MinMaxScaler, SequenceDataset,
                             StandardScaler, Vocab, WordTokenizer, make_windows, one_hot, pad_sequences)
    from rnnkit.models import (ConditionalGenerator, ConditionalGeneratorConfig, FeedForward, FeedForwardConfig,
                               LanguageModel, LanguageModelConfig, Seq2Seq, Seq2SeqConfig, SequenceClassifier,
                               SequenceClassifierConfig, SequenceRegressor, SequenceRegressorConfig, SequenceTagger,
                               SequenceTaggerConfig, build_model)
    from rnnkit.nn import CRF, GRUCell, LSTMCell, Recurrent, RNNCell, Trace
    from rnnkit.api import Run, fit, load
    from rnnkit.train import Callback, TrainConfig, Trainer
