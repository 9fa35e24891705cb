"""Choosing the next token from logits: greedy, temperature, top-k and nucleus (top-p).

All functions work on a batch of logits (B, V) and draw from an optional
``torch.Generator``, so a fixed seed reproduces a sample exactly. ``temperature=0``
means argmax (the limit of the softmax as the temperature goes to zero).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from rnnkit.errors import ConfigError

__all__ = [
    "check_sampling",
    "filter_top_k",
    "filter_top_p",
    "sample_logits",
    "make_generator",
    "generate_tokens",
]


def check_sampling(temperature: float, top_k: int | None, top_p: float | None) -> None:
    """Raise ConfigError for a negative temperature, top_k < 1 or top_p outside (0, 1]."""
    if not isinstance(temperature, (int, float)) or temperature < 0:
        raise ConfigError(f"temperature must be >= 0 (0 means argmax); got {temperature!r}")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ConfigError(f"top_k must be a positive integer or None; got {top_k!r}")
    if top_p is not None and not (0.0 < top_p <= 1.0):
        raise ConfigError(f"top_p must be in (0, 1] or None; got {top_p!r}")


def filter_top_k(logits: Tensor, k: int) -> Tensor:
    """Keep the ``k`` largest logits per row (ties at the k-th value kept); the rest become -inf."""
    if k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))


def filter_top_p(logits: Tensor, p: float) -> Tensor:
    """Nucleus filter: keep the smallest set of top tokens whose probability reaches ``p``."""
    if p >= 1.0:
        return logits
    sorted_logits, order = torch.sort(logits, dim=-1, descending=True)
    probs = torch.softmax(sorted_logits, dim=-1)
    # A token is dropped when the mass *before* it already reaches p; the top token always stays.
    drop_sorted = (probs.cumsum(-1) - probs) >= p
    drop = drop_sorted.scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def sample_logits(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """One token per row of ``logits`` (B, V) -> (B,) int64."""
    if temperature == 0:
        return logits.argmax(dim=-1)
    logits = logits.float() / temperature
    if top_k is not None:
        logits = filter_top_k(logits, top_k)
    if top_p is not None:
        logits = filter_top_p(logits, top_p)
    probs = torch.softmax(logits, dim=-1)
    return torch.multinomial(probs, 1, generator=generator).squeeze(1)


def make_generator(seed: int | None, device: torch.device) -> torch.Generator | None:
    """A generator on ``device`` seeded with ``seed``; None (torch's global RNG) when seed is None."""
    if seed is None:
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(int(seed))
    return gen


def generate_tokens(
    step: Callable[[Tensor, Any], tuple[Tensor, Any]],
    logits: Tensor,
    state: Any,
    length: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    on_token: Callable[[Tensor], None] | None = None,
) -> Tensor:
    """Sample ``length`` tokens autoregressively.

    ``logits`` (B, V) predict the first token; ``step(tokens (B,), state) -> (logits, state)``
    feeds a token and predicts the next. ``on_token(tokens (B,))`` sees each step's tokens as
    they are drawn (to stream the output). Returns (B, length) int64.
    """
    tokens = []
    for i in range(length):
        tok = sample_logits(logits, temperature, top_k, top_p, generator)
        tokens.append(tok)
        if on_token is not None:
            on_token(tok)
        if i + 1 < length:  # the last token needs no prediction after it
            logits, state = step(tok, state)
    return torch.stack(tokens, dim=1)
