"""Long-format CSV: one row per time step of a sequence, ``id, time, features..., label``.

::

    id,time,x,y,label
    a,0,0.1,1.0,up
    a,1,0.3,0.9,up
    b,0,0.5,0.2,down

The rows of one id form one sequence (T_i, D) — ids may have any number of rows, so
sequences of different lengths need no padding. Columns:

* the id column: ``id_column`` (``"auto"``: the one column named like ``id``,
  ``series_id``, ``sequence_id``, ``sample_id``, ``case_id``, ... in any case);
* the time column: ``time_column`` (``"auto"``: the one column named like ``time``,
  ``t``, ``step``, ``timestep``, ``timestamp``, ``date``, ``datetime``; none found means
  the file order; ``"none"``: the file order). Within an id the times must increase
  (numbers or ISO dates); the rows of an id need not be adjacent;
* the label columns (class label or regression targets): constant within an id;
* the features: ``feature_columns``, or every other column. Gaps (empty, ``?``,
  ``NaN``, ``NA``) follow ``data.missing``.

What ``"auto"`` chose is in :attr:`LongSeries.notes`; an ambiguous or failed choice is
an error listing the header.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, read_text
from rnnkit.data.sources.column_names import ID_NAMES, TIME_NAMES, listed, matching
from rnnkit.data.sources.missing import fill_gaps, parse_cell
from rnnkit.data.sources.table_rows import table_header, table_rows
from rnnkit.errors import DataError

__all__ = ["LongSeries", "read_long_csv", "find_column", "ID_NAMES", "TIME_NAMES"]


@dataclass
class LongSeries:
    """The sequences of a long-format file, one per id in order of first appearance.

    ``series`` (N items (T_i, D) float32), ``labels`` (N rows: one raw value per label
    column), ``lines`` (the first line of each id), the columns used, and ``notes``
    (what ``"auto"`` chose, for the user).
    """

    path: Path
    ids: list[str]
    series: list[np.ndarray]
    labels: list[list[str]]
    lines: list[int]
    id_column: str
    time_column: str | None
    feature_columns: list[str]
    label_columns: list[str]
    notes: list[str] = field(default_factory=list)


def find_column(header: Sequence[str], names: frozenset[str]) -> list[str]:
    """The columns of ``header`` whose name is one of ``names`` (any case, ignoring spaces, ``_``, ``-``)."""
    return matching(header, names)


def _choose(p: Path, header: list[str], value: str, names: frozenset[str], key: str, *,
            required: bool, notes: list[str]) -> str | None:
    if value == "none" and not required:
        return None
    if value != "auto":
        if value not in header:
            raise DataError(f"{p}: line 1: {key} {value!r} is not a column; the header has {header}")
        return value
    found = find_column(header, names)
    if len(found) > 1:
        raise DataError(f"{p}: line 1: {key} = 'auto' found several candidate columns {found}; "
                        f"name one in {key}")
    if not found:
        if required:
            raise DataError(f"{p}: line 1: {key} = 'auto' found no id column (looked for {listed(names)}, any case); "
                            f"the header has {header}; name it in {key}")
        notes.append(f"{key} = 'auto' found no time column (looked for {', '.join(listed(names))}): rows are taken "
                     f"in file order")
        return None
    notes.append(f"{key} = 'auto' chose column {found[0]!r}")
    return found[0]


def _time_key(p: Path, line: int, column: str, value: str, numeric: bool) -> float | datetime:
    try:
        return float(value) if numeric else datetime.fromisoformat(value.strip())
    except ValueError:
        raise DataError(f"{p}: line {line}: column {column!r}: time {value!r} is neither a number nor an ISO date, "
                        f"so its order cannot be checked; set data.time_column = 'none' to take the file order"
                        ) from None


def read_long_csv(
    path: PathLike,
    *,
    id_column: str = "auto",
    time_column: str = "auto",
    label_columns: Sequence[str] = (),
    feature_columns: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
    missing: str = "error",
    delimiter: str = ",",
) -> LongSeries:
    """The sequences of the long-format file ``path`` (plain or ``.gz``); see the module docstring.

    Args:
        label_columns: columns that must be present and constant within an id (labels, targets).
        exclude: further columns that are never features (e.g. a label column absent from
            unlabelled input).
    """
    p = Path(path)
    reader = csv.reader(io.StringIO(read_text(p), newline=""), delimiter=delimiter)
    header = table_header(reader, p)
    notes: list[str] = []
    idc = _choose(p, header, id_column, ID_NAMES, "data.id_column", required=True, notes=notes)
    assert idc is not None
    tc = _choose(p, header, time_column, TIME_NAMES, "data.time_column", required=False, notes=notes)
    for c in label_columns:
        if c not in header:
            raise DataError(f"{p}: line 1: label column {c!r} is not a column; the header has {header}")
    if feature_columns is None:
        skip = {idc, tc, *label_columns, *exclude}
        features = [h for h in header if h not in skip]
    else:
        features = list(feature_columns)
        for c in features:
            if c not in header:
                raise DataError(f"{p}: line 1: feature column {c!r} is not a column; the header has {header}")
    if not features:
        raise DataError(f"{p}: no feature column left besides the id, time and label columns; the header has {header}")
    fpos = [header.index(c) for c in features]
    lpos = [header.index(c) for c in label_columns]
    ipos, tpos = header.index(idc), (header.index(tc) if tc is not None else None)

    rows: dict[str, list[tuple[int, list[str]]]] = {}  # id -> (line, row) in file order
    for line, row in table_rows(reader, len(header), p):
        rows.setdefault(row[ipos].strip(), []).append((line, row))
    if not rows:
        raise DataError(f"{p}: has a header but no data rows")

    numeric_time = True
    if tpos is not None:
        for group in rows.values():
            for line, row in group:
                try:
                    float(row[tpos])
                except ValueError:  # not numbers: ISO dates, or the first such cell is named
                    numeric_time = False
                    _time_key(p, line, tc, row[tpos], numeric=False)  # type: ignore[arg-type]
                    break
            if not numeric_time:
                break

    out = LongSeries(p, [], [], [], [], idc, tc, features, list(label_columns), notes)
    for key, group in rows.items():
        first_line, first = group[0]
        if tpos is not None:
            prev = None
            for line, row in group:
                t = _time_key(p, line, tc, row[tpos], numeric_time)  # type: ignore[arg-type]
                if prev is not None and not t > prev[0]:  # type: ignore[operator]
                    raise DataError(f"{p}: line {line}: id {key!r}: time {row[tpos]!r} does not come after "
                                    f"{prev[2]!r} (line {prev[1]}); the rows of an id must be ordered by time")
                prev = (t, line, row[tpos])
        for j, c in zip(lpos, label_columns):
            for line, row in group:
                if row[j].strip() != first[j].strip():
                    raise DataError(f"{p}: line {line}: id {key!r}: column {c!r} changes from {first[j].strip()!r} "
                                    f"(line {first_line}) to {row[j].strip()!r}; a sequence has one label, the same "
                                    f"on each of its rows")
        cells = np.empty((len(group), len(fpos)), dtype=np.float64)
        for r, (line, row) in enumerate(group):
            for d, j in enumerate(fpos):
                try:
                    cells[r, d] = parse_cell(row[j])
                except ValueError:
                    raise DataError(f"{p}: line {line}: column {features[d]!r}: not a number: {row[j]!r}") from None
        lines_of = [line for line, _ in group]
        x = fill_gaps(cells, missing,
                      lambda t, d, k=key, ls=lines_of: f"{p}: line {ls[t]}: id {k!r}: column {features[d]!r}")
        out.ids.append(key)
        out.series.append(x.astype(np.float32))
        out.labels.append([first[j].strip() for j in lpos])
        out.lines.append(first_line)
    return out
