"""Numeric sequences: ``.npz`` arrays and UCR-style TSV (univariate).

``.npz``: ``X`` (N, T, D) or (N, T), ``y`` (N) or (N, K), and an optional ``lengths`` (N)
integer array giving the real steps of each row of ``X`` (the rest is padding and is never
read, so it may hold anything, NaN included). Any other array in the file is refused by
name: nothing in a file is silently ignored. Object arrays (ragged lists) cannot be read
without pickle; pad them into ``X`` and give ``lengths``.

UCR archive files have one series per line: the class label (or target) first, then
the values, separated by tabs (2018 archive) or commas (older). They are
**univariate**: each series becomes x (T, 1) — use ``.ts``, ``.npz`` or long-format CSV
for several features per step. As in the UCR 2018 archive, a series shorter than the
longest is padded at its end with ``NaN``: trailing ``NaN`` cells are end padding and
are dropped (variable lengths); a gap inside a series follows ``data.missing``. A line
starting with ``@`` or ``#`` is a ``.ts`` header, refused here with a pointer to that format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, read_text, require_file
from rnnkit.data.sources.containers import ArrayClassData, ArrayExamples, encode_labels, label_names
from rnnkit.data.sources.missing import fill_gaps, parse_cell
from rnnkit.errors import DataError

__all__ = ["NPZ_ARRAYS", "read_npz_sequences", "read_npz", "read_ucr", "load_numeric"]

NPZ_ARRAYS = ("X", "y", "lengths")


def read_npz_sequences(
    path: PathLike, *, y_key: str | None = "y", missing: str = "error"
) -> tuple[list[np.ndarray], np.ndarray | None]:
    """The sequences (T_i, D) float32 of an ``.npz`` file (``lengths`` honoured) and its raw
    ``y`` (N, ...) — None with ``y_key=None`` (unlabelled input; a ``y`` array is then allowed
    and not read)."""
    p = require_file(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            keys = list(z.keys())
            unknown = [k for k in keys if k not in NPZ_ARRAYS]
            if unknown:
                raise DataError(f"{p}: unknown array {unknown[0]!r}: an .npz file holds {', '.join(NPZ_ARRAYS)} "
                                f"(lengths optional) and nothing else, so that no array is silently ignored; "
                                f"the file has {keys}")
            for k in ("X", y_key):
                if k is not None and k not in keys:
                    raise DataError(f"{p}: array {k!r} is missing; the file has {keys}")
            x, y = z["X"], (z[y_key] if y_key is not None else None)
            lengths = z["lengths"] if "lengths" in z else None
    except (OSError, ValueError, EOFError) as e:
        if isinstance(e, DataError):
            raise
        if "allow_pickle" in str(e):
            raise DataError(f"{p}: holds an object array (e.g. a list of sequences of different lengths), which "
                            f"cannot be read without pickle; pad the sequences into X (N, T, D) and give their "
                            f"real lengths in a 'lengths' array") from None
        raise DataError(f"{p}: not a readable .npz file ({e})") from None
    except Exception as e:  # zipfile.BadZipFile and friends: a damaged archive
        raise DataError(f"{p}: not a readable .npz file ({type(e).__name__}: {e})") from None
    x = x[:, :, None] if x.ndim == 2 else x
    if x.ndim != 3 or not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{p}: X must be numbers of shape (N, T, D) or (N, T); got {x.dtype} {x.shape}")
    if len(x) == 0:
        raise DataError(f"{p}: X holds no examples (shape {x.shape})")
    if y is not None and y.shape[:1] != x.shape[:1]:
        raise DataError(f"{p}: {y_key} must have {x.shape[0]} rows to match X; got shape {y.shape}")
    if lengths is None:
        n_steps = [x.shape[1]] * len(x)
    else:
        if lengths.shape != (len(x),) or not np.issubdtype(lengths.dtype, np.integer) or \
                lengths.min() < 1 or lengths.max() > x.shape[1]:
            raise DataError(f"{p}: lengths must be {len(x)} integers in [1, {x.shape[1]}] (real steps per row of "
                            f"X); got {lengths.dtype} {lengths.shape}, range "
                            f"{lengths.min() if lengths.size else '-'}..{lengths.max() if lengths.size else '-'}")
        n_steps = lengths.tolist()
    seqs = []
    for i, (row, n) in enumerate(zip(x, n_steps)):
        real = row[:n].astype(np.float64)
        seqs.append(fill_gaps(real, missing, lambda t, d, i=i: f"{p}: X[{i}, {t}, {d}]").astype(np.float32))
    return seqs, y


def read_npz(path: PathLike) -> tuple[np.ndarray, list[str], None]:
    """x (N, T, D) float32 and string labels from an ``.npz`` file of equal-length sequences."""
    seqs, y = read_npz_sequences(path)
    return _stack(seqs, path), [str(v) for v in y.tolist()], None  # type: ignore[union-attr]


def read_ucr(path: PathLike, *, missing: str = "error") -> tuple[list[np.ndarray], list[str], list[int]]:
    """Series (T_i, 1) float32 (trailing NaN padding dropped), string labels and line numbers
    from a UCR-style file."""
    p = Path(path)
    text = read_text(p)
    series, labels, lines = [], [], []
    width = None
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.lstrip().startswith(("@", "#")):
            raise DataError(f"{p}: line {n}: starts with {line.lstrip()[0]!r}: this is a sktime/UEA .ts file, not "
                            f"UCR TSV; set data.format = 'ts' (or name the file *.ts)")
        fields = line.replace(",", "\t").split("\t") if "\t" in line or "," in line else line.split()
        if width is None:
            width = len(fields)
            if width < 2:
                raise DataError(f"{p}: line {n}: expected a label then at least one value; got {width} field")
        if len(fields) != width:
            raise DataError(f"{p}: line {n}: expected {width} fields like line {lines[0] if lines else n}; "
                            f"got {len(fields)} (UCR TSV: a label then the values of one univariate series)")
        values = []
        for c, cell in enumerate(fields[1:], 2):  # columns numbered from 1; the label is 1
            try:
                values.append(parse_cell(cell))
            except ValueError:
                raise DataError(f"{p}: line {n}: column {c}: not a number: {cell!r}") from None
        x = np.array(values, dtype=np.float64)
        known = np.flatnonzero(~np.isnan(x))
        if len(known) == 0:
            raise DataError(f"{p}: line {n}: the series has no values (every cell after the label is missing)")
        x = x[: known[-1] + 1, None]  # trailing NaN: the archive's end padding of a shorter series
        series.append(fill_gaps(x, missing, lambda t, d, n=n: f"{p}: line {n}: column {t + 2}").astype(np.float32))
        labels.append(fields[0].strip())
        lines.append(n)
    if not series:
        raise DataError(f"{p}: no series found")
    return series, labels, lines


def _stack(seqs: list[np.ndarray], path: PathLike) -> np.ndarray:
    shapes = sorted({s.shape for s in seqs})
    if len(shapes) > 1:
        raise DataError(f"{path}: load_numeric returns one (N, T, D) array, but the sequences have shapes "
                        f"{shapes[:4]}; read variable lengths through the classify task (or read_npz_sequences)")
    return np.stack(seqs)


def _read(path: PathLike) -> tuple[np.ndarray, list[str], list[int] | None]:
    if str(path).endswith(".npz"):
        return read_npz(path)
    series, labels, lines = read_ucr(path)
    return _stack(series, path), labels, lines


def load_numeric(train: PathLike, val: PathLike | None = None, test: PathLike | None = None) -> ArrayClassData:
    """Numeric sequences of equal length per split (``.npz`` or UCR TSV by extension); labels from training."""
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
