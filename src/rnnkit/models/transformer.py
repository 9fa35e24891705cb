"""The transformer baseline (``[model] kind = "transformer"``): what the course says replaces
the RNN, built so that the two can be measured side by side on the same tasks.

* :class:`TransformerClassifier` / :class:`TransformerRegressor` (classify, regress, forecast):
  embedding or a linear projection of the features, positions (sinusoidal or learned),
  ``num_layers`` pre-norm encoder blocks with a key-padding mask from ``lengths``, a final
  layer norm, then the same poolings as the recurrent models (last, mean, max, attention —
  each over the real steps only) and a linear head.
* :class:`TransformerTagger` (tag): the encoder blocks over the whole sentence and a linear
  tag head per word, optionally a CRF (loss and decoding are the recurrent tagger's).
* :class:`TransformerLanguageModel` (lm): the same blocks, causal, with a key/value cache as
  the carried ``state`` so that ``forward(ids, state)`` continues a text like the recurrent
  language models (see its docstring for the window).

Attention is :func:`torch.nn.functional.scaled_dot_product_attention` (no attention kernel of
our own). Shapes: ``inputs`` ids (B, T) or features (B, T, D); ``lengths`` (B,); B batch,
T time, d ``d_model``, h ``num_heads``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models._checks import check_features, check_ids, full_lengths
from rnnkit.models.base import Model
from rnnkit.models.config import ModelConfig
from rnnkit.models.pooling import make_pooling
from rnnkit.models.tagger import SequenceTagger
from rnnkit.nn.crf import CRF
from rnnkit.nn.sequence import length_mask

__all__ = [
    "TransformerFields",
    "TransformerPooledFields",
    "TransformerTaggerConfig",
    "TransformerTagger",
    "TransformerClassifierConfig",
    "TransformerRegressorConfig",
    "TransformerClassifier",
    "TransformerRegressor",
    "TransformerLanguageModelConfig",
    "TransformerLanguageModel",
    "TransformerBlock",
    "sinusoidal_positions",
]

TRANSFORMER_POOLINGS = ("last", "mean", "max", "attention")


def sinusoidal_positions(positions: Tensor, d_model: int, dtype: torch.dtype) -> Tensor:
    """(T,) positions -> (T, d): sin on even features, cos on odd, wavelengths 2π … 10000·2π."""
    half = torch.arange(0, d_model, 2, device=positions.device, dtype=torch.float64)
    angles = positions.double().unsqueeze(1) / torch.pow(10000.0, half / d_model)  # (T, ceil(d/2))
    pe = torch.zeros(positions.shape[0], d_model, dtype=torch.float64, device=positions.device)
    pe[:, 0::2] = torch.sin(angles)
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])
    return pe.to(dtype)


@dataclasses.dataclass
class TransformerFields(ModelConfig):
    """Input, positions and the encoder stack.

    Exactly one of ``vocab_size`` (token ids) and ``input_size`` (features) is set by the
    task. ``d_model`` is split over ``num_heads``; ``ff_size`` is the feed-forward width;
    ``positions`` sinusoidal (any length) or learned (at most ``max_positions`` steps);
    ``dropout`` on the embeddings, attention weights, block outputs and before the head.
    """

    data_sizes = ("vocab_size", "input_size")
    exclusive_sizes = True

    @property
    def deferred(self) -> bool:
        return self.vocab_size is None and self.input_size is None

    kind: Literal["transformer"] = "transformer"  # a task's [model] kind
    vocab_size: int | None = None  # token ids: the vocabulary size (set by the task)
    input_size: int | None = None  # numeric features: D per step (set by the task)
    d_model: int = 64  # the width of every block (split over num_heads)
    num_heads: int = 4  # attention heads per block (d_model / num_heads features each)
    num_layers: int = 2  # encoder blocks
    ff_size: int = 128  # the hidden width of each block's feed-forward layer
    dropout: float = 0.0  # on the embeddings, attention weights, block outputs and before the head
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"  # sinusoidal (any length) or learned (at most max_positions steps)
    max_positions: int = 2048  # the longest sequence learned positions cover

    def validate(self) -> None:
        super().validate()
        self._token_or_feature_input()
        for name in ("d_model", "num_heads", "num_layers", "ff_size", "max_positions"):
            self._positive(name)
        if self.d_model % self.num_heads:
            raise ConfigError(f"{self._name('d_model')} must be a multiple of num_heads={self.num_heads} "
                              f"(each head gets d_model / num_heads features); got {self.d_model}")
        self._fraction("dropout")
        self._choice("positions", ("sinusoidal", "learned"))


@dataclasses.dataclass
class TransformerPooledFields(TransformerFields):
    """:class:`TransformerFields` plus ``pooling``: how the steps' outputs become one vector."""

    pooling: Literal["last", "mean", "max", "attention"] = "mean"

    def validate(self) -> None:
        super().validate()
        self._choice("pooling", TRANSFORMER_POOLINGS)


@dataclasses.dataclass
class TransformerClassifierConfig(TransformerPooledFields):
    """:class:`TransformerFields` plus ``num_classes`` (C)."""

    # number of classes C
    num_classes: int = 2

    def validate(self) -> None:
        super().validate()
        self._positive("num_classes")


@dataclasses.dataclass
class TransformerRegressorConfig(TransformerPooledFields):
    """:class:`TransformerFields` plus ``num_targets`` (values predicted per sequence)."""

    # number of real-valued targets
    num_targets: int = 1

    def validate(self) -> None:
        super().validate()
        self._positive("num_targets")


class TransformerBlock(nn.Module):
    """Pre-norm block: ``x + Attn(LN(x))`` then ``x + FF(LN(x))``.

    ``forward(x (B, T, d), key_mask (B, 1, 1, S) bool or None, causal, past (k, v) or None)
    -> (x, (k, v))``: with ``past`` (B, h, P, d/h) the new steps attend to the P cached ones
    too (S = P + T), and the returned cache holds all P + T.
    """

    def __init__(self, d_model: int, num_heads: int, ff_size: int, dropout: float) -> None:
        super().__init__()
        self.num_heads, self.dropout = num_heads, dropout
        self.norm1 = nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_size), nn.GELU(), nn.Linear(ff_size, d_model))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: Tensor, key_mask: Tensor | None = None, causal: bool = False,
                past: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        B, T, d = x.shape
        h = self.num_heads
        q, k, v = self.qkv(self.norm1(x)).view(B, T, 3, h, d // h).permute(2, 0, 3, 1, 4)  # each (B, h, T, d/h)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        mask = key_mask
        if causal and (past is not None or mask is not None):
            # query t (absolute P + t) sees keys s <= P + t
            P = k.shape[2] - T
            allowed = torch.arange(k.shape[2], device=x.device).unsqueeze(0) <= (
                torch.arange(T, device=x.device).unsqueeze(1) + P)  # (T, S)
            mask = allowed if mask is None else (mask & allowed)
        attn = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=causal and mask is None,
        )
        x = x + self.drop(self.proj(attn.transpose(1, 2).reshape(B, T, d)))
        x = x + self.drop(self.ff(self.norm2(x)))
        return x, (k, v)


class TransformerEncoder(nn.Module):
    """Embedding / projection + positions + blocks + final norm.
    ``forward(inputs, lengths) -> (outputs (B, T, d), lengths)``."""

    def __init__(self, cfg: TransformerFields, causal: bool = False) -> None:
        super().__init__()
        self.vocab_size, self.input_size, self.d_model, self.causal = cfg.vocab_size, cfg.input_size, cfg.d_model, causal
        self.positions, self.max_positions = cfg.positions, cfg.max_positions
        if cfg.vocab_size is not None:
            self.embedding: nn.Module = nn.Embedding(cfg.vocab_size, cfg.d_model)
        else:
            self.embedding = nn.Linear(cfg.input_size, cfg.d_model)
        self.position_embedding = nn.Embedding(cfg.max_positions, cfg.d_model) if cfg.positions == "learned" else None
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(
            TransformerBlock(cfg.d_model, cfg.num_heads, cfg.ff_size, cfg.dropout) for _ in range(cfg.num_layers))
        self.norm = nn.LayerNorm(cfg.d_model)

    @property
    def output_size(self) -> int:
        return self.d_model

    def check(self, inputs: Tensor) -> None:
        if self.vocab_size is not None:
            check_ids(inputs, self.vocab_size, "inputs")
        else:
            check_features(inputs, self.input_size, "inputs")

    def embed(self, inputs: Tensor, offset: int = 0) -> Tensor:
        """(B, T) ids or (B, T, D) features at positions offset … offset+T-1 -> (B, T, d)."""
        x = self.embedding(inputs)
        T = x.shape[1]
        if offset + T > self.max_positions and self.position_embedding is not None:
            raise ShapeError(f"positions='learned' covers at most max_positions={self.max_positions} steps; "
                             f"got position {offset + T - 1} (use positions='sinusoidal' or a larger max_positions)")
        return self.drop(x + self.position_encoding(torch.arange(offset, offset + T, device=x.device), x.dtype))

    def position_encoding(self, pos: Tensor, dtype: torch.dtype) -> Tensor:
        """(T,) positions -> (T, d): the learned table's rows or the sinusoids (no bound check)."""
        return self.position_embedding(pos) if self.position_embedding is not None else \
            sinusoidal_positions(pos, self.d_model, dtype)

    def forward(self, inputs: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        self.check(inputs)
        B, T = inputs.shape[0], inputs.shape[1]
        lengths = full_lengths(lengths, B, T, inputs.device)
        x = self.embed(inputs)
        padded = bool((lengths < T).any())
        key_mask = length_mask(lengths, T).view(B, 1, 1, T) if padded else None
        if padded:
            x = x.masked_fill(~length_mask(lengths, T).unsqueeze(-1), 0.0)
        for block in self.blocks:
            x, _ = block(x, key_mask, self.causal)
        return self.norm(x), lengths


class TransformerPooledModel(Model):
    """Encoder → pooling over the real steps → dropout → linear head."""

    config_class = TransformerPooledFields

    def __init__(self, config: TransformerPooledFields | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        self.encoder = TransformerEncoder(cfg)
        self.pooling = make_pooling(cfg.pooling, cfg.d_model, 1)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(self.pooling.output_size, self.head_size)

    @property
    def head_size(self) -> int:
        raise NotImplementedError

    def encode(self, inputs: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """The pooled representation (B, d) and the pooling weights (attention pooling only)."""
        outputs, lengths = self.encoder(inputs, lengths)
        return self.pooling(outputs, lengths)

    def forward(self, inputs: Tensor, lengths: Tensor | None = None) -> Tensor:
        pooled, _ = self.encode(inputs, lengths)
        return self.head(self.dropout(pooled))

    def stream(self, inputs: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        raise ConfigError(f"{type(self).__name__} cannot stream: every step attends to the whole sequence "
                          "(it is re-encoded, not continued); call it on the whole prefix instead")

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        return _example_inputs(self._config, batch_size, steps)


class TransformerClassifier(TransformerPooledModel):
    """Logits (B, C)."""

    config_class = TransformerClassifierConfig

    @property
    def head_size(self) -> int:
        return self._config.num_classes


class TransformerRegressor(TransformerPooledModel):
    """Predictions (B, num_targets)."""

    config_class = TransformerRegressorConfig

    @property
    def head_size(self) -> int:
        return self._config.num_targets


# ---------------------------------------------------------------------- tagger
@dataclasses.dataclass
class TransformerTaggerConfig(TransformerFields):
    """:class:`TransformerFields` plus the tag head (the ``tag`` task's ``kind = "transformer"``):
    every word attends to the whole sentence (both sides, padding masked), then a linear layer
    gives its tag scores."""

    num_tags: int = 2  # C, set by the task from the training tags
    crf: bool = False  # a linear-chain CRF over the emissions (its NLL as the loss, Viterbi decoding), as for kind = "rnn"

    def validate(self) -> None:
        super().validate()
        self._positive("num_tags")


class TransformerTagger(Model):
    """``forward(inputs (B, T) ids, lengths (B,), chars=None) -> emissions (B, T, num_tags)``;
    :meth:`loss`, :meth:`decode` and :meth:`predict` are :class:`~rnnkit.models.SequenceTagger`'s
    (masked cross-entropy or CRF; argmax or Viterbi). Emissions past each length are not
    meaningful (the loss and decoding ignore them). No character features and no ``stream()``."""

    config_class = TransformerTaggerConfig

    def __init__(self, config: TransformerTaggerConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        self.encoder = TransformerEncoder(cfg)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.d_model, cfg.num_tags)
        self.crf = CRF(cfg.num_tags) if cfg.crf else None

    def forward(self, inputs: Tensor, lengths: Tensor | None = None, chars: Tensor | None = None) -> Tensor:
        if chars is not None:
            raise ConfigError("character features (data.char_features = true) need model.kind = 'rnn'; the "
                              "transformer tagger reads word ids only: set data.char_features = false")
        outputs, _ = self.encoder(inputs, lengths)
        return self.head(self.dropout(outputs))

    loss = SequenceTagger.loss
    decode = SequenceTagger.decode
    predict = SequenceTagger.predict

    def stream(self, inputs: Tensor, state: Any = None, chars: Tensor | None = None) -> tuple[Tensor, Any]:
        raise ConfigError("TransformerTagger cannot stream: every word attends to the whole sentence; "
                          "call it on the whole sentence instead")

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        return _example_inputs(self._config, batch_size, steps)



def _example_inputs(cfg: Any, batch_size: int, steps: int) -> tuple[tuple, dict]:
    """Token ids (B, T) or features (B, T, D) for an encoder config, at most ``max_positions`` long."""
    steps = min(steps, cfg.max_positions)
    if cfg.vocab_size is not None:
        return (torch.randint(0, cfg.vocab_size, (batch_size, steps)),), {}
    return (torch.randn(batch_size, steps, cfg.input_size),), {}

# ---------------------------------------------------------------------- causal language model
@dataclasses.dataclass
class TransformerLanguageModelConfig(ModelConfig):
    """A decoder-only (causal) transformer language model: ``vocab_size`` (V, set by the task),
    the stack as :class:`TransformerFields`, ``context_size`` (the most tokens a carried key/value
    cache keeps: older ones fall out of the window) and ``tie_weights`` (output layer = embedding)."""

    data_sizes = ("vocab_size",)

    kind: Literal["transformer"] = "transformer"  # a task's [model] kind: the causal decoder-only baseline
    vocab_size: int | None = None  # V, set by the task from the vocabulary
    d_model: int = 64  # the width of every block (split over num_heads)
    num_heads: int = 4  # attention heads per block (d_model / num_heads features each)
    num_layers: int = 2  # decoder blocks
    ff_size: int = 128  # the hidden width of each block's feed-forward layer
    dropout: float = 0.0  # on the embeddings, attention weights and block outputs
    positions: Literal["sinusoidal", "learned"] = "sinusoidal"  # sinusoidal (any length) or learned (at most max_positions tokens)
    max_positions: int = 2048  # the last position learned positions cover (a stream ends there)
    context_size: int = 512  # the most tokens the key/value cache keeps while generating; older ones fall out
    tie_weights: bool = False  # the output layer reuses the embedding matrix

    def validate(self) -> None:
        super().validate()
        for name in ("vocab_size", "d_model", "num_heads", "num_layers", "ff_size", "max_positions", "context_size"):
            self._positive(name)
        if self.d_model % self.num_heads:
            raise ConfigError(f"{self._name('d_model')} must be a multiple of num_heads={self.num_heads}; "
                              f"got {self.d_model}")
        self._fraction("dropout")
        self._choice("positions", ("sinusoidal", "learned"))


class TransformerLanguageModel(Model):
    """``forward(ids (B, T), state=None, lengths=None) -> (logits (B, T, V), state)``.

    Training does not carry the cache from one batch to the next (``carries_state = False``:
    the ``lm`` task then trains on independent windows of ``data.bptt`` tokens, as positions
    would otherwise grow over the whole corpus); generation and :meth:`stream` do.

    ``state`` is ``(position, caches)``: the absolute position of the next token (a 0-d
    tensor) and per block the keys and values (B, h, S, d/h) of the last S <= ``context_size``
    tokens, so a chunk fed with the state continues the text as the recurrent language models
    do (exactly, while the text fits in the window). ``lengths`` (right padding) masks nothing
    the real tokens can see (attention is causal); a carried state needs every row's chunk full.
    Positions are absolute: with ``positions="learned"`` a stream ends at ``max_positions``.
    """

    config_class = TransformerLanguageModelConfig
    carries_state = False  # the lm task's stream batches start from no state (see above)

    def __init__(self, config: TransformerLanguageModelConfig | None = None, **fields: Any) -> None:
        super().__init__(config, **fields)
        cfg = self._config
        enc = TransformerFields(vocab_size=cfg.vocab_size, d_model=cfg.d_model, num_heads=cfg.num_heads,
                                num_layers=cfg.num_layers, ff_size=cfg.ff_size, dropout=cfg.dropout,
                                positions=cfg.positions, max_positions=cfg.max_positions)
        self.decoder = TransformerEncoder(enc, causal=True)
        self.output = nn.Linear(cfg.d_model, cfg.vocab_size)
        if cfg.tie_weights:
            self.output.weight = self.decoder.embedding.weight

    def forward(self, ids: Tensor, state: Any = None, lengths: Tensor | None = None) -> tuple[Tensor, Any]:
        check_ids(ids, self._config.vocab_size)
        B, T = ids.shape
        if lengths is not None:
            lengths = full_lengths(lengths, B, T, ids.device)
            if state is not None and bool((lengths < T).any()):
                raise ShapeError("a carried state needs full chunks (lengths == T): padded keys would stay in the cache")
        offset, caches = (0, None) if state is None else (int(state[0]), state[1])
        return self._decode(self.decoder.embed(ids, offset), offset, caches)

    def _decode(self, x: Tensor, offset: int, caches: Any) -> tuple[Tensor, Any]:
        """Embedded steps x (B, T, d) at positions offset … offset+T-1, after the cached ones,
        through the causal blocks -> (logits (B, T, V), (position, caches cut by :meth:`window`))."""
        dec = self.decoder
        new_caches = []
        for i, block in enumerate(dec.blocks):
            x, (k, v) = block(x, None, True, None if caches is None else caches[i])
            new_caches.append((self.window(k), self.window(v)))
        return self.output(dec.norm(x)), (torch.tensor(offset + x.shape[1]), tuple(new_caches))

    def window(self, cache: Tensor) -> Tensor:
        """The cached keys or values a carried state keeps, (B, h, S, d/h): the last ``context_size``."""
        return cache[:, :, -self._config.context_size:]

    def stream(self, ids: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """One step (ids (B,) -> logits (B, V)) or a chunk ((B, Tc) -> (B, Tc, V)) with the carried cache."""
        if isinstance(ids, Tensor) and ids.dim() == 1:
            logits, state = self(ids.unsqueeze(1), state)
            return logits.squeeze(1), state
        return self(ids, state)

    @torch.no_grad()
    def generate(self, prime_ids: Tensor, length: int, temperature: float = 1.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, prime_lengths: Tensor | None = None,
                 state: Any = None, on_token: Callable[[Tensor], None] | None = None) -> Tensor:
        """Continue equal-length prompts ``prime_ids`` (P,) or (B, P) by ``length`` sampled tokens
        (B, length), one cached step at a time (each new token attends to the cached keys and
        values, nothing is recomputed); ``temperature=0`` is greedy; ``on_token(tokens (B,))`` is
        called as each step's tokens are drawn. The arguments are :meth:`LanguageModel.generate`'s;
        ``prime_lengths`` must be all P (a padded prompt would leave its padding in the cache)."""
        from rnnkit.models.decoding import check_sampling, generate_tokens, make_generator

        check_sampling(temperature, top_k, top_p)
        if not isinstance(length, int) or length < 1:
            raise ConfigError(f"length must be a positive integer (tokens to generate); got {length!r}")
        if prime_ids.dim() == 1:
            prime_ids = prime_ids.unsqueeze(0)
        check_ids(prime_ids, self._config.vocab_size, "prime_ids")
        if prime_lengths is not None and bool((full_lengths(prime_lengths, *prime_ids.shape, prime_ids.device)
                                               < prime_ids.shape[1]).any()):
            raise ShapeError(f"{type(self).__name__}.generate needs prompts of one length (prime_lengths all "
                             f"{prime_ids.shape[1]}); got {prime_lengths.tolist()}: generate each prompt alone")
        was_training = self.training
        self.eval()
        try:
            logits, state = self(prime_ids, state)
            return generate_tokens(self.stream, logits[:, -1], state, length, temperature, top_k, top_p,
                                   make_generator(seed, prime_ids.device), on_token)
        finally:
            self.train(was_training)

    def example_inputs(self, batch_size: int = 2, steps: int = 6) -> tuple[tuple, dict]:
        return (torch.randint(0, self._config.vocab_size, (batch_size, min(steps, self._config.max_positions))),), {}
