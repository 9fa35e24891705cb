"""Helpers the token-sequence tasks (``tag``, ``seq2seq``) share: a deterministic
validation split, loaders over :class:`~rnnkit.data.SequenceDataset`, vocabularies
kept in the run directory, input lines for ``predict`` and metrics that only
speak when they were fed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from rnnkit.data import SequenceDataset, Vocab, make_loader
from rnnkit.data._files import read_text
from rnnkit.errors import ConfigError, DataError
from rnnkit.train import Metric, RunDir
from rnnkit.train import distributed as dist_utils

__all__ = ["validation_split", "loader", "save_vocab", "load_vocab", "input_lines", "WhenFed", "unwrap",
           "check_fraction", "decode_rows"]


def check_fraction(value: float, key: str) -> None:
    """``key`` must lie in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{key} must be in [0, 1); got {value!r}")


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) of ``n`` examples: a seeded random ``fraction`` (at least one
    example when ``fraction > 0`` and ``n > 1``) goes to validation; both sorted, so
    file order is kept and the split only depends on ``(n, fraction, seed)``."""
    n_val = min(max(int(round(n * fraction)), 1 if fraction > 0 else 0), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def loader(dataset: SequenceDataset, batch_size: int, *, shuffle: bool, seed: int = 0) -> Any:
    """Length-bucketed batches of ``dataset``; sharded over the processes under DDP.

    ``shuffle=False`` (evaluation, prediction) keeps a fixed order; every Batch carries
    ``indices`` to put outputs back in file order."""
    return make_loader(dataset, batch_size, shuffle=shuffle, seed=seed,
                       rank=dist_utils.rank(), world_size=dist_utils.world_size())


def save_vocab(run: RunDir | None, name: str, vocab: Vocab) -> None:
    if run is not None:
        run.save_json(name, vocab.to_dict())


def load_vocab(run: RunDir, name: str) -> Vocab:
    return Vocab.from_dict(run.load_json(name), source=str(run.path / name))


def input_lines(source: str | Path | Sequence[str]) -> list[tuple[int, str]]:
    """``(line number, text)`` of every non-blank input line (a file path or raw lines)."""
    if isinstance(source, (str, Path)):
        lines = read_text(source).splitlines()
    else:
        lines = [str(s) for s in source]
    rows = [(n, line.rstrip("\r\n")) for n, line in enumerate(lines, 1) if line.strip()]
    if not rows:
        where = source if isinstance(source, (str, Path)) else "the input"
        raise DataError(f"{where}: no input lines to predict (only blank lines)")
    return rows


def unwrap(model: nn.Module) -> nn.Module:
    """The model itself, also when DistributedDataParallel wraps it."""
    return getattr(model, "module", model)


def decode_rows(tokens: torch.Tensor, lengths: torch.Tensor, eos_id: int | None = None) -> list[list[int]]:
    """Id lists of a padded (B, T) batch, each cut at its length, without a final ``eos_id``."""
    rows = [row[:n] for row, n in zip(tokens.tolist(), lengths.tolist())]
    return [row[:-1] if row and row[-1] == eos_id else row for row in rows]


class WhenFed(Metric):
    """Wraps a metric so that a pass in which it got no (non-zero) data reports nothing.

    The expensive metrics (entity F1, decoded BLEU) are only updated during evaluation;
    without this, every training epoch would log them as a misleading 0.
    """

    def __init__(self, inner: Metric) -> None:
        super().__init__()
        self.inner = inner
        self._size = inner._size

    def _batch_sums(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.inner._batch_sums(*args, **kwargs)

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return self.inner._finish(sums)

    def compute(self) -> dict[str, float]:
        # all zeros also means "never fed": under DDP all_reduce turns a None state into zeros
        if self.state is None or not bool(self.state.any()):
            return {}
        return super().compute()
