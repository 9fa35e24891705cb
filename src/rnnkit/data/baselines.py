"""Naive forecasts of the windows :func:`rnnkit.data.make_windows` makes, to score a
forecaster against on exactly the same windows.

For the window starting at row ``s`` the last observed row is ``t = s + input_len - 1``
and step ``j`` (1..horizon) forecasts row ``t + j``:

* ``naive`` (last value): ``series[t]`` for every step;
* ``seasonal_naive`` with season ``m`` (``1 <= m <= input_len``): the value one season
  before, ``series[t + j - m * ceil(j / m)]`` — the last ``m`` input rows repeated.
  ``m = 1`` is the naive forecast.

Both read only the window's own input rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rnnkit.data.windows import make_windows
from rnnkit.errors import ConfigError

__all__ = ["naive_forecasts"]


def naive_forecasts(
    series: np.ndarray,
    input_len: int,
    horizon: int = 1,
    stride: int = 1,
    *,
    target_cols: Sequence[int] | None = None,
    season: int | None = None,
) -> dict[str, np.ndarray]:
    """``{"naive": ..., "seasonal_naive": ...}`` (the latter only given ``season``), each
    (W, horizon, Dt) float32 and aligned with ``make_windows(series, input_len, horizon,
    stride, target_cols=target_cols)[1]``."""
    history, _ = make_windows(series, input_len, horizon, stride, feature_cols=target_cols, target_cols=target_cols)
    out = {"naive": np.repeat(history[:, -1:], horizon, axis=1)}
    if season is not None:
        if isinstance(season, bool) or not isinstance(season, (int, np.integer)) or not 1 <= season <= input_len:
            raise ConfigError(f"season must be an integer in 1..input_len = {input_len} (the seasonal-naive "
                              f"forecast repeats the last season of the input rows); got {season!r}")
        j = np.arange(1, horizon + 1)
        rows = input_len - 1 + j - season * ((j + season - 1) // season)
        out["seasonal_naive"] = np.ascontiguousarray(history[:, rows])
    return out
