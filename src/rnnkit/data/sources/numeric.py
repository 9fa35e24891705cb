"""Numeric sequence classification: ``.npz`` (X: N×T×D, y: N) or UCR-style TSV.

UCR archive files have one series per line: the class label first, then the
values, separated by tabs (2018 archive) or commas (older). Each series
becomes x (T, 1). Non-finite values (NaN, inf) are errors that name the line
and column: rnnkit does not guess how to fill gaps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, read_text, require_file
from rnnkit.data.sources.containers import ArrayClassData, ArrayExamples, encode_labels, label_names
from rnnkit.data.numbers import parse_numbers
from rnnkit.errors import DataError

__all__ = ["read_npz", "read_ucr", "load_numeric"]


def read_npz(path: PathLike, *, x_key: str = "X", y_key: str = "y") -> tuple[np.ndarray, list[str], None]:
    """x (N, T, D) float32 and string labels from an ``.npz`` file."""
    p = require_file(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = list(z.keys())
            for k in (x_key, y_key):
                if k not in keys:
                    raise DataError(f"{p}: unknown array {k!r}; the file has {keys}")
            x, y = z[x_key], z[y_key]
    except (OSError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{p}: not a readable .npz file ({e})") from None
    if x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise DataError(f"{p}: {x_key} must have shape (N, T, D) or (N, T); got {x.shape}")
    if y.shape != (x.shape[0],):
        raise DataError(f"{p}: {y_key} must have shape ({x.shape[0]},) to match {x_key}; got {y.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{p}: {x_key} must be numeric; got dtype {x.dtype}")
    bad = ~np.isfinite(x)
    if bad.any():
        i, t, d = (int(v) for v in np.argwhere(bad)[0])
        raise DataError(f"{p}: {x_key}[{i}, {t}, {d}] is not finite ({x[i, t, d]})")
    return x.astype(np.float32), [str(v) for v in y.tolist()], None


def read_ucr(path: PathLike) -> tuple[np.ndarray, list[str], list[int]]:
    """x (N, T, 1) float32, string labels and line numbers from a UCR-style file."""
    p = Path(path)
    text = read_text(p)
    rows, labels, lines = [], [], []
    width = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.replace(",", "\t").split("\t") if "\t" in line or "," in line else line.split()
        if width is None:
            width = len(fields)
            if width < 2:
                raise DataError(f"{p}: line {n}: expected a label then at least one value; got {width} field")
        if len(fields) != width:
            raise DataError(f"{p}: line {n}: expected {width} fields like line {lines[0] if lines else n}; got {len(fields)}")
        labels.append(fields[0].strip())
        rows.append(fields[1:])
        lines.append(n)
    if not rows:
        raise DataError(f"{p}: no series found")
    x = parse_numbers(rows, lines, list(range(2, width + 1)), p)  # columns numbered from 1; the label is 1
    return x.astype(np.float32)[:, :, None], labels, lines


def _read(path: PathLike) -> tuple[np.ndarray, list[str], list[int] | None]:
    return read_npz(path) if str(path).endswith(".npz") else read_ucr(path)


def load_numeric(train: PathLike, val: PathLike | None = None, test: PathLike | None = None) -> ArrayClassData:
    """Numeric sequences per split (``.npz`` or UCR TSV by extension); labels from training."""
    tx, ty, _ = _read(train)
    names = label_names(ty)
    splits = {}
    for key, path in (("val", val), ("test", test)):
        if path is None:
            splits[key] = None
            continue
        x, y, lines = _read(path)
        if x.shape[1:] != tx.shape[1:]:
            raise DataError(f"{path}: series must have shape (T, D) = {tx.shape[1:]} like {train}; got {x.shape[1:]}")
        splits[key] = ArrayExamples(x, encode_labels(y, names, path=path, lines=lines))
    return ArrayClassData(ArrayExamples(tx, encode_labels(ty, names, path=train)), splits["val"], splits["test"], names)
