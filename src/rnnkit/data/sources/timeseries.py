"""CSV time series for regression and forecasting (e.g. ETTh1).

A header row names the columns; a time column is kept as strings, every other used
column must be numeric and finite — a NaN or inf names line and column. With
``time_column="auto"`` the first column whose name, in any case and without
spaces/``_``/``-``, is a usual time name (:data:`TIME_NAMES`: date, time, timestamp,
datetime, ds, year, month, week, day, hour, minute, period, ...) is the time
column, and a ``UserWarning`` says which one was chosen (and which other
time-like columns stay numeric). :func:`monotonic_integer_columns` finds columns
of strictly increasing integers (a row index, a year no name rule caught), which
the forecast task warns about when they would be input features.
Splits are chronological (sizes or fractions), and scalers are fitted on the
training rows only (:meth:`SeriesData.scale`).

ETTh1's standard split (Informer and successors): 12 months train (8640 rows),
4 months val (2880), 4 months test (2880); the remaining rows are unused.
Validation and test windows may start ``input_len`` rows before their split
(``overlap=True``, as those papers do), so their first target is the split's
first row.
"""

from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, find_in_folder, read_text
from rnnkit.data.scalers import MinMaxScaler, StandardScaler
from rnnkit.data.sources.column_names import TIME_NAMES, matching
from rnnkit.data.sources.resolve import resolve
from rnnkit.data.sources.table_rows import table_header, table_rows
from rnnkit.data.windows import make_windows, split_sizes
from rnnkit.data.numbers import parse_numbers
from rnnkit.errors import ConfigError, DataError

__all__ = ["SeriesData", "WindowSplits", "read_csv_series", "load_csv_series", "load_etth1", "ETTH1_SIZES",
           "TIME_NAMES", "auto_time_column", "monotonic_integer_columns"]

ETTH1_SIZES = (8640, 2880, 2880)
def auto_time_column(header: list[str], where: str | Path = "") -> str | None:
    """The first column of ``header`` with a usual time name (:data:`TIME_NAMES`, any case),
    or None; a ``UserWarning`` says which column was chosen (nothing is chosen silently)."""
    found = matching(header, TIME_NAMES)
    if not found:
        return None
    others = f"; {', '.join(map(repr, found[1:]))} look time-like too and stay numeric columns" if found[1:] else ""
    warnings.warn(f"{where}: time_column = \"auto\" chose {found[0]!r} as the time column (not an input){others}; "
                  f"name another with data.time_column = \"NAME\", or \"none\" for no time column",
                  UserWarning, stacklevel=3)
    return found[0]


def monotonic_integer_columns(values: np.ndarray, names: list[str]) -> list[str]:
    """The columns of ``values`` (N, F) that hold strictly increasing integers over at least
    3 rows: a row index or a year, which as an input feature only grows with time."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or len(v) < 3:
        return []
    integral = np.all(v == np.round(v), axis=0)
    increasing = np.all(np.diff(v, axis=0) > 0, axis=0)
    return [n for n, ok in zip(names, integral & increasing) if ok]


@dataclass
class WindowSplits:
    """Windows per split: ``x`` (W, input_len, D) and ``y`` (W, horizon, Dt) per split name."""

    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray] | None


@dataclass
class SeriesData:
    """A multivariate series with its chronological split.

    ``values`` (N, F) float32 holds the used columns ``columns``; rows
    ``[0, bounds[0])`` are train, ``[bounds[0], bounds[1])`` val,
    ``[bounds[1], bounds[2])`` test. ``feature_columns``/``target_columns``
    are names among ``columns``; ``time`` holds the time column (or None).
    """

    values: np.ndarray
    columns: list[str]
    feature_columns: list[str]
    target_columns: list[str]
    bounds: tuple[int, int, int]
    time: list[str] | None = None
    path: Path | None = None

    @property
    def train(self) -> np.ndarray:
        return self.values[: self.bounds[0]]

    @property
    def val(self) -> np.ndarray:
        return self.values[self.bounds[0] : self.bounds[1]]

    @property
    def test(self) -> np.ndarray:
        return self.values[self.bounds[1] : self.bounds[2]]

    def scale(self, kind: str = "standard") -> tuple[SeriesData, StandardScaler | MinMaxScaler]:
        """A copy scaled by a scaler fitted on the training rows only, and that scaler."""
        if kind == "standard":
            scaler: StandardScaler | MinMaxScaler = StandardScaler()
        elif kind == "minmax":
            scaler = MinMaxScaler()
        else:
            raise ConfigError(f"scaler kind must be 'standard' or 'minmax'; got {kind!r}")
        scaler.fit(self.train)
        return replace(self, values=scaler.transform(self.values).astype(np.float32)), scaler

    def windows(self, input_len: int, horizon: int = 1, stride: int = 1, *, overlap: bool = True) -> WindowSplits:
        """Sliding windows per split; features → X, targets → Y (see ``make_windows``)."""
        fc = [self.columns.index(c) for c in self.feature_columns]
        tc = [self.columns.index(c) for c in self.target_columns]
        starts = (0, self.bounds[0], self.bounds[1])
        ends = self.bounds

        def part(i: int) -> tuple[np.ndarray, np.ndarray] | None:
            lo = max(0, starts[i] - input_len) if (overlap and i > 0) else starts[i]
            if ends[i] - starts[i] == 0:
                return None
            return make_windows(self.values[lo : ends[i]], input_len, horizon, stride, feature_cols=fc, target_cols=tc)

        train = part(0)
        assert train is not None
        return WindowSplits(train, part(1), part(2))


def read_csv_series(
    path: PathLike, *, columns: list[str] | None = None, time_column: str | None = "auto"
) -> tuple[np.ndarray, list[str], list[str] | None]:
    """Numeric columns (N, F) float64, their names, and the time column of a CSV file.

    ``columns=None`` uses every column except the time column.
    """
    p = Path(path)
    text = read_text(p)
    reader = csv.reader(io.StringIO(text, newline=""))
    header = table_header(reader, p)
    if time_column == "auto":
        time_column = auto_time_column(header, p)
    elif time_column is not None and time_column not in header:
        raise DataError(f"{p}: line 1: unknown column {time_column!r}; the header has {header}")
    use = columns if columns is not None else [h for h in header if h != time_column]
    for c in use:
        if c not in header:
            raise DataError(f"{p}: line 1: unknown column {c!r}; the header has {header}")
    if not use:
        raise DataError(f"{p}: no numeric columns to read")
    pos = [header.index(c) for c in use]
    tpos = header.index(time_column) if time_column else None
    cells: list[list[str]] = []
    times: list[str] = []
    lines: list[int] = []
    for line, row in table_rows(reader, len(header), p):
        cells.append([row[i] for i in pos])
        if tpos is not None:
            times.append(row[tpos])
        lines.append(line)
    if not cells:
        raise DataError(f"{p}: has a header but no data rows")
    values = parse_numbers(cells, lines, use, p)
    return values, use, (times if tpos is not None else None)


def load_csv_series(
    path: PathLike,
    *,
    target_columns: list[str],
    feature_columns: list[str] | None = None,
    time_column: str | None = "auto",
    sizes: tuple[int, int, int] | None = None,
    fractions: tuple[float, float, float] = (0.7, 0.1, 0.2),
) -> SeriesData:
    """A CSV series split chronologically by row ``sizes`` or by ``fractions``.

    ``feature_columns=None`` uses every non-time column (targets included, so the
    model sees the target's past, as in multivariate forecasting).
    """
    if not target_columns:
        raise ConfigError("target_columns must name at least one column")
    wanted = None
    if feature_columns is not None:
        wanted = list(dict.fromkeys([*feature_columns, *target_columns]))
    values, names, time = read_csv_series(path, columns=wanted, time_column=time_column)
    for c in target_columns:
        if c not in names:
            raise DataError(f"{path}: line 1: unknown target column {c!r}; columns are {names}")
    n = len(values)
    if sizes is None:
        sizes = tuple(split_sizes(n, fractions))  # type: ignore[assignment]
    if sum(sizes) > n:
        raise DataError(f"{path}: split sizes {list(sizes)} need {sum(sizes)} rows; the file has {n}")
    if sizes[0] < 1:
        raise DataError(f"{path}: the training split is empty (sizes {list(sizes)})")
    bounds = tuple(int(b) for b in np.cumsum(sizes))
    return SeriesData(
        values.astype(np.float32), names, list(feature_columns) if feature_columns is not None else list(names),
        list(target_columns), bounds, time, Path(path),  # type: ignore[arg-type]
    )


def load_etth1(path: PathLike | None = None, *, target: str = "OT", download: bool = True) -> SeriesData:
    """ETTh1 with its standard 8640/2880/2880 split; all 7 columns are features, ``OT`` the target."""
    p = resolve("ett", path, download=download)
    if p.is_dir():
        p = find_in_folder(p, ("ETTh1.csv",))
    return load_csv_series(p, target_columns=[target], time_column="date", sizes=ETTH1_SIZES)
