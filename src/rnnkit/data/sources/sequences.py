"""One entry for the numeric sequence formats of classify and regress: ``npz``, ``ucr``,
``ts`` and ``long-csv`` → variable-length sequences (T_i, D) and their targets.

Class targets come back as strings (labels), value targets as an (N, K) float32 array.
Every reader keeps each sequence's own length: nothing is padded here (the
``lengths``-aware batching does that).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike
from rnnkit.data.sources.longcsv import read_long_csv
from rnnkit.data.sources.numeric import read_npz_sequences, read_ucr
from rnnkit.data.sources.uea import read_ts
from rnnkit.errors import DataError

__all__ = ["NUMERIC_FORMATS", "SequenceFile", "read_sequences"]

NUMERIC_FORMATS = ("npz", "ucr", "ts", "long-csv")


@dataclass
class SequenceFile:
    """``inputs`` (N items (T_i, D) float32), ``targets`` (N labels, an (N, K) float32 array, or
    None), ``lines`` (the line of each example, when it has one), ``notes`` (choices made)."""

    inputs: list[np.ndarray]
    targets: list[str] | np.ndarray | None
    lines: list[int] | None = None
    notes: list[str] = field(default_factory=list)


def _values(raw: Sequence[Sequence[str]], where: Sequence[str], what: str) -> np.ndarray:
    """Rows of text targets → (N, K) float32; a non-number or non-finite value names its place."""
    out = np.empty((len(raw), len(raw[0]) if raw else 1), dtype=np.float64)
    for i, (row, w) in enumerate(zip(raw, where)):
        for k, v in enumerate(row):
            try:
                out[i, k] = float(v)
            except ValueError:
                raise DataError(f"{w}: the {what} must be a number; got {v!r}") from None
            if not np.isfinite(out[i, k]):
                raise DataError(f"{w}: the {what} is not finite ({v.strip()})")
    return out.astype(np.float32)


def read_sequences(
    path: PathLike,
    fmt: str,
    *,
    target: str,
    labelled: bool = True,
    label_columns: Sequence[str] = ("label",),
    id_column: str = "auto",
    time_column: str = "auto",
    feature_columns: Sequence[str] | None = None,
    missing: str = "error",
) -> SequenceFile:
    """The sequences of ``path`` in numeric format ``fmt`` (one of :data:`NUMERIC_FORMATS`).

    Args:
        target: ``"class"`` (labels, classify) or ``"value"`` (numbers, regress).
        labelled: False for unlabelled input (``predict``): targets are not read.
        label_columns, id_column, time_column, feature_columns: the long-CSV columns
            (:func:`~rnnkit.data.sources.longcsv.read_long_csv`).
        missing: the gap policy (:mod:`~rnnkit.data.sources.missing`).
    """
    p = Path(path)
    if fmt == "npz":
        x, y = read_npz_sequences(p, y_key="y" if labelled else None, missing=missing)
        if y is None:
            return SequenceFile(x, None)
        if target == "class":
            if y.ndim != 1:
                raise DataError(f"{p}: y must hold one label per example, shape ({len(x)},); got {y.shape}")
            return SequenceFile(x, [str(v) for v in y.tolist()])
        if not np.issubdtype(y.dtype, np.number):
            raise DataError(f"{p}: y must be numbers (N,) or (N, K); got dtype {y.dtype}")
        bad = ~np.isfinite(y.astype(np.float64))
        if bad.any():
            pos = [int(i) for i in np.argwhere(bad)[0]]
            raise DataError(f"{p}: y{pos} is not finite ({y[tuple(pos)]})")
        return SequenceFile(x, y.astype(np.float32).reshape(len(y), -1))
    if fmt == "ucr":
        x, raw, lines = read_ucr(p, missing=missing)
        if not labelled:
            return SequenceFile(x, None, lines)
        targets = raw if target == "class" else \
            _values([[v] for v in raw], [f"{p}: line {n}: column 1" for n in lines], "target")
        return SequenceFile(x, targets, lines)
    if fmt == "ts":
        ts = read_ts(p, missing=missing)
        want = "class" if target == "class" else "value"
        if labelled and ts.target_kind != want:
            has = {"class": "class labels (@classLabel true): use the classify task",
                   "value": "regression targets (@targetLabel true): use the regress task",
                   None: "no labels (neither @classLabel true nor @targetLabel true)"}[ts.target_kind]
            need = "class labels (@classLabel true ...)" if want == "class" else "targets (@targetLabel true)"
            raise DataError(f"{p}: this task needs {need}; the file has {has}")
        if not labelled or ts.targets is None:
            return SequenceFile(ts.series, None, ts.lines)
        targets = ts.targets if want == "class" else \
            _values([[v] for v in ts.targets], [f"{p}: line {n}" for n in ts.lines], "target")
        return SequenceFile(ts.series, targets, ts.lines)
    if fmt == "long-csv":
        data = read_long_csv(p, id_column=id_column, time_column=time_column,
                             label_columns=label_columns if labelled else (),
                             exclude=() if labelled else label_columns,
                             feature_columns=feature_columns, missing=missing)
        for note in data.notes:
            warnings.warn(f"{p}: {note}", UserWarning, stacklevel=2)
        notes = [*data.notes, f"long-csv: id {data.id_column!r}, time {data.time_column!r}, "
                              f"features {data.feature_columns}"]
        if not labelled:
            return SequenceFile(data.series, None, data.lines, notes)
        if target == "class":
            return SequenceFile(data.series, [row[0] for row in data.labels], data.lines, notes)
        where = [f"{p}: line {n}: id {i!r}" for n, i in zip(data.lines, data.ids)]
        return SequenceFile(data.series, _values(data.labels, where, "target"), data.lines, notes)
    raise DataError(f"data.format {fmt!r} is not a numeric sequence format ({', '.join(NUMERIC_FORMATS)})")
