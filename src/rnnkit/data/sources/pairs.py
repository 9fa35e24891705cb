"""Sentence pairs for seq2seq: ``source<TAB>target`` per line (further fields ignored).

The manythings.org/Tatoeba exports have two columns (2019) or three (2020+,
attribution last); using the first two fields reads both. Pairs are not a time
series, so the splits are a seeded random partition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, find_in_folder, read_text
from rnnkit.data.sources.resolve import resolve
from rnnkit.data.windows import split_sizes
from rnnkit.errors import DataError

__all__ = ["Pairs", "PairData", "read_pairs", "load_pairs", "load_tatoeba_fra"]


@dataclass
class Pairs:
    """Parallel lists of source and target strings."""

    sources: list[str]
    targets: list[str]

    def __len__(self) -> int:
        return len(self.sources)

    def subset(self, idx: np.ndarray) -> Pairs:
        return Pairs([self.sources[i] for i in idx], [self.targets[i] for i in idx])


@dataclass
class PairData:
    train: Pairs
    val: Pairs | None
    test: Pairs | None


def read_pairs(path: PathLike) -> Pairs:
    """Every non-blank line of ``path`` as (first field, second field)."""
    p = Path(path)
    src: list[str] = []
    tgt: list[str] = []
    for n, line in enumerate(read_text(p).splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise DataError(f"{p}: line {n}: expected source<TAB>target; found no tab")
        if not fields[0].strip() or not fields[1].strip():
            raise DataError(f"{p}: line {n}: column {1 if not fields[0].strip() else 2} is empty")
        src.append(fields[0])
        tgt.append(fields[1])
    if not src:
        raise DataError(f"{p}: no sentence pairs (only blank lines)")
    return Pairs(src, tgt)


def load_pairs(
    path: PathLike, *, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0
) -> PairData:
    """Read pairs and split them randomly (seeded) into train/val/test."""
    pairs = read_pairs(path)
    n = len(pairs)
    _, n_val, n_test = split_sizes(n, [1 - val_fraction - test_fraction, val_fraction, test_fraction])
    order = np.random.default_rng(seed).permutation(n)
    val, test, train = order[:n_val], order[n_val : n_val + n_test], order[n_val + n_test :]
    return PairData(pairs.subset(np.sort(train)), pairs.subset(np.sort(val)) if n_val else None,
                    pairs.subset(np.sort(test)) if n_test else None)


def load_tatoeba_fra(
    path: PathLike | None = None, *, val_fraction: float = 0.1, test_fraction: float = 0.1, seed: int = 0,
    download: bool = True,
) -> PairData:
    """English→French Tatoeba pairs (manythings.org, 2019 export: 167,130 pairs)."""
    p = resolve("fra-eng", path, download=download)
    if p.is_dir():
        p = find_in_folder(p, ("fra.txt",))
    return load_pairs(p, val_fraction=val_fraction, test_fraction=test_fraction, seed=seed)
