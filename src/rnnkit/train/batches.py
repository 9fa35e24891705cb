"""The batch-source protocol the Trainer needs, and a simple shuffled source.

The Trainer accepts any iterable of batches. For exact resume the order must be
a function of (seed, epoch) only — never of the global random streams — and
the Trainer talks to it through this small protocol:

- ``set_epoch(epoch: int)``  required for a shuffled source; called before each
  epoch's ``__iter__`` (a plain list/tuple of batches has a fixed order and needs none;
  for a ``torch.utils.data.DataLoader`` the Trainer calls its ``batch_sampler``'s or
  ``sampler``'s ``set_epoch``);
- ``skip(n: int)``           optional; the next ``__iter__`` starts at batch ``n``
  (used on resume; without it the Trainer draws and discards ``n`` batches);
- ``__len__()``              optional; batches per epoch (per process under DDP),
  used for progress bars and schedules over the whole run;
- ``seed``                   optional attribute, recorded in checkpoints.

Under DDP the Trainer shards the source (:mod:`rnnkit.train.sharding`): hand it the
*unsharded* source. A source may define ``shard(rank, world_size) -> source`` to
shard itself (``ShuffledBatches`` splits each global batch's rows).
A batch is any nest of tuples/lists/dicts of tensors, or an object with a
``to(device, non_blocking=...)`` method (e.g. ``rnnkit.data.Batch``); the Trainer
moves it to the device and hands it to the Objective unchanged.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Protocol, Sequence, runtime_checkable

import numpy as np
import torch

from rnnkit.errors import DataError

__all__ = ["BatchSource", "ShuffledBatches"]


@runtime_checkable
class BatchSource(Protocol):
    def __iter__(self) -> Iterator[Any]: ...

    def set_epoch(self, epoch: int) -> None: ...


class ShuffledBatches:
    """Mini-batches of rows of in-memory tensors, reshuffled each epoch from (seed, epoch).

    ``tensors``: tensors sharing the first dim N, e.g. ``(x (N, T, D), y (N,))``;
    each batch is a tuple of the same tensors indexed by the batch's rows.
    ``batch_size`` is the *global* batch: under DDP (``world_size`` > 1) every
    process takes its contiguous ``batch_size // world_size`` rows of each global
    batch, so N processes see exactly the batches one process would.
    """

    def __init__(
        self,
        tensors: Sequence[torch.Tensor],
        batch_size: int,
        shuffle: bool = True,
        seed: int = 0,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        n = len(tensors[0])
        if any(len(t) != n for t in tensors):
            raise DataError(f"tensors must share their first dimension; got {[tuple(t.shape) for t in tensors]}")
        if batch_size < 1 or batch_size % world_size:
            raise DataError(f"batch_size must be a positive multiple of world_size={world_size}; got {batch_size}")
        if world_size > 1 and not drop_last and n % batch_size:
            raise DataError(
                f"with world_size={world_size} every process needs full batches: use drop_last=True "
                f"or N divisible by batch_size={batch_size}; got N={n}"
            )
        self.tensors, self.batch_size, self.shuffle, self.seed = list(tensors), batch_size, shuffle, seed
        self.drop_last, self.rank, self.world_size = drop_last, rank, world_size
        self.epoch, self._start = 0, 0

    def shard(self, rank: int, world_size: int) -> "ShuffledBatches":
        """This source for ``rank`` of ``world_size`` processes (rows of every global batch split)."""
        return ShuffledBatches(self.tensors, self.batch_size, self.shuffle, self.seed, self.drop_last,
                               rank=rank, world_size=world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def skip(self, n: int) -> None:
        self._start = n

    def __len__(self) -> int:
        n = len(self.tensors[0])
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, ...]]:
        n = len(self.tensors[0])
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle
                 else np.arange(n))
        order = torch.from_numpy(order)
        start, self._start = self._start, 0
        per = self.batch_size // self.world_size
        for b in range(start, len(self)):
            rows = order[b * self.batch_size : (b + 1) * self.batch_size]
            rows = rows[self.rank * per : (self.rank + 1) * per] if self.world_size > 1 else rows
            yield tuple(t[rows] for t in self.tensors)
