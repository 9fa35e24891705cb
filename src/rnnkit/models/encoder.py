"""The recurrent encoder the sequence models share: token embedding *or* dense
features, then a :class:`~rnnkit.nn.recurrent.Recurrent` stack (or a
:class:`~rnnkit.nn.min_rnn.MinRecurrent` for ``cell = "mingru" | "minlstm"``).

:class:`EncoderFields` are the config fields that describe it; model configs
inherit them so a classifier, a regressor and a tagger spell them the same way.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
from torch import Tensor, nn

from rnnkit.models._checks import check_features, check_ids, full_lengths
from rnnkit.models.config import RECURRENT_CELLS, ModelConfig
from rnnkit.nn.chrono import check_chrono
from rnnkit.nn.factory import make_recurrent

__all__ = ["EncoderFields", "SequenceEncoder", "as_chunk"]

BACKENDS = ("auto", "fused", "unrolled")
DEFAULT_EMBEDDING_DIM = 32  # model.embedding_dim when neither the config nor pretrained vectors set it


@dataclasses.dataclass
class EncoderFields(ModelConfig):
    """Input and encoder fields.

    Exactly one of ``vocab_size`` (inputs are token ids (B, T), embedded to
    ``embedding_dim``) and ``input_size`` (inputs are features (B, T, D)) is set.
    ``dropout`` applies to the encoder's input, between stacked layers and before the head.
    ``pretrained_embeddings``: a word vectors file (GloVe, word2vec or fastText text, plain or
    ``.gz``; see :mod:`rnnkit.data.embeddings`) the task copies into the embedding at training
    time (the trained weights then live in the run; reloading never reads the file again).
    """

    data_sizes = ("vocab_size", "input_size")  # the task sets exactly one from the data
    exclusive_sizes = True

    @property
    def deferred(self) -> bool:
        return self.vocab_size is None and self.input_size is None

    # token vocabulary size (token-id inputs, embedded)
    vocab_size: int | None = None
    # features per step D (numeric inputs)
    input_size: int | None = None
    embedding_dim: int | None = None  # None: 32, or the dimension of model.pretrained_embeddings
    # the recurrent cell: rnn (tanh), lstm, gru, or the parallel-scan mingru / minlstm
    cell: Literal["rnn", "lstm", "gru", "mingru", "minlstm"] = "lstm"
    # units per recurrent layer and direction
    hidden_size: int = 64
    # stacked recurrent layers
    num_layers: int = 1
    # also read each sequence backwards (both directions' outputs concatenated)
    bidirectional: bool = False
    # dropout probability on the encoder's input, between stacked layers and before the head
    dropout: float = 0.0
    # recurrent kernels: "auto" (the fastest measured path that can run: torch's fused kernels, or rnnkit's
    # compiled cpu_fused loops for RNN/GRU training on the CPU), "fused" (torch's kernels) or "unrolled" (a step loop)
    backend: Literal["auto", "fused", "unrolled"] = "auto"
    # the longest dependency expected, in steps: chrono initialisation of the gate biases (lstm, gru, mingru, minlstm)
    chrono_init: int | None = None
    pretrained_embeddings: str | None = None  # word vectors file (GloVe/word2vec/fastText text, .gz too)
    freeze_embeddings: bool = False  # keep the pretrained vectors fixed while training (false: fine-tune them)

    def validate(self) -> None:
        super().validate()
        self._token_or_feature_input()
        self._pretrained_settings(token_inputs=self.vocab_size is not None)
        for name in ("hidden_size", "num_layers"):
            self._positive(name)
        self._choice("cell", RECURRENT_CELLS)
        self._choice("backend", BACKENDS)
        self._fraction("dropout")
        check_chrono(self.chrono_init, self.cell, self._name("chrono_init"))


def as_chunk(inputs: Tensor, token_ids: bool) -> tuple[Tensor, bool]:
    """A single step — ids (B,) or features (B, D) — as a one-step chunk; returns (chunk, was_single)."""
    single = inputs.dim() == (1 if token_ids else 2)
    return (inputs.unsqueeze(1) if single else inputs), single


class SequenceEncoder(nn.Module):
    """``forward(inputs, lengths=None, state=None) -> (outputs (B, T, dirs*H), state, lengths (B,))``.

    ``inputs`` are ids (B, T) when ``vocab_size`` is set, else features (B, T, D).
    The returned lengths are the checked ones (all T when None was given).
    """

    def __init__(
        self,
        *,
        vocab_size: int | None,
        input_size: int | None,
        embedding_dim: int | None,
        cell: str,
        hidden_size: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        backend: str = "auto",
        extra_input_size: int = 0,
        freeze_embeddings: bool = False,
        chrono_init: int | None = None,
    ) -> None:
        super().__init__()
        self.vocab_size = vocab_size
        self.input_size = input_size
        embedding_dim = embedding_dim or DEFAULT_EMBEDDING_DIM
        self.embedding = nn.Embedding(vocab_size, embedding_dim) if vocab_size is not None else None
        if self.embedding is not None and freeze_embeddings:
            self.embedding.weight.requires_grad_(False)  # the optimizer never changes a frozen embedding
        step_size = (embedding_dim if vocab_size is not None else input_size) + extra_input_size
        self.input_dropout = nn.Dropout(dropout)
        self.rnn = make_recurrent(
            cell,
            step_size,
            hidden_size,
            num_layers=num_layers,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
            backend=backend,
            chrono_init=chrono_init,
        )

    @classmethod
    def from_fields(cls, cfg: EncoderFields, extra_input_size: int = 0) -> SequenceEncoder:
        return cls(
            vocab_size=cfg.vocab_size,
            input_size=cfg.input_size,
            embedding_dim=cfg.embedding_dim,
            cell=cfg.cell,
            hidden_size=cfg.hidden_size,
            num_layers=cfg.num_layers,
            bidirectional=cfg.bidirectional,
            dropout=cfg.dropout,
            backend=cfg.backend,
            extra_input_size=extra_input_size,
            freeze_embeddings=cfg.freeze_embeddings,
            chrono_init=cfg.chrono_init,
        )

    @property
    def output_size(self) -> int:
        return self.rnn.output_size

    @property
    def token_ids(self) -> bool:
        return self.embedding is not None

    def check(self, inputs: Tensor, name: str = "inputs") -> None:
        """Validate ``inputs`` (B, T) ids or (B, T, D) features."""
        if self.embedding is not None:
            check_ids(inputs, self.vocab_size, name)
        else:
            check_features(inputs, self.input_size, name)

    def embed(self, inputs: Tensor) -> Tensor:
        """(B, T) ids -> (B, T, E) or (B, T, D) features unchanged, then input dropout."""
        x = self.embedding(inputs) if self.embedding is not None else inputs
        return self.input_dropout(x)

    def forward(
        self, inputs: Tensor, lengths: Tensor | None = None, state: Any = None, extra: Tensor | None = None
    ) -> tuple[Tensor, Any, Tensor]:
        self.check(inputs)
        B, T = inputs.shape[0], inputs.shape[1]
        lengths = full_lengths(lengths, B, T, inputs.device)
        x = self.embed(inputs)
        if extra is not None:  # per-step features appended to the input (e.g. character features)
            x = torch.cat([x, extra], dim=-1)
        outputs, state = self.rnn(x, state, lengths)
        return outputs, state, lengths

