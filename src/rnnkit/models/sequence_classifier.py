"""Many-to-one: :class:`SequenceClassifier` and :class:`SequenceRegressor`.

Both are the same machine — encoder, pooling over time, dropout, linear head —
and differ only in what the head predicts (class logits vs real targets), so they
share :class:`PooledSequenceModel` and :class:`PooledSequenceFields`.

Shapes: ``inputs`` ids (B, T) or features (B, T, D); ``lengths`` (B,);
the classifier returns logits (B, C), the regressor predictions (B, num_targets).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, Optional

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError
from rnnkit.models.base import Model
from rnnkit.models.encoder import EncoderFields, SequenceEncoder, as_chunk
from rnnkit.models.pooling import POOLINGS, make_pooling

__all__ = [
    "PooledSequenceFields",
    "SequenceClassifierConfig",
    "SequenceRegressorConfig",
    "PooledSequenceModel",
    "SequenceClassifier",
    "SequenceRegressor",
]

# SequenceClassifierConfig's fields left at none, by input kind. Text: measured on imdb (3,000
# reviews, `benchmarks/defaults.py --seeds 3`) against max pooling without dropout at 32/64 units
# (test accuracy 0.749 / 0.783 / 0.765): mean pooling, dropout 0.5 and 100/100 units, with the best
# epoch's weights (train.restore_best = none), gave 0.837 / 0.733 / 0.820. embedding_dim stays none
# (the file's dimension) with pretrained vectors.
TEXT_DEFAULTS = {"pooling": "mean", "dropout": 0.5, "hidden_size": 100, "embedding_dim": 100}
FEATURE_DEFAULTS = {"pooling": "max", "dropout": 0.0, "hidden_size": 64}


@dataclasses.dataclass
class PooledSequenceFields(EncoderFields):
    """Encoder fields plus pooling.

    ``pooling``: last, mean, max, attention or flatten (see :mod:`rnnkit.models.pooling`).
    ``max_len``: the fixed T that ``flatten`` concatenates (required for it, unused otherwise).
    ``attention_size``: hidden size of attention pooling (default: the encoder output size).
    """

    task_filled = {"max_len": 1}

    kind: Literal["rnn"] = "rnn"  # a task's [model] kind: "rnn" here, "feedforward" for the baseline
    pooling: Literal["last", "mean", "max", "attention", "flatten"] = "last"
    max_len: int | None = None
    attention_size: int | None = None

    def validate(self) -> None:
        super().validate()
        self._choice("pooling", POOLINGS)
        self._positive("max_len", optional=True)
        self._positive("attention_size", optional=True)
        if self.pooling == "flatten" and self.max_len is None:
            raise ConfigError(
                f"{self._name('max_len')} is required with pooling='flatten' (the fixed number of steps); got None"
            )
        if self.attention_size is not None and self.pooling != "attention":
            raise ConfigError(
                f"{self._name('attention_size')} only applies to pooling='attention'; "
                f"got attention_size={self.attention_size} with pooling={self.pooling!r}"
            )


@dataclasses.dataclass
class SequenceClassifierConfig(PooledSequenceFields):
    """:class:`PooledSequenceFields` plus ``num_classes`` (C)."""

    # the outputs over time as one vector; none: mean over token inputs (text), max over features
    # (benchmarks/defaults.py: "last" stayed near chance on small untuned series sets, max overfit imdb's words)
    pooling: Optional[Literal["last", "mean", "max", "attention", "flatten"]] = None
    # dropout on the encoder's input, between stacked layers and before the head; none: 0.5 over token
    # inputs (word embeddings learnt from a few thousand texts overfit within epochs), 0 over features
    dropout: Optional[float] = None
    # units per recurrent layer and direction; none: 100 over token inputs, 64 over features
    hidden_size: Optional[int] = None
    # number of classes C
    num_classes: int = 2

    def input_defaults(self, text: bool) -> dict[str, Any]:
        """The values the fields left at none take for token inputs (``text``) or features:
        TEXT_DEFAULTS or FEATURE_DEFAULTS (embedding_dim stays with pretrained vectors' file)."""
        table = TEXT_DEFAULTS if text else FEATURE_DEFAULTS
        return {name: value for name, value in table.items() if getattr(self, name) is None
                and not (name == "embedding_dim" and self.pretrained_embeddings)}

    def resolve_input_defaults(self) -> None:
        """Fill the fields left at none from the input kind, once it is known (``vocab_size``:
        text; ``input_size``: features)."""
        if not self.deferred:
            for name, value in self.input_defaults(self.vocab_size is not None).items():
                setattr(self, name, value)

    def validate(self) -> None:
        self.resolve_input_defaults()  # also when sizes were set after construction
        super().validate()
        self._positive("num_classes")


@dataclasses.dataclass
class SequenceRegressorConfig(PooledSequenceFields):
    """:class:`PooledSequenceFields` plus ``num_targets`` (values predicted per sequence)."""

    # number of real-valued targets
    num_targets: int = 1

    def validate(self) -> None:
        super().validate()
        self._positive("num_targets")


class PooledSequenceModel(Model):
    """Encoder → pooling → dropout → linear head. Subclasses name the head's size."""

    config_class = PooledSequenceFields

    def __init__(self, config: PooledSequenceFields | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        self.encoder = SequenceEncoder.from_fields(cfg)
        self.pooling = make_pooling(
            cfg.pooling, self.encoder.output_size, self.encoder.rnn.num_directions, cfg.max_len, cfg.attention_size
        )
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.pooling.output_size, self.head_size)

    @property
    def head_size(self) -> int:
        raise NotImplementedError

    def encode(self, inputs: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """The pooled representation (B, P) and the attention weights (B, T) (None unless pooling='attention')."""
        outputs, _, lengths = self.encoder(inputs, lengths)
        return self.pooling(outputs, lengths)

    def forward(self, inputs: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Predictions (B, head_size) from ids (B, T) or features (B, T, D)."""
        pooled, _ = self.encode(inputs, lengths)
        return self.head(self.dropout(pooled))

    def stream(self, inputs: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Feed one step (ids (B,) / features (B, D)) or a chunk ((B, Tc) / (B, Tc, D)) with the
        carried ``state`` (None at the start). Returns the prediction for everything seen so far
        (B, head_size) and the new state; equals :meth:`forward` on the whole prefix."""
        cfg = self._config
        if cfg.bidirectional:
            raise ConfigError(
                f"{self._name()} cannot stream with {type(cfg).__name__}.bidirectional=True: the reverse "
                "direction needs the whole sequence; expected bidirectional=False"
            )
        if cfg.pooling == "flatten":
            raise ConfigError(
                f"{self._name()} cannot stream with {type(cfg).__name__}.pooling='flatten': it needs all "
                "max_len steps; expected last, mean, max or attention"
            )
        chunk, _ = as_chunk(inputs, self.encoder.token_ids)
        rnn_state, pool_state = (None, None) if state is None else state
        outputs, rnn_state, _ = self.encoder(chunk, state=rnn_state)
        pooled, pool_state = self.pooling.stream(outputs, pool_state)
        return self.head(self.dropout(pooled)), (rnn_state, pool_state)

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        cfg = self._config
        steps = min(steps, cfg.max_len) if cfg.max_len else steps
        if cfg.vocab_size is not None:
            inputs = torch.randint(0, cfg.vocab_size, (batch_size, steps))
        else:
            inputs = torch.randn(batch_size, steps, cfg.input_size)
        return (inputs,), {}

    def _name(self) -> str:
        return type(self).__name__


class SequenceClassifier(PooledSequenceModel):
    """Many-to-one classifier: logits (B, C). Pair with ``cross_entropy`` on class ids (B,)."""

    config_class = SequenceClassifierConfig

    @property
    def head_size(self) -> int:
        return self._config.num_classes


class SequenceRegressor(PooledSequenceModel):
    """Many-to-one regressor (and forecaster): predictions (B, num_targets)."""

    config_class = SequenceRegressorConfig

    @property
    def head_size(self) -> int:
        return self._config.num_targets
