"""Sharding any batch source over the DDP ranks: the Trainer is the one place that shards.

Task code hands the Trainer *unsharded* sources; :func:`shard` turns one into a
:class:`ShardView` that yields ``(batch, real)`` pairs of this rank's share. The rule,
first match wins (``W`` = world size, ``r`` = this rank, ``n`` = batches per epoch):

1. ``W == 1``: the source as it is.
2. The source (or its DataLoader's batch sampler) already declares ``world_size == W``
   (or a DistributedSampler's ``num_replicas == W``): it was sharded by its builder and
   is taken as it is (backward compatibility; it must give every rank the same count).
3. The source has ``shard(rank, world_size)``: it shards itself. ``ShuffledBatches``
   splits each global batch's rows; ``LMBatches`` cuts its token stream into ``W``
   contiguous streams, which keeps rows continuous for the carried TBPTT state
   (batch-level striding would break that continuity).
4. A map-style ``DataLoader`` with a batch sampler: the loader is rebuilt around a
   sampler that keeps index batches ``r, r+W, r+2W, ...`` (only the index lists are
   made on every rank, never the other ranks' tensors).
5. Any other source with ``__len__``: the same striding over its batches (every rank
   iterates the source; the order must depend only on (seed, epoch)).

In 4 and 5 every rank runs ``ceil(n / W)`` batches; a rank short of one gets a
*padding* batch (``real=False``): its own last real batch again (batch 0 when it has
none). The Trainer runs it with its loss multiplied by 0 and no metric updates, so
all ranks take the same number of optimizer steps (DDP's all-reduce needs it) and
each example still counts exactly once per epoch. Evaluation uses ``pad=False``:
ranks may run different counts there because no collective runs per batch.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

from torch.utils.data import DataLoader, IterableDataset

from rnnkit.errors import ConfigError
from rnnkit.train.contracts import set_epoch

__all__ = ["ShardView", "shard", "declared_world_size", "source_seed"]


def _parts(source: Any) -> tuple[Any, ...]:
    return tuple(x for x in (source, getattr(source, "batch_sampler", None), getattr(source, "sampler", None))
                 if x is not None)


def declared_world_size(source: Any) -> int:
    """The world size a source was sharded for by its builder (1: unsharded)."""
    for part in _parts(source):
        for attr in ("world_size", "num_replicas"):
            value = getattr(part, attr, None)
            if isinstance(value, int) and value > 1:
                return value
    return 1


def source_seed(source: Any) -> int | None:
    """The shuffling seed of a source or its sampler (recorded in checkpoints)."""
    for part in _parts(source):
        if isinstance(getattr(part, "seed", None), int):
            return part.seed
    return None


def _plan(n: int, rank: int, world: int) -> tuple[int, int, int]:
    """(batches per rank, real batches of ``rank``, global index of its padding batch)."""
    per = math.ceil(n / world)
    real = len(range(rank, n, world))
    return per, real, rank + (real - 1) * world if real else 0


class _ShardSampler:
    """Index batches ``rank, rank+W, ...`` of a batch sampler, padded to ceil(n/W)."""

    def __init__(self, inner: Any, rank: int, world: int, pad: bool) -> None:
        self.inner, self.rank, self.world, self.pad, self._skip = inner, rank, world, pad, 0

    def set_epoch(self, epoch: int) -> None:
        if hasattr(self.inner, "set_epoch"):
            self.inner.set_epoch(epoch)

    def __len__(self) -> int:
        per, real, _ = _plan(len(self.inner), self.rank, self.world)
        return per if self.pad else real

    def __iter__(self) -> Iterator[Any]:
        batches = list(self.inner)
        per, real, pad_at = _plan(len(batches), self.rank, self.world)
        start, self._skip = self._skip, 0
        for j in range(start, len(self)):
            g = self.rank + j * self.world
            yield batches[g] if j < real else batches[pad_at]


class ShardView:
    """This rank's share of a batch source: iterating yields ``(batch, real)``; see the module docstring.

    ``set_epoch``/``skip``/``len`` follow the batch-source protocol of
    :mod:`rnnkit.train.batches`, in this rank's batches.
    """

    def __init__(self, source: Any, rank: int = 0, world: int = 1, pad: bool = True) -> None:
        self.source, self.rank, self.world, self.pad = source, rank, world, pad
        self.seed = source_seed(source)
        self._skip = 0
        self._inner, self._strided, self._sampler = source, False, None
        if world == 1 or declared_world_size(source) == world:
            return
        if declared_world_size(source) != 1:
            raise ConfigError(f"the batch source was sharded for world_size={declared_world_size(source)} "
                              f"but {world} processes are running; hand the Trainer unsharded batches")
        if callable(getattr(source, "shard", None)):
            self._inner = source.shard(rank, world)
        elif (isinstance(source, DataLoader) and source.batch_sampler is not None
              and not isinstance(source.dataset, IterableDataset)):
            self._sampler = _ShardSampler(source.batch_sampler, rank, world, pad)
            self._inner = DataLoader(
                source.dataset, batch_sampler=self._sampler, num_workers=source.num_workers,
                collate_fn=source.collate_fn, pin_memory=source.pin_memory, timeout=source.timeout,
                worker_init_fn=source.worker_init_fn, multiprocessing_context=source.multiprocessing_context,
                generator=source.generator, persistent_workers=source.persistent_workers,
                **({"prefetch_factor": source.prefetch_factor} if source.num_workers else {}))
        elif hasattr(source, "__len__"):
            self._strided = True
        else:
            raise ConfigError(f"cannot shard a {type(source).__name__} over {world} processes: a batch source "
                              "needs __len__ (or a shard(rank, world_size) method) under DDP")

    def set_epoch(self, epoch: int) -> None:
        set_epoch(self.source if self._sampler is not None else self._inner, epoch)

    def skip(self, n: int) -> None:
        """The next pass starts at this rank's batch ``n``."""
        self._skip = n

    def known_len(self) -> int | None:
        """Batches per epoch of this rank (None when the source has no length)."""
        try:
            return len(self)
        except TypeError:
            return None

    def __len__(self) -> int:
        if self._strided:
            per, real, _ = _plan(len(self.source), self.rank, self.world)
            return per if self.pad else real
        return len(self._inner)

    def __iter__(self) -> Iterator[tuple[Any, bool]]:
        start, self._skip = self._skip, 0
        if self._strided:
            return self._strided_pass(start)
        if self._sampler is not None:
            self._sampler._skip = start
            real = _plan(len(self._sampler.inner), self.rank, self.world)[1]
            return ((b, j < real) for j, b in enumerate(iter(self._inner), start))
        if start and callable(getattr(self._inner, "skip", None)):
            self._inner.skip(start)
            start = 0
        it = iter(self._inner)  # eagerly: a DataLoader draws its base seed here
        return ((b, True) for j, b in enumerate(it) if j >= start)

    def _strided_pass(self, start: int) -> Iterator[tuple[Any, bool]]:
        n, w, r = len(self.source), self.world, self.rank
        per, real, pad_at = _plan(n, r, w)
        last = len(self) if not self.pad else per
        # start early enough to meet the padding batch when only padding is left
        first = min(start, real - 1) * w if real else 0
        if first and callable(getattr(self.source, "skip", None)):
            self.source.skip(first)
            offset = first
        else:
            offset = 0
        it = iter(self.source)
        return self._strided_gen(it, offset, start, last, real, pad_at)

    def _strided_gen(self, it: Iterator[Any], offset: int, start: int, last: int, real: int,
                     pad_at: int) -> Iterator[tuple[Any, bool]]:
        w, r = self.world, self.rank
        pad_batch = None
        for g, batch in enumerate(it, offset):
            if g == pad_at:
                pad_batch = batch
            if g % w == r and (g - r) // w >= start:
                yield batch, True
            if g >= pad_at and (g - r) // w >= real - 1:
                break
        for _ in range(max(start, real), last):
            yield pad_batch, False


def shard(source: Any, rank: int, world: int, pad: bool = True) -> ShardView:
    """The :class:`ShardView` of ``source`` for ``rank`` of ``world`` processes."""
    return ShardView(source, rank, world, pad)
