"""Text cells → numbers, with the file, line and column of the first bad cell named."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.errors import DataError

__all__ = ["parse_numbers"]


def parse_numbers(rows: Sequence[Sequence[str]], lines: Sequence[int], columns: Sequence[str | int],
                  path: str | Path) -> np.ndarray:
    """``rows`` of text cells → a float64 array (R, C).

    ``lines[r]`` is the file line of row r and ``columns[c]`` the name (str) or 1-based
    number (int) of column c, used in the messages. A cell that is not a number, or is
    NaN/inf, is a :class:`DataError` naming file, line and column.
    """

    def where(r_line: int, c: int) -> str:
        name = columns[c]
        return f"{path}: line {r_line}: column {name!r}" if isinstance(name, str) else f"{path}: line {r_line}: column {name}"

    try:
        values = np.array(rows, dtype=np.float64)
    except ValueError:
        for row, line in zip(rows, lines):
            for c, v in enumerate(row):
                try:
                    float(v)
                except ValueError:
                    raise DataError(f"{where(line, c)}: not a number: {v!r}") from None
        raise
    bad = ~np.isfinite(values)
    if bad.any():
        r, c = (int(v) for v in np.argwhere(bad.reshape(len(values), -1))[0])
        raise DataError(f"{where(lines[r], c)}: value is not finite ({str(rows[r][c]).strip()})")
    return values
