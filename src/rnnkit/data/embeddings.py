"""Pretrained word vectors: read the GloVe, word2vec text and fastText ``.vec`` formats
(plain or ``.gz``) and match them to a vocabulary.

Formats (detected from the first line, and said in :attr:`WordVectors.format`):

* ``glove`` — every line is ``word v1 v2 ... vD``; D is the first line's count of numbers.
* ``word2vec`` / ``fasttext`` — the first line is a header ``count dim`` (two integers),
  then ``word v1 ... vD`` lines; the header's count must equal the lines that follow.
  The two are the same text format; ``fasttext`` is said for a ``.vec`` file name.

Fields are separated by single spaces (a tab-separated file by any whitespace); a line
must hold exactly the word and D numbers. Every line is checked (its number of fields, every value a finite
number); a bad line is a :class:`~rnnkit.errors.DataError` naming the file and the line.
Only the vectors of ``wanted`` words are kept (a 400k-word file is read in one pass and
only the vocabulary's rows stay in memory). A repeated word keeps its first vector; the
repeats among the kept words are counted and said.

:func:`match_vocab` finds each vocabulary token exactly, then by its lowercase form, and
:func:`copy_into` writes the matched rows into an ``nn.Embedding`` (unmatched rows keep
their random initialisation).
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib
from pathlib import Path
from typing import Collection, Iterator, Sequence

import numpy as np

from rnnkit.data._files import PathLike, _is_gzip, decode_utf8, require_file
from rnnkit.errors import DataError

__all__ = ["WordVectors", "VocabMatch", "read_vectors", "match_vocab", "copy_into"]


@dataclasses.dataclass
class WordVectors:
    """Vectors read from ``path``: ``vectors[word]`` (float32, (dim,)) for the words kept."""

    path: str
    format: str  # "glove", "word2vec" or "fasttext"
    dim: int
    count: int  # vectors in the file (all of them, kept or not)
    vectors: dict[str, np.ndarray]
    duplicates: int = 0

    def describe(self) -> str:
        dup = f", {self.duplicates} repeated words (first vector kept)" if self.duplicates else ""
        return f"{self.path}: {self.format} text format, {self.count} vectors of dimension {self.dim}{dup}"


@dataclasses.dataclass
class VocabMatch:
    """Rows for a vocabulary: ``ids`` (vocabulary ids found) and ``rows`` (their vectors,
    (len(ids), dim)); counts over the ordinary tokens (the specials are not counted)."""

    ids: np.ndarray
    rows: np.ndarray
    exact: int
    lowercase: int
    missing: int

    @property
    def total(self) -> int:
        return self.exact + self.lowercase + self.missing

    def coverage(self) -> dict[str, float | int]:
        """The counts and percentages (of the ordinary tokens), for the console and the report."""
        pct = (lambda n: round(100.0 * n / self.total, 2) if self.total else 0.0)
        return {"exact": self.exact, "exact %": pct(self.exact), "lowercase": self.lowercase,
                "lowercase %": pct(self.lowercase), "missing": self.missing, "missing %": pct(self.missing)}

    def describe(self) -> str:
        c = self.coverage()
        return (f"{self.exact + self.lowercase} of {self.total} words have a vector: {c['exact']} exact "
                f"({c['exact %']}%), {c['lowercase']} by their lowercase form ({c['lowercase %']}%), "
                f"{c['missing']} missing ({c['missing %']}%, random init)")


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line without its line break), plain or gzip."""
    opener = gzip.open if _is_gzip(path) else open
    try:
        with opener(path, "rb") as f:
            for n, raw in enumerate(f, 1):
                yield n, raw.rstrip(b"\r\n")
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise DataError(f"{path}: truncated or corrupt gzip file ({e})") from None


def _header(fields: list[str]) -> tuple[int, int] | None:
    """(count, dim) when the line is a word2vec/fastText header, else None."""
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[0]), int(fields[1])
    return None


def _numbers(values: list[str], path: Path, n: int) -> np.ndarray:
    try:
        row = np.asarray(values, dtype=np.float32)
    except ValueError:
        bad = next((v for v in values if not _is_float(v)), values[0])
        raise DataError(f"{path}: line {n}: {bad[:40]!r} is not a number (expected a word and its vector)") from None
    if not np.isfinite(row).all():
        raise DataError(f"{path}: line {n}: the vector holds a non-finite value (nan or inf)")
    return row


def _is_float(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def read_vectors(path: PathLike, wanted: Collection[str] | None = None) -> WordVectors:
    """Read a vectors file (format detected from its first line); keep the ``wanted`` words
    (all when None). A DataError names the file and line of anything wrong."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"word vectors file not found: {p}")
    p = require_file(p)  # a folder or a 0-byte file
    fmt: str | None = None
    dim = count = header_count = 0
    dim_line = 1
    duplicates = 0
    kept: dict[str, np.ndarray] = {}
    for n, raw in _lines(p):
        line = decode_utf8(raw, p, n)
        if not line.strip():
            continue  # a blank line (often the last one) carries nothing
        fields = line.split() if "\t" in line else line.rstrip().split(" ")
        if fmt is None:
            head = _header(fields)
            if head is not None:
                header_count, dim = head
                if dim < 1:
                    raise DataError(f"{p}: line {n}: the header says dimension {dim}; expected a positive dimension")
                fmt = "fasttext" if p.name.lower().removesuffix(".gz").endswith(".vec") else "word2vec"
                dim_line = n
                continue
            if len(fields) < 2:
                raise DataError(f"{p}: line {n}: expected a header 'count dim' (word2vec/fastText) or a word "
                                f"followed by its vector (GloVe); got {line[:60]!r}")
            fmt, dim, dim_line = "glove", len(fields) - 1, n
        if len(fields) != dim + 1:
            raise DataError(f"{p}: line {n}: expected a word and {dim} numbers (the dimension given by line "
                            f"{dim_line}); got {len(fields) - 1} fields after the word")
        word, values = fields[0], fields[1:]
        row = _numbers(values, p, n)
        count += 1
        if wanted is not None and word not in wanted:
            continue
        if word in kept:
            duplicates += 1
        else:
            kept[word] = row
    if fmt is None:
        raise DataError(f"{p} is empty (no lines)")
    if count == 0:
        raise DataError(f"{p}: the header says {header_count} vectors of dimension {dim}, but no vector follows")
    if fmt != "glove" and header_count != count:
        raise DataError(f"{p}: line {dim_line}: the header says {header_count} vectors, but the file holds {count}")
    return WordVectors(str(p), fmt, dim, count, kept, duplicates)


def wanted_words(tokens: Sequence[str]) -> set[str]:
    """The words :func:`match_vocab` may look up for ``tokens``: each and its lowercase form."""
    return set(tokens) | {t.lower() for t in tokens}


def match_vocab(vectors: WordVectors, tokens: Sequence[str], specials: Collection[str] = ()) -> VocabMatch:
    """Rows for ``tokens`` (the vocabulary in id order): exact match first, then the
    token's lowercase form; ``specials`` (pad, unk...) are neither matched nor counted."""
    ids: list[int] = []
    rows: list[np.ndarray] = []
    exact = lower = missing = 0
    skip = set(specials)
    for i, tok in enumerate(tokens):
        if tok in skip:
            continue
        if tok in vectors.vectors:
            exact += 1
            ids.append(i)
            rows.append(vectors.vectors[tok])
        elif tok.lower() in vectors.vectors:
            lower += 1
            ids.append(i)
            rows.append(vectors.vectors[tok.lower()])
        else:
            missing += 1
    matrix = np.stack(rows) if rows else np.zeros((0, vectors.dim), dtype=np.float32)
    return VocabMatch(np.asarray(ids, dtype=np.int64), matrix, exact, lower, missing)


def copy_into(embedding, match: VocabMatch) -> None:
    """Write the matched rows into ``embedding`` (an ``nn.Embedding`` of the vocabulary's
    size and the vectors' dimension); the other rows keep their values."""
    import torch

    weight = embedding.weight
    if match.rows.shape[1:] != (weight.shape[1],):
        raise DataError(f"the word vectors have dimension {match.rows.shape[1]}, "
                        f"the embedding {weight.shape[1]}; they must be equal")
    if len(match.ids) and int(match.ids.max()) >= weight.shape[0]:
        raise DataError(f"vocabulary id {int(match.ids.max())} is outside the embedding's {weight.shape[0]} rows")
    with torch.no_grad():
        weight[torch.as_tensor(match.ids)] = torch.as_tensor(match.rows, dtype=weight.dtype, device=weight.device)
