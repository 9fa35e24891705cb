"""IMDB movie reviews (Maas et al. 2011): 25,000 train / 25,000 test, positive vs negative.

Accepted layouts (``path``):

* a CSV (``.csv`` or ``.csv.gz``) with ``review`` and ``sentiment`` columns and,
  optionally, a ``split`` column (``train``/``test``) — the shared
  ``IMDB_Dataset.csv.gz``. Without a split column every row is training data;
* the ``aclImdb_v1.tar.gz`` tarball, read member by member without unpacking;
* the unpacked ``aclImdb`` folder (``train/pos``, ``train/neg``, ``test/...``).

Labels: ``negative`` = 0, ``positive`` = 1 (as in ``keras.datasets.imdb``).
Texts are returned verbatim (with their ``<br />`` tags); ``WordTokenizer``
removes those.
"""

from __future__ import annotations

import csv
import gzip
import re
import tarfile
import zlib
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, decode_utf8
from rnnkit.data.sources.containers import TextClassData, TextExamples
from rnnkit.data.sources.resolve import resolve
from rnnkit.data.sources.textclass import load_text_classification
from rnnkit.errors import DataError

__all__ = ["load_imdb"]

_LABELS = ["negative", "positive"]
_MEMBER = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")


def load_imdb(path: PathLike | None = None, *, download: bool = True) -> TextClassData:
    """IMDB reviews as :class:`TextClassData` (train, test; ``val`` is None)."""
    p = resolve("imdb", path, download=download)
    if p.is_dir():
        for name in ("IMDB_Dataset.csv.gz", "IMDB_Dataset.csv", "aclImdb_v1.tar.gz"):
            if (p / name).is_file():
                p = p / name
                break
    if p.is_dir():
        return _from_files(((str(f.relative_to(p)), f.read_bytes(), f) for f in sorted(p.rglob("*.txt"))), p)
    if ".csv" in p.name.lower():
        return _from_csv(p)
    if ".tar" in p.name.lower() or p.name.endswith(".tgz"):
        return _from_tar(p)
    raise DataError(f"imdb: expected a .csv(.gz), the aclImdb tarball or folder; got {p}")


def _from_csv(p: Path) -> TextClassData:
    opener = gzip.open if p.name.lower().endswith(".gz") else open
    try:
        with opener(p, "rt", encoding="utf-8", errors="replace", newline="") as f:
            header = next(csv.reader([f.readline()]), [])
    except (OSError, EOFError, zlib.error) as e:
        raise DataError(f"{p}: cannot read the header ({e})") from None
    data = load_text_classification(
        p, text_column="review", label_column="sentiment",
        split_column="split" if "split" in header else None, format="csv",
    )
    if data.labels != _LABELS:
        raise DataError(f"{p}: column 'sentiment' must hold 'negative'/'positive'; got labels {data.labels}")
    return data


def _from_tar(p: Path) -> TextClassData:
    try:
        with tarfile.open(p, "r:*") as tar:
            items = []
            for m in tar:
                if m.isfile() and _MEMBER.search(m.name):
                    f = tar.extractfile(m)
                    assert f is not None
                    items.append((m.name, f.read(), p))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise DataError(f"{p}: truncated or corrupt tar archive ({e})") from None
    return _from_files(items, p)


def _from_files(items, origin: Path) -> TextClassData:
    """Reviews from (name, bytes, source) triples, ordered as the official release."""
    rows = []
    for name, data, src in items:
        m = _MEMBER.search(name.replace("\\", "/"))
        if m is None:
            continue
        split, pol, rid, _ = m.groups()
        rows.append((split, pol == "neg", int(rid), decode_utf8(data, f"{src}:{name}" if src == origin else src)))
    if not rows:
        raise DataError(f"{origin}: no reviews found (expected train/pos/*.txt etc.)")
    rows.sort(key=lambda r: r[:3])  # split, pos before neg, numeric id — the CSV's order

    def part(split: str) -> TextExamples | None:
        sel = [r for r in rows if r[0] == split]
        if not sel:
            return None
        return TextExamples([r[3] for r in sel], np.array([0 if r[1] else 1 for r in sel], dtype=np.int64))

    train = part("train")
    if train is None:
        raise DataError(f"{origin}: no training reviews (train/pos, train/neg)")
    return TextClassData(train, None, part("test"), list(_LABELS))
