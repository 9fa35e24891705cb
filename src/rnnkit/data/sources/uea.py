"""sktime / UEA ``.ts`` files: the format of the UEA & UCR time-series classification archives.

A header of ``@tag value`` lines (any case; ``#`` lines are comments), then ``@data`` and
one case per line::

    @problemName Toy
    @timeStamps false
    @univariate false
    @dimensions 2
    @equalLength false
    @classLabel true up down
    @data
    1,2,3:0.5,0.4,0.3:up
    3,2:1,1:down

Dimensions are separated by ``:``, values by ``,``; the last field is the class label
(``@classLabel true ...``) or the regression target (``@targetLabel true``). Every
header tag is checked against the data (``@univariate``, ``@dimensions``,
``@equalLength``, ``@seriesLength``, the declared class labels, ``@missing``) and a
contradiction names the line. ``@timeStamps true`` (values written as ``(time,value)``)
is refused: rnnkit reads evenly spaced values only. Missing values (``?``, ``NaN``)
follow ``data.missing`` (:mod:`rnnkit.data.sources.missing`). Cases may have
different lengths; the dimensions of one case must have the same length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, read_text
from rnnkit.data.sources.missing import fill_gaps, parse_cell
from rnnkit.errors import DataError

__all__ = ["TsFile", "read_ts", "TS_TAGS"]

# tag (lower case) -> what its value must be
TS_TAGS = {
    "problemname": "a name",
    "timestamps": "true or false",
    "missing": "true or false",
    "univariate": "true or false",
    "dimension": "a positive integer",
    "dimensions": "a positive integer",
    "equallength": "true or false",
    "serieslength": "a positive integer",
    "classlabel": "true followed by the labels, or false",
    "targetlabel": "true or false",
}


@dataclass
class TsFile:
    """The cases of a ``.ts`` file.

    ``series`` (N items (T_i, D) float32), ``targets`` (N raw labels or target values as
    text, None when the file has neither ``@classLabel true`` nor ``@targetLabel true``),
    ``target_kind`` (``"class"``, ``"value"`` or None), ``lines`` (the line of each case),
    ``class_labels`` (as declared in the header), ``header`` (tag → raw value).
    """

    path: Path
    series: list[np.ndarray]
    targets: list[str] | None
    target_kind: str | None
    lines: list[int]
    class_labels: list[str] | None = None
    header: dict[str, str] = field(default_factory=dict)


def _flag(p: Path, n: int, tag: str, value: str) -> bool:
    v = value.strip().lower()
    if v not in ("true", "false"):
        raise DataError(f"{p}: line {n}: @{tag} must be true or false; got {value.strip()!r}")
    return v == "true"


def _count(p: Path, n: int, tag: str, value: str) -> int:
    try:
        k = int(value.strip())
    except ValueError:
        k = 0
    if k < 1:
        raise DataError(f"{p}: line {n}: @{tag} must be a positive integer; got {value.strip()!r}")
    return k


def read_ts(path: PathLike, *, missing: str = "error") -> TsFile:
    """The cases of the ``.ts`` file ``path`` (plain or ``.gz``); see the module docstring."""
    p = Path(path)
    header: dict[str, str] = {}
    tag_line: dict[str, int] = {}
    spelled: dict[str, str] = {}  # the tag as the file writes it, for messages
    data_line = None
    lines_iter = read_text(p).splitlines()
    n = 0
    for n, raw in enumerate(lines_iter, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise DataError(f"{p}: line {n}: expected a header tag (@name value), or @data before the first "
                            f"case; got {line[:40]!r}")
        tag, _, value = line[1:].partition(" ")
        tag = tag.lower()
        if tag == "data":
            data_line = n
            break
        if tag not in TS_TAGS:
            raise DataError(f"{p}: line {n}: unknown header tag @{tag}; known: "
                            f"{', '.join('@' + t for t in TS_TAGS)}")
        header[tag] = value
        tag_line[tag] = n
        spelled[tag] = line[1:].partition(" ")[0]
    if data_line is None:
        raise DataError(f"{p}: no @data line: a .ts file has header tags, then @data, then one case per line")

    def flag(tag: str) -> bool | None:
        return _flag(p, tag_line[tag], spelled[tag], header[tag]) if tag in header else None

    def count(tag: str) -> int | None:
        return _count(p, tag_line[tag], spelled[tag], header[tag]) if tag in header else None

    if flag("timestamps"):
        raise DataError(f"{p}: line {tag_line['timestamps']}: @timeStamps true is not supported: rnnkit reads "
                        f"evenly spaced values (write the values without their time stamps and "
                        f"@timeStamps false)")
    class_labels = None
    if "classlabel" in header:
        first, *labels = header["classlabel"].split()
        if _flag(p, tag_line["classlabel"], spelled["classlabel"], first or ""):
            if not labels:
                raise DataError(f"{p}: line {tag_line['classlabel']}: @classLabel true must list the class labels")
            class_labels = labels
    is_target = bool(flag("targetlabel"))
    if class_labels is not None and is_target:
        raise DataError(f"{p}: line {tag_line['targetlabel']}: @classLabel true and @targetLabel true together; "
                        f"a case has one label field")
    kind = "class" if class_labels is not None else "value" if is_target else None
    univariate, equal, declared_missing = flag("univariate"), flag("equallength"), flag("missing")
    dims_tag = "dimensions" if "dimensions" in header else "dimension"
    dims, length = count(dims_tag), count("serieslength")

    series: list[np.ndarray] = []
    targets: list[str] = []
    lines: list[int] = []
    width = None
    for n, raw in enumerate(lines_iter[data_line:], data_line + 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if "(" in line:
            raise DataError(f"{p}: line {n}: values written as (time,value) are time stamps; rnnkit reads "
                            f"evenly spaced values only (@timeStamps false)")
        fields = line.split(":")
        if kind is not None:
            if len(fields) < 2:
                raise DataError(f"{p}: line {n}: expected the dimensions then the "
                                f"{'class label' if kind == 'class' else 'target'} after a ':'; got one field")
            label = fields.pop().strip()
            if kind == "class" and label not in class_labels:  # type: ignore[operator]
                raise DataError(f"{p}: line {n}: class label {label!r} is not among those @classLabel declares "
                                f"(line {tag_line['classlabel']}: {', '.join(class_labels)})")  # type: ignore[arg-type]
            if kind == "value":
                try:
                    ok = np.isfinite(float(label))
                except ValueError:
                    ok = False
                if not ok:
                    raise DataError(f"{p}: line {n}: the target (after the last ':') must be a finite number; "
                                    f"got {label!r}")
            targets.append(label)
        if width is None:
            width = len(fields)
        if len(fields) != width:
            raise DataError(f"{p}: line {n}: expected {width} dimensions like line {lines[0]}; got {len(fields)}")
        cols = []
        for d, text in enumerate(fields):
            values = []
            for t, cell in enumerate(text.split(",")):
                try:
                    values.append(parse_cell(cell))
                except ValueError:
                    raise DataError(f"{p}: line {n}: dimension {d + 1}, step {t + 1}: not a number: "
                                    f"{cell.strip()!r}") from None
            cols.append(values)
        sizes = {len(c) for c in cols}
        if len(sizes) > 1:
            raise DataError(f"{p}: line {n}: the dimensions of a case must have the same length; got "
                            f"{[len(c) for c in cols]} values per dimension")
        x = np.array(cols, dtype=np.float64).T  # (T, D)
        if declared_missing is False and np.isnan(x).any():
            t, d = (int(v) for v in np.argwhere(np.isnan(x))[0])
            raise DataError(f"{p}: line {n}: dimension {d + 1}, step {t + 1}: missing value, but the header says "
                            f"@missing false (line {tag_line['missing']})")
        x = fill_gaps(x, missing, lambda t, d, n=n: f"{p}: line {n}: dimension {d + 1}, step {t + 1}")
        series.append(x.astype(np.float32))
        lines.append(n)
    if not series:
        raise DataError(f"{p}: no cases after @data (line {data_line})")

    d_found = series[0].shape[1]
    if univariate is True and d_found != 1:
        raise DataError(f"{p}: line {tag_line['univariate']}: @univariate true, but the cases have {d_found} "
                        f"dimensions (line {lines[0]})")
    if dims is not None and dims != d_found:
        raise DataError(f"{p}: line {tag_line[dims_tag]}: @{dims_tag} {dims}, but the cases have {d_found} "
                        f"dimensions (line {lines[0]})")
    found = sorted({len(s) for s in series})
    if equal is True and len(found) > 1:
        i = next(i for i, s in enumerate(series) if len(s) != len(series[0]))
        raise DataError(f"{p}: line {tag_line['equallength']}: @equalLength true, but line {lines[i]} has "
                        f"{len(series[i])} values per dimension and line {lines[0]} has {len(series[0])}")
    if length is not None and equal is not False and found != [length]:
        i = next(i for i, s in enumerate(series) if len(s) != length)
        raise DataError(f"{p}: line {tag_line['serieslength']}: @seriesLength {length}, but line {lines[i]} has "
                        f"{len(series[i])} values per dimension")
    return TsFile(p, series, targets if kind is not None else None, kind, lines, class_labels, header)
