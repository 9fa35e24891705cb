"""Deterministic hold-out splits: which examples go to validation (or test)."""

from __future__ import annotations

import numpy as np

from rnnkit.errors import DataError

__all__ = ["random_split"]


def random_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (kept, held out) of ``n`` examples: a seeded random ``fraction`` (at least
    one example when ``fraction > 0``) is held out; both sorted, so file order is kept
    and the split depends only on ``(n, fraction, seed)``."""
    n_held = int(round(n * fraction))
    if fraction > 0 and n_held == 0:
        n_held = 1
    if fraction > 0 and n_held >= n:
        raise DataError(f"cannot hold out a fraction of {fraction} from {n} examples and keep some for training")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_held:]), np.sort(order[:n_held])
