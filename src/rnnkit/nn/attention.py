"""Attention over a source sequence: dot, general (Luong) and additive (Bahdanau) scores.

Each module scores every query against every key, masks the keys past each
source's length, normalises with a softmax over the source steps and returns the
weighted sum of the values::

    score_dot(q, k)      = q · k                              (query_size == key_size)
    score_general(q, k)  = q · (W k)                          W: (query_size, key_size)
    score_additive(q, k) = v · tanh(W_q q + W_k k)            W_q: (A, query_size), W_k: (A, key_size), v: (A,)
    a_t   = softmax_s(score(q_t, k_s))     over s < lengths[b]
    c_t   = Σ_s a_ts · value_s

Shapes (legend: B batch, Tq query steps, Ts source steps, Q query size, K key size):
``query`` is (B, Q) for one step or (B, Tq, Q) for many; ``keys`` (B, Ts, K);
``values`` default to ``keys``; ``lengths`` (B,) int with each in [1, Ts].
Returns ``(context, weights)``: (B, K) and (B, Ts) for a single query, or
(B, Tq, K) and (B, Tq, Ts).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnnkit.nn.sequence import length_mask
from rnnkit.errors import ConfigError, ShapeError

__all__ = [
    "Attention",
    "DotAttention",
    "GeneralAttention",
    "AdditiveAttention",
    "ATTENTION_KINDS",
    "make_attention",
]


class Attention(nn.Module):
    """Base class: subclasses implement :meth:`score_prepared` (and :meth:`prepare` when the
    keys are transformed first); masking and softmax are shared."""

    kind: str = ""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        for name, value in (("query_size", query_size), ("key_size", key_size)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer; got {value!r}")
        self.query_size = query_size
        self.key_size = key_size

    def prepare(self, keys: Tensor) -> Tensor:
        """What the scores need of the keys (B, Ts, ·), computed once per source: a decoder
        that attends step by step passes it to :meth:`forward` as ``prepared``."""
        return keys

    def score_prepared(self, query: Tensor, prepared: Tensor) -> Tensor:
        """Raw scores (B, Tq, Ts) for query (B, Tq, Q) and ``prepare(keys)``."""
        raise NotImplementedError

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Raw scores (B, Tq, Ts) for query (B, Tq, Q) and keys (B, Ts, K)."""
        return self.score_prepared(query, self.prepare(keys))

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        lengths: Tensor | None = None,
        values: Tensor | None = None,
        prepared: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        single = query.dim() == 2
        self._check(query, keys, lengths, values)
        q = query.unsqueeze(1) if single else query  # (B, Tq, Q)
        scores = self.score_prepared(q, self.prepare(keys) if prepared is None else prepared)  # (B, Tq, Ts)
        if lengths is not None:
            mask = length_mask(lengths.to(keys.device), keys.shape[1])  # (B, Ts)
            scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        context = torch.bmm(weights, keys if values is None else values)  # (B, Tq, K)
        if single:
            return context.squeeze(1), weights.squeeze(1)
        return context, weights

    def _check(self, query: Tensor, keys: Tensor, lengths: Tensor | None, values: Tensor | None) -> None:
        if query.dim() not in (2, 3) or query.shape[-1] != self.query_size:
            raise ShapeError(
                f"query must have shape (B, {self.query_size}) or (B, Tq, {self.query_size}) "
                f"because query_size={self.query_size}; got {tuple(query.shape)}"
            )
        B = query.shape[0]
        if keys.dim() != 3 or keys.shape[0] != B or keys.shape[2] != self.key_size:
            raise ShapeError(
                f"keys must have shape ({B}, Ts, {self.key_size}) because key_size={self.key_size} "
                f"and the query batch is {B}; got {tuple(keys.shape)}"
            )
        if values is not None and (values.dim() != 3 or values.shape[:2] != keys.shape[:2]):
            raise ShapeError(
                f"values must have shape ({B}, {keys.shape[1]}, V) to match keys; got {tuple(values.shape)}"
            )
        if lengths is not None:
            if lengths.shape != (B,) or lengths.dtype.is_floating_point:
                raise ShapeError(f"lengths must be an integer tensor of shape ({B},); got {lengths.dtype} {tuple(lengths.shape)}")
            if bool((lengths < 1).any()) or bool((lengths > keys.shape[1]).any()):
                raise ShapeError(f"lengths must lie in [1, {keys.shape[1]}] (the source length); got {lengths.tolist()}")

    def extra_repr(self) -> str:
        return f"query_size={self.query_size}, key_size={self.key_size}"


class DotAttention(Attention):
    """``score = q · k``; needs ``query_size == key_size`` and has no parameters."""

    kind = "dot"

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__(query_size, key_size)
        if query_size != key_size:
            raise ConfigError(
                f"dot attention needs query_size == key_size; got query_size={query_size}, "
                f"key_size={key_size} (use 'general' or 'additive' attention)"
            )

    def score_prepared(self, query: Tensor, prepared: Tensor) -> Tensor:
        return torch.bmm(query, prepared.transpose(1, 2))


class GeneralAttention(Attention):
    """Luong's ``general`` score ``q · (W k)`` with ``W`` of shape (query_size, key_size)."""

    kind = "general"

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__(query_size, key_size)
        self.proj = nn.Linear(key_size, query_size, bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        return self.proj(keys)  # (B, Ts, Q)

    def score_prepared(self, query: Tensor, prepared: Tensor) -> Tensor:
        return torch.bmm(query, prepared.transpose(1, 2))


class AdditiveAttention(Attention):
    """Bahdanau's additive score ``v · tanh(W_q q + W_k k)`` with hidden size ``attention_size``."""

    kind = "additive"

    def __init__(self, query_size: int, key_size: int, attention_size: int | None = None) -> None:
        super().__init__(query_size, key_size)
        attention_size = query_size if attention_size is None else attention_size
        if not isinstance(attention_size, int) or attention_size < 1:
            raise ConfigError(f"attention_size must be a positive integer; got {attention_size!r}")
        self.attention_size = attention_size
        self.query_proj = nn.Linear(query_size, attention_size, bias=False)
        self.key_proj = nn.Linear(key_size, attention_size, bias=True)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def prepare(self, keys: Tensor) -> Tensor:
        return self.key_proj(keys)  # (B, Ts, A)

    def score_prepared(self, query: Tensor, prepared: Tensor) -> Tensor:
        # (B, Tq, 1, A) + (B, 1, Ts, A) -> (B, Tq, Ts, A) -> (B, Tq, Ts)
        hidden = torch.tanh(self.query_proj(query).unsqueeze(2) + prepared.unsqueeze(1))
        return self.v(hidden).squeeze(-1)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", attention_size={self.attention_size}"


ATTENTION_KINDS: dict[str, type[Attention]] = {
    "dot": DotAttention,
    "general": GeneralAttention,
    "additive": AdditiveAttention,
}


def make_attention(kind: str, query_size: int, key_size: int, attention_size: int | None = None) -> Attention:
    """Build the attention module named ``kind`` (``dot``, ``general`` or ``additive``)."""
    if kind not in ATTENTION_KINDS:
        raise ConfigError(f"attention must be one of {', '.join(sorted(ATTENTION_KINDS))}; got {kind!r}")
    if kind == "additive":
        return AdditiveAttention(query_size, key_size, attention_size)
    return ATTENTION_KINDS[kind](query_size, key_size)
