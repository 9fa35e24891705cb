"""One-to-one: :class:`FeedForward`, the multilayer-perceptron baseline.

Dense inputs (B, D) — or any (B, ...) whose trailing sizes multiply to D, so an
MNIST image (B, 28, 28) is flattened as the courses do — or, with ``vocab_size``,
token ids (B, T) averaged as a bag of embeddings over their real steps (the
classic text baseline a recurrent classifier should beat).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Literal

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models._checks import check_ids, full_lengths
from rnnkit.models.base import Model
from rnnkit.models.config import ModelConfig

__all__ = ["FeedForwardConfig", "FeedForward", "ACTIVATIONS"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid}


@dataclasses.dataclass
class FeedForwardConfig(ModelConfig):
    """``input_size`` (D, dense) or ``vocab_size`` + ``embedding_dim`` (bag of embeddings);
    ``hidden_sizes`` of the hidden layers (empty: a linear model); ``output_size`` (C or targets)."""

    data_sizes = ("vocab_size", "input_size")  # the task sets exactly one from the data
    exclusive_sizes = True

    kind: Literal["feedforward"] = "feedforward"  # the one-to-one baseline (a task's [model] kind)

    @property
    def deferred(self) -> bool:
        return self.vocab_size is None and self.input_size is None

    # features of a dense input
    input_size: int | None = None
    # token vocabulary size (a bag of embeddings)
    vocab_size: int | None = None
    # size of each token embedding (bag of embeddings)
    embedding_dim: int = 32
    # units of each hidden layer (empty: a linear model)
    hidden_sizes: tuple[int, ...] = (64,)
    # outputs: classes or targets
    output_size: int = 2
    # nonlinearity after each hidden layer
    activation: Literal["relu", "tanh", "gelu", "sigmoid"] = "relu"
    # dropout probability after each hidden layer
    dropout: float = 0.0

    def validate(self) -> None:
        super().validate()
        if (self.vocab_size is None) == (self.input_size is None):
            raise ConfigError(
                f"FeedForwardConfig needs exactly one of input_size (dense) and vocab_size (token ids); "
                f"got input_size={self.input_size!r}, vocab_size={self.vocab_size!r}"
            )
        self._positive("input_size", optional=True)
        self._positive("vocab_size", optional=True)
        self._positive("embedding_dim")
        self._positive("output_size")
        self.hidden_sizes = tuple(self.hidden_sizes)
        for i, h in enumerate(self.hidden_sizes):
            if not isinstance(h, int) or isinstance(h, bool) or h < 1:
                raise ConfigError(f"FeedForwardConfig.hidden_sizes[{i}] must be a positive integer; got {h!r}")
        self._choice("activation", ACTIVATIONS)
        self._fraction("dropout")


class FeedForward(Model):
    """``forward(x, lengths=None) -> (B, output_size)``.

    Layers: [embedding-bag] → (Linear → activation → dropout) per hidden size → Linear.
    ``lengths`` only matters for token ids (which steps to average).
    """

    config_class = FeedForwardConfig

    def __init__(self, config: FeedForwardConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.embedding_dim) if cfg.vocab_size else None
        size = cfg.embedding_dim if cfg.vocab_size else cfg.input_size
        layers: list[nn.Module] = []
        for hidden in cfg.hidden_sizes:
            layers += [nn.Linear(size, hidden), ACTIVATIONS[cfg.activation](), nn.Dropout(cfg.dropout)]
            size = hidden
        layers.append(nn.Linear(size, cfg.output_size))
        self.layers = nn.Sequential(*layers)

    def features(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """The input as one vector per example (B, D or E)."""
        cfg = self._config
        if self.embedding is not None:
            check_ids(x, cfg.vocab_size, "x")
            B, T = x.shape
            lengths = full_lengths(lengths, B, T, x.device)
            mask = (torch.arange(T, device=x.device) < lengths.unsqueeze(1)).unsqueeze(-1)
            emb = self.embedding(x) * mask.to(self.embedding.weight.dtype)
            return emb.sum(1) / lengths.unsqueeze(1).to(emb.dtype)
        if not isinstance(x, Tensor) or x.dim() < 2 or math.prod(x.shape[1:]) != cfg.input_size:
            got = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ShapeError(
                f"x must have shape (B, {cfg.input_size}) (or (B, ...) with {cfg.input_size} values per example) "
                f"because input_size={cfg.input_size}; got {got}"
            )
        if not x.is_floating_point():
            raise ShapeError(f"x must be a floating-point tensor; got dtype {x.dtype}")
        return x.reshape(x.shape[0], -1)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        return self.layers(self.features(x, lengths))

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        cfg = self._config
        if cfg.vocab_size:
            return (torch.randint(0, cfg.vocab_size, (batch_size, steps)),), {}
        return (torch.randn(batch_size, cfg.input_size),), {}
