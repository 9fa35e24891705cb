"""``data.format = "auto"``: which reader a classify / regress input file goes to.

Format names (as ``data.format`` spells them):

* ``npz`` — ``X``/``y``/``lengths`` arrays (:mod:`~rnnkit.data.sources.numeric`);
* ``ucr`` — UCR TSV, a label then the values of a univariate series;
* ``ts`` — sktime/UEA ``.ts`` (:mod:`~rnnkit.data.sources.uea`);
* ``long-csv`` — one row per time step, ``id, time, features..., label``
  (:mod:`~rnnkit.data.sources.longcsv`);
* ``csv``/``tsv``/``jsonl`` — text tables (classify) or, for ``regress``, ``csv`` is a
  series cut into windows;
* ``lines`` — unlabelled plain text, one example per line (classify ``predict`` only).

Detection (``.gz`` stripped first): ``.npz`` → npz; ``.ts`` → ts (a ``.ts`` file never
reaches the UCR reader); ``.jsonl``/``.ndjson`` → jsonl. For ``.csv``/``.tsv``/``.tab``
the header decides: the text column present → a text table; an id column present
(``id_column``, or ``"auto"`` finding one) → long-csv; for ``regress``, a ``.csv``
without an id column is a series (``csv``); otherwise a first line that is a label and
numbers → ucr. Any other name: plain text lines where allowed (unlabelled input of a
text model), else a first line starting with ``@``/``#`` → ts, a label then numbers →
ucr. When nothing fits, the error says which formats were tried and, for delimited
files, the columns found and the columns looked for.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

from rnnkit.data._files import PathLike, iter_text_chunks
from rnnkit.data.sources.column_names import ID_NAMES, listed
from rnnkit.data.sources.longcsv import find_column
from rnnkit.data.sources.missing import parse_cell
from rnnkit.errors import DataError

__all__ = ["detect_input_format"]


def _head(p: Path) -> str:
    """The first 64 KiB or so of the text of ``p`` (whole lines), enough to see its first line."""
    chunks = iter_text_chunks(p, 1 << 16)
    try:
        return next(chunks)[1]
    finally:
        chunks.close()


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line
    return ""


def _looks_ucr(line: str) -> bool:
    fields = line.replace(",", "\t").split("\t") if "\t" in line or "," in line else line.split()
    if len(fields) < 2:
        return False
    try:
        for f in fields[1:]:
            parse_cell(f)
    except ValueError:
        return False
    return True


def _id_found(header: list[str], id_column: str) -> bool:
    return id_column in header if id_column != "auto" else bool(find_column(header, ID_NAMES))


def detect_input_format(
    path: PathLike,
    formats: Sequence[str],
    *,
    text_column: str | None = None,
    id_column: str = "auto",
    lines_ok: bool = False,
) -> str:
    """The format of ``path`` among ``formats`` (the names the task reads); see the module
    docstring. ``text_column``: the text tables' column (classify); ``lines_ok``: plain
    text lines are acceptable (unlabelled classify input)."""
    p = Path(path)
    name = p.name.lower().removesuffix(".gz")
    tried: list[str] = []  # the formats tried, in order
    why: list[str] = []  # why each did not fit

    def fail(where: str, extra: str = "") -> DataError:
        return DataError(f"{p}: {where}{'; '.join(why)}{extra} (tried {', '.join(tried)}; set data.format to "
                         f"one of {', '.join(formats)})")

    if name.endswith(".npz") and "npz" in formats:
        return "npz"
    if name.endswith(".ts") and "ts" in formats:
        return "ts"
    if name.endswith((".jsonl", ".ndjson")) and "jsonl" in formats:
        return "jsonl"
    first = _first_line(_head(p))
    if name.endswith((".csv", ".tsv", ".tab")):
        delimiter = "," if name.endswith(".csv") else "\t"
        kind = "csv" if delimiter == "," else "tsv"
        if first.lstrip().startswith(("@", "#")) and "ts" in formats:
            return "ts"
        try:
            header = [h.strip() for h in next(csv.reader(io.StringIO(first), delimiter=delimiter))]
        except (StopIteration, csv.Error):
            header = []
        if kind in formats and text_column is not None:
            if text_column in header:
                return kind
            tried.append(f"{kind} text table")
            why.append(f"unknown column {text_column!r} (data.text_column, for a {kind} text table)")
        if "long-csv" in formats and kind == "csv":
            if _id_found(header, id_column):
                return "long-csv"
            tried.append("long-csv")
            why.append(f"unknown column {id_column!r} (data.id_column, for long-csv)" if id_column != "auto" else
                       f"no id column (data.id_column = 'auto' looks for {', '.join(listed(ID_NAMES))}, for long-csv)")
        if kind == "csv" and "csv" in formats and text_column is None:
            return "csv"  # regress: a series cut into windows
        if "ucr" in formats:
            if _looks_ucr(first):
                return "ucr"
            tried.append("ucr")
            why.append("not a label followed by numbers (for ucr)")
        raise fail("line 1: ", f"; the header has {header}")
    if lines_ok:
        return "lines"
    if first.lstrip().startswith(("@", "#")) and "ts" in formats:
        return "ts"
    tried.append("ts")
    why.append("does not start with a @tag (for ts)")
    if "ucr" in formats:
        if _looks_ucr(first):
            return "ucr"
        tried.append("ucr")
        why.append("is not a label followed by numbers (for ucr)")
    raise fail("cannot tell the input format: line 1 ")
