"""Deterministic hold-out splits: which examples go to validation (or test): a seeded random
fraction, or (series) chronological parts of given row counts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.errors import DataError

__all__ = ["random_split", "chronological_parts"]


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


def chronological_parts(n: int, rows: Sequence[int], context: int, horizon: int,
                        where: str) -> dict[str, np.ndarray]:
    """Row indices of the ``train``/``val``/``test`` parts of ``n`` rows cut in time order by
    ``rows = [train, val, test]`` (``data.split_rows``), and ``unused`` for the rows after them.

    The validation and test parts start ``context`` rows early (their first target is the
    part's own first row), so those rows serve twice. A part of 0 rows is left out; a
    non-empty one must hold a whole window (training: ``context + horizon`` rows; validation
    and test: ``horizon`` rows of their own)."""
    a, b, c = (int(v) for v in rows)
    if a + b + c > n:
        raise DataError(f"{where}: data.split_rows = {list(rows)} needs {a + b + c} rows; the series has {n}")
    if a < context + horizon:
        raise DataError(f"{where}: data.split_rows gives the training part {a} rows; one window needs "
                        f"input_len + horizon = {context + horizon}")
    for name, size in (("validation", b), ("test", c)):
        if 0 < size < horizon:
            raise DataError(f"{where}: data.split_rows gives the {name} part {size} rows; a window needs "
                            f"horizon = {horizon} of them (or 0 for no {name} part)")
    parts = {"train": np.arange(a), "val": np.arange(a - context, a + b), "test": np.arange(a + b - context, a + b + c),
             "unused": np.arange(a + b + c, n)}
    return {k: v for k, v in parts.items() if k == "train" or len(v) > (0 if k == "unused" else context)}
