"""Text classification files: CSV, TSV or JSONL with a text column and a label column.

The format comes from the extension (``.csv``, ``.tsv``/``.tab``, ``.jsonl``/``.ndjson``,
each optionally ``.gz``) or the ``format`` argument. CSV/TSV files need a header
row. Splits come from separate files (``val``, ``test``), from a ``split_column``
(values ``train``, ``val``/``valid``/``validation``/``dev``, ``test``), or both.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, read_text
from rnnkit.data.sources.containers import TextClassData, TextExamples, encode_labels, label_names
from rnnkit.data.sources.table_rows import table_rows
from rnnkit.errors import ConfigError, DataError

__all__ = ["TableRows", "read_table", "detect_format", "load_text_classification"]

_SPLIT_NAMES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}
csv.field_size_limit(1 << 30)  # long reviews are legitimate; the default 128 KiB limit is not a data rule


@dataclass
class TableRows:
    """The selected columns of a table file, with the line number of every row."""

    path: Path
    columns: dict[str, list[str]]
    lines: list[int]


def detect_format(path: PathLike) -> str:
    """``"csv"``, ``"tsv"`` or ``"jsonl"`` from the file name."""
    name = Path(path).name.lower().removesuffix(".gz")
    for ext, fmt in ((".csv", "csv"), (".tsv", "tsv"), (".tab", "tsv"), (".jsonl", "jsonl"), (".ndjson", "jsonl")):
        if name.endswith(ext):
            return fmt
    raise ConfigError(f"cannot tell the format of {path} from its extension; pass format='csv', 'tsv' or 'jsonl'")


def read_table(path: PathLike, columns: list[str], *, format: str | None = None) -> TableRows:
    """Read ``columns`` (by header name / JSON key) of every row of ``path``."""
    fmt = format or detect_format(path)
    if fmt not in ("csv", "tsv", "jsonl"):
        raise ConfigError(f"format must be 'csv', 'tsv' or 'jsonl'; got {fmt!r}")
    text = read_text(path)
    p = Path(path)
    return _read_jsonl(p, text, columns) if fmt == "jsonl" else _read_csv(p, text, columns, "," if fmt == "csv" else "\t")


def _read_csv(p: Path, text: str, columns: list[str], delimiter: str) -> TableRows:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    kind = "CSV" if delimiter == "," else "TSV"
    try:
        header = next(reader)
    except csv.Error as e:
        raise DataError(f"{p}: line {reader.line_num}: malformed {kind} ({e})") from None
    except StopIteration:
        raise DataError(f"{p}: no header row") from None
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{p}: line 1: unknown column {missing[0]!r}; the header has {header}")
    pos = [header.index(c) for c in columns]
    out: list[list[str]] = [[] for _ in columns]
    lines: list[int] = []
    for line, row in table_rows(reader, len(header), p, kind):
        for o, i in zip(out, pos):
            o.append(row[i])
        lines.append(line)
    if not lines:
        raise DataError(f"{p}: has a header but no data rows")
    return TableRows(p, dict(zip(columns, out)), lines)


def _read_jsonl(p: Path, text: str, columns: list[str]) -> TableRows:
    out: list[list[str]] = [[] for _ in columns]
    lines: list[int] = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise DataError(f"{p}: line {n}: column {e.colno}: invalid JSON ({e.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{p}: line {n}: expected a JSON object; got {type(obj).__name__}")
        for o, c in zip(out, columns):
            if c not in obj:
                raise DataError(f"{p}: line {n}: unknown column {c!r}; the object has keys {sorted(obj)}")
            v = obj[c]
            if isinstance(v, (dict, list)) or v is None:
                raise DataError(f"{p}: line {n}: column {c!r} must be a string or number; got {json.dumps(v)[:40]}")
            o.append(v if isinstance(v, str) else json.dumps(v))
        lines.append(n)
    if not lines:
        raise DataError(f"{p}: no JSON lines")
    return TableRows(p, dict(zip(columns, out)), lines)


def load_text_classification(
    train: PathLike,
    val: PathLike | None = None,
    test: PathLike | None = None,
    *,
    text_column: str = "text",
    label_column: str = "label",
    split_column: str | None = None,
    format: str | None = None,
) -> TextClassData:
    """Texts and label ids per split; label ids come from the training split (sorted names).

    Args:
        train: the training file (or the only file, with ``split_column``).
        val, test: optional further files with the same columns.
        split_column: a column naming each row's split (train / val / test).
    """
    cols = [text_column, label_column] + ([split_column] if split_column else [])
    parts: dict[str, list[tuple[Path, list[str], list[str], list[int]]]] = {"train": [], "val": [], "test": []}
    for name, path in (("train", train), ("val", val), ("test", test)):
        if path is None:
            continue
        t = read_table(path, cols, format=format)
        texts, labels = t.columns[text_column], t.columns[label_column]
        if split_column is None:
            parts[name].append((t.path, texts, labels, t.lines))
            continue
        groups: dict[str, list[int]] = {"train": [], "val": [], "test": []}
        for i, (s, line) in enumerate(zip(t.columns[split_column], t.lines)):
            key = _SPLIT_NAMES.get(s.strip().lower())
            if key is None:
                raise DataError(
                    f"{t.path}: line {line}: column {split_column!r} must be one of {sorted(_SPLIT_NAMES)}; got {s!r}"
                )
            groups[key].append(i)
        for key, idx in groups.items():
            if idx:
                parts[key].append(
                    (t.path, [texts[i] for i in idx], [labels[i] for i in idx], [t.lines[i] for i in idx])
                )
    if not parts["train"]:
        raise DataError(f"{train}: no training rows (split column {split_column!r} has no 'train' value)")
    names = label_names([x for _, _, labels, _ in parts["train"] for x in labels])

    def examples(key: str) -> TextExamples | None:
        if not parts[key]:
            return None
        texts: list[str] = []
        ids = []
        for path, tx, labels, lines in parts[key]:
            texts.extend(tx)
            ids.append(encode_labels(labels, names, path=path, lines=lines))
        return TextExamples(texts, np.concatenate(ids))

    return TextClassData(examples("train"), examples("val"), examples("test"), names)  # type: ignore[arg-type]
