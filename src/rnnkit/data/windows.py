"""Time series → supervised windows, and chronological splits.

A series is a (N, F) float array: N time steps, F columns. A window pairs
``input_len`` consecutive steps of the feature columns with the next
``horizon`` steps of the target columns:

    X[w] = series[s : s + input_len, feature_cols]                    (input_len, D)
    Y[w] = series[s + input_len : s + input_len + horizon, target_cols]  (horizon, Dt)

with ``s = w * stride``. Windows are views made by ``sliding_window_view``
and copied once, never built in a Python loop.

Splits are chronological (no shuffling across time: the future must not leak
into training). ``split_series`` cuts by sizes or fractions.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from rnnkit.errors import ConfigError, DataError, ShapeError

__all__ = ["make_windows", "split_series", "split_sizes"]


def make_windows(
    series: np.ndarray,
    input_len: int,
    horizon: int = 1,
    stride: int = 1,
    *,
    feature_cols: Sequence[int] | None = None,
    target_cols: Sequence[int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Sliding windows over ``series`` (N, F).

    Args:
        input_len: steps the model reads (T).
        horizon: steps it predicts after them.
        stride: steps between window starts.
        feature_cols: columns of X (default all F).
        target_cols: columns of Y (default all F).

    Returns:
        X (W, input_len, D) and Y (W, horizon, Dt), float32, with
        W = (N - input_len - horizon) // stride + 1.
    """
    arr = np.asarray(series)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ShapeError(f"series must have shape (N, F) or (N,); got {arr.shape}")
    for name, v in (("input_len", input_len), ("horizon", horizon), ("stride", stride)):
        if v < 1:
            raise ConfigError(f"{name} must be >= 1; got {v}")
    n, f = arr.shape
    for name, cols in (("feature_cols", feature_cols), ("target_cols", target_cols)):
        if cols is not None and any(not -f <= c < f for c in cols):
            raise ConfigError(f"{name} must be column indices in [0, {f}); got {list(cols)}")
    if n < input_len + horizon:
        raise DataError(
            f"series has {n} steps; a window needs input_len + horizon = {input_len + horizon}"
        )
    # (N - L + 1, F, L): every start position; keep every stride-th that leaves room for the horizon.
    w = sliding_window_view(arr, input_len + horizon, axis=0)[: n - input_len - horizon + 1 : stride]
    w = np.moveaxis(w, -1, 1)  # (W, input_len + horizon, F)
    fc = slice(None) if feature_cols is None else list(feature_cols)
    tc = slice(None) if target_cols is None else list(target_cols)
    x = np.ascontiguousarray(w[:, :input_len][:, :, fc], dtype=np.float32)
    y = np.ascontiguousarray(w[:, input_len:][:, :, tc], dtype=np.float32)
    return x, y


def split_sizes(n: int, fractions: Sequence[float]) -> list[int]:
    """Sizes of consecutive parts of ``n`` rows by ``fractions`` (summing to at most 1)."""
    if any(fr < 0 for fr in fractions) or sum(fractions) > 1 + 1e-9:
        raise ConfigError(f"fractions must be >= 0 and sum to at most 1; got {list(fractions)}")
    sizes = [int(np.floor(fr * n)) for fr in fractions]
    if abs(sum(fractions) - 1) < 1e-9:
        sizes[0] += n - sum(sizes)  # rounding leftovers go to training
    return sizes


def split_series(series: np.ndarray, sizes: Sequence[int]) -> list[np.ndarray]:
    """Consecutive parts of ``series`` along time with the given row counts (views)."""
    n = len(series)
    if any(s < 0 for s in sizes) or sum(sizes) > n:
        raise DataError(f"split sizes {list(sizes)} need {sum(sizes)} rows; the series has {n}")
    bounds = np.cumsum([0, *sizes])
    return [series[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
