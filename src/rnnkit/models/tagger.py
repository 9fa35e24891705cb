"""Many-to-many (synced): :class:`SequenceTagger` — one tag per input step (NER, POS).

Words (ids (B, T) or features (B, T, D)), optionally joined by character-level
features of each word, go through a (by default bidirectional) encoder and a linear
head to per-step tag scores ("emissions", (B, T, num_tags)). With ``crf=True`` a
linear-chain :class:`~rnnkit.nn.crf.CRF` scores whole tag paths: the loss is its
negative log-likelihood and decoding is Viterbi; without it the loss is masked
cross-entropy and decoding is a per-step argmax.

Character features: ``chars`` (B, T, W) holds each word's character ids, padded
with 0 (0 is the padding character). All B*T words run at once through either a
CNN (embedding → Conv1d → ReLU → max over the real characters) or a BiLSTM over
each word's real characters (final states of both directions).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models._checks import check_ids, full_lengths
from rnnkit.models.base import Model
from rnnkit.models.encoder import EncoderFields, SequenceEncoder, as_chunk
from rnnkit.nn.crf import CRF
from rnnkit.nn.recurrent import Recurrent

__all__ = ["SequenceTaggerConfig", "SequenceTagger", "CharFeatures"]


@dataclasses.dataclass
class SequenceTaggerConfig(EncoderFields):
    """Encoder fields (bidirectional by default) plus the tag head, the CRF switch and
    the character encoder (``char_vocab_size`` None: no character features)."""

    kind: Literal["rnn"] = "rnn"  # a task's [model] kind: "rnn" here, "transformer" for the encoder baseline
    # read each sentence both ways (the usual tagger)
    bidirectional: bool = True
    # size of the tag set
    num_tags: int = 2
    # a CRF output layer (Viterbi decoding) instead of an independent softmax per token
    crf: bool = False
    # character vocabulary size of the character encoder (none: no character features)
    char_vocab_size: int | None = None
    # size of each character embedding
    char_embedding_dim: int = 16
    # how a word's characters are encoded: "cnn" (convolution + max-pool) or "lstm" (a BiLSTM)
    char_encoder: Literal["cnn", "lstm"] = "cnn"
    # output size of the character encoder per word
    char_hidden_size: int = 16
    # width of the character CNN's filters
    char_kernel_size: int = 3

    def validate(self) -> None:
        super().validate()
        self._positive("num_tags")
        self._positive("char_vocab_size", optional=True)
        for name in ("char_embedding_dim", "char_hidden_size", "char_kernel_size"):
            self._positive(name)
        self._choice("char_encoder", ("cnn", "lstm"))
        if self.char_kernel_size % 2 == 0:
            raise ConfigError(
                f"{self._name('char_kernel_size')} must be odd so the convolution keeps each word's length; "
                f"got {self.char_kernel_size}"
            )


class CharFeatures(nn.Module):
    """``forward(chars (B, T, W)) -> (B, T, output_size)``, vectorised over all B*T words."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_size: int, kind: str, kernel_size: int) -> None:
        super().__init__()
        self.kind = kind
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=0)
        if kind == "cnn":
            self.conv = nn.Conv1d(embedding_dim, hidden_size, kernel_size, padding=kernel_size // 2)
            self.output_size = hidden_size
        else:
            self.rnn = Recurrent("lstm", embedding_dim, hidden_size, bidirectional=True)
            self.output_size = 2 * hidden_size

    def forward(self, chars: Tensor) -> Tensor:
        B, T, W = chars.shape
        words = chars.reshape(B * T, W)
        real = words != 0  # (B*T, W)
        emb = self.embedding(words)  # (B*T, W, E); the padding character embeds to zeros
        if self.kind == "cnn":
            feats = torch.relu(self.conv(emb.transpose(1, 2))).transpose(1, 2)  # (B*T, W, F)
            feats = feats.masked_fill(~real.unsqueeze(-1), 0.0)  # ReLU >= 0, so 0 never wins over a real char
            out = feats.amax(dim=1)
        else:
            # Padded word slots have no characters; give them length 1 (their output is unused).
            lengths = real.sum(1).clamp(min=1)
            _, (h, _) = self.rnn(emb, lengths=lengths)
            out = torch.cat([h[0], h[1]], dim=-1)  # forward and reverse final states
        return out.reshape(B, T, self.output_size)


class SequenceTagger(Model):
    """``forward(inputs, lengths=None, chars=None) -> emissions (B, T, num_tags)``."""

    config_class = SequenceTaggerConfig

    def __init__(self, config: SequenceTaggerConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        self.char_features = (
            CharFeatures(cfg.char_vocab_size, cfg.char_embedding_dim, cfg.char_hidden_size, cfg.char_encoder,
                         cfg.char_kernel_size)
            if cfg.char_vocab_size is not None
            else None
        )
        extra = self.char_features.output_size if self.char_features is not None else 0
        self.encoder = SequenceEncoder.from_fields(cfg, extra_input_size=extra)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.encoder.output_size, cfg.num_tags)
        self.crf = CRF(cfg.num_tags) if cfg.crf else None

    # ------------------------------------------------------------------ forward
    def _chars(self, chars: Tensor | None, inputs: Tensor) -> Tensor | None:
        cfg = self._config
        if self.char_features is None:
            if chars is not None:
                raise ConfigError("chars were given but SequenceTaggerConfig.char_vocab_size is None; "
                                  "expected chars=None or a config with char_vocab_size")
            return None
        B, T = inputs.shape[0], inputs.shape[1]
        if chars is None:
            raise ShapeError(f"chars (B, T, W) = ({B}, {T}, W) are required because char_vocab_size="
                             f"{cfg.char_vocab_size}; got None")
        check_ids(chars, cfg.char_vocab_size, "chars", dims=3)
        if chars.shape[:2] != (B, T):
            raise ShapeError(f"chars must have shape ({B}, {T}, W) to match inputs; got {tuple(chars.shape)}")
        return self.dropout(self.char_features(chars))

    def forward(self, inputs: Tensor, lengths: Tensor | None = None, chars: Tensor | None = None) -> Tensor:
        self.encoder.check(inputs)
        outputs, _, _ = self.encoder(inputs, lengths, extra=self._chars(chars, inputs))
        return self.head(self.dropout(outputs))

    def stream(self, inputs: Tensor, state: Any = None, chars: Tensor | None = None) -> tuple[Tensor, Any]:
        """Unidirectional only: feed one step (ids (B,), chars (B, W)) or a chunk ((B, Tc), chars
        (B, Tc, W)) with the carried state; returns emissions (B, num_tags) or (B, Tc, num_tags) and the
        new state. Equals :meth:`forward` over the whole sequence, step by step."""
        if self._config.bidirectional:
            raise ConfigError(
                "SequenceTagger cannot stream with SequenceTaggerConfig.bidirectional=True: the reverse "
                "direction needs the whole sequence; expected bidirectional=False"
            )
        chunk, single = as_chunk(inputs, self.encoder.token_ids)
        if chars is not None and single:
            chars = chars.unsqueeze(1)
        self.encoder.check(chunk)
        outputs, state, _ = self.encoder(chunk, state=state, extra=self._chars(chars, chunk))
        emissions = self.head(self.dropout(outputs))
        return (emissions.squeeze(1) if single else emissions), state

    # ------------------------------------------------------------------ loss and decoding
    def loss(self, emissions: Tensor, tags: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Mean loss per real token: CRF negative log-likelihood with ``crf=True``, else
        cross-entropy. ``tags`` (B, T) int; steps past ``lengths`` are ignored."""
        B, T, _ = emissions.shape
        if tags.shape != (B, T):
            raise ShapeError(f"tags must have shape ({B}, {T}) to match emissions; got {tuple(tags.shape)}")
        lengths = full_lengths(lengths, B, T, emissions.device)
        if self.crf is not None:
            return self.crf(emissions, tags, lengths, reduction="token_mean")
        mask = torch.arange(T, device=emissions.device) < lengths.unsqueeze(1)
        return F.cross_entropy(emissions[mask], tags[mask].long())

    @torch.no_grad()
    def decode(self, emissions: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Best tags (B, T): Viterbi with a CRF, else argmax per step; 0 past each length."""
        B, T, _ = emissions.shape
        lengths = full_lengths(lengths, B, T, emissions.device)
        if self.crf is not None:
            return self.crf.decode(emissions, lengths)[0]
        mask = torch.arange(T, device=emissions.device) < lengths.unsqueeze(1)
        return emissions.argmax(-1).masked_fill(~mask, 0)

    @torch.no_grad()
    def predict(self, inputs: Tensor, lengths: Tensor | None = None, chars: Tensor | None = None) -> Tensor:
        """``decode(forward(...))``: tags (B, T)."""
        return self.decode(self(inputs, lengths, chars), lengths)

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        cfg = self._config
        if cfg.vocab_size is not None:
            inputs = torch.randint(0, cfg.vocab_size, (batch_size, steps))
        else:
            inputs = torch.randn(batch_size, steps, cfg.input_size)
        kwargs = {}
        if cfg.char_vocab_size is not None:
            kwargs["chars"] = torch.randint(0, cfg.char_vocab_size, (batch_size, steps, 4))
        return (inputs,), kwargs
