"""The data rows of a delimited table, each with the line it starts on: the one loop every
CSV/TSV reader shares (blank lines skipped; a row of another width, or malformed quoting,
refused with the file and line), so line numbers in messages mean the same everywhere."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from rnnkit.errors import DataError

__all__ = ["table_header", "table_rows"]


def table_header(reader, path: Path, kind: str = "CSV") -> list[str]:
    """The first row of ``reader`` (a fresh :func:`csv.reader`), names stripped; an empty file
    or malformed quoting refused with the file."""
    try:
        return [h.strip() for h in next(reader)]
    except StopIteration:
        raise DataError(f"{path}: no header row") from None
    except csv.Error as e:
        raise DataError(f"{path}: line 1: malformed {kind} ({e})") from None


def table_rows(reader, width: int, path: Path, kind: str = "CSV") -> Iterator[tuple[int, list[str]]]:
    """``(line, row)`` for every non-blank row ``reader`` (a :func:`csv.reader` past its header)
    yields; ``line`` is where the row starts (a quoted field may span lines)."""
    start = reader.line_num + 1
    try:
        for row in reader:
            if not row:  # blank line
                start = reader.line_num + 1
                continue
            if len(row) != width:
                raise DataError(f"{path}: line {start}: expected {width} fields like the header; got {len(row)}")
            yield start, row
            start = reader.line_num + 1
    except csv.Error as e:
        raise DataError(f"{path}: line {reader.line_num}: malformed {kind} ({e})") from None
