"""The missing-value policy of the numeric sequence readers (``data.missing``).

A gap is a cell written ``?`` (the sktime ``.ts`` convention), ``NaN``/``nan``, ``NA``
or left empty. rnnkit never fills gaps on its own:

* ``"error"`` (default): the first gap is a DataError naming the file, the line (or
  the example), the dimension and the step;
* ``"interpolate"``: each dimension of a sequence is filled linearly between its
  nearest known values; gaps before the first / after the last known value take that
  value. A dimension of a sequence with no known value at all is still an error.

Infinite values are never gaps: they are refused whatever the policy.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from rnnkit.errors import DataError

__all__ = ["MISSING_POLICIES", "GAP_TOKENS", "parse_cell", "fill_gaps"]

MISSING_POLICIES = ("error", "interpolate")
GAP_TOKENS = frozenset({"", "?", "nan", "na"})  # compared lower-cased and stripped


def parse_cell(text: str) -> float:
    """A number, or NaN for a gap token; ValueError for anything else (callers name the place)."""
    s = text.strip()
    if s.lower() in GAP_TOKENS:
        return float("nan")
    return float(s)


def fill_gaps(x: np.ndarray, policy: str, where: Callable[[int, int], str]) -> np.ndarray:
    """``x`` (T, D) with its NaN gaps handled by ``policy``; ``where(t, d)`` names a position
    (e.g. ``"a.ts: line 7: dimension 2, step 5"``) for the messages. Infinite values are errors."""
    if policy not in MISSING_POLICIES:
        raise DataError(f"data.missing must be one of {list(MISSING_POLICIES)}; got {policy!r}")
    inf = np.isinf(x)
    if inf.any():
        t, d = (int(v) for v in np.argwhere(inf)[0])
        raise DataError(f"{where(t, d)}: value is not finite ({x[t, d]})")
    gaps = np.isnan(x)
    if not gaps.any():
        return x
    if policy == "error":
        t, d = (int(v) for v in np.argwhere(gaps)[0])
        raise DataError(f"{where(t, d)}: missing value; data.missing = 'error' refuses gaps "
                        f"(set data.missing = 'interpolate' to fill them linearly, or fill them in the file)")
    out = x.copy()
    steps = np.arange(len(x))
    for d in range(x.shape[1]):
        known = ~gaps[:, d]
        if not known.any():
            raise DataError(f"{where(0, d)}: every value of this dimension is missing; "
                            f"data.missing = 'interpolate' needs at least one known value")
        if not known.all():
            out[:, d] = np.interp(steps, steps[known], x[known, d])
    return out
