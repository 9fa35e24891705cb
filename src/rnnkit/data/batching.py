"""Batches of variable-length sequences, with length bucketing and no per-sample Python.

The batch type every later layer (models, Trainer, tasks) consumes is :class:`Batch`:

* ``inputs``  — (B, T) int64 token ids, or (B, T, D) float features; positions
  ``t >= lengths[b]`` hold the pad id **0** (padding is always at the end, which
  is what ``Recurrent(..., lengths=...)`` expects);
* ``lengths`` — (B,) int64, each in [1, T];
* ``targets`` — (B,) / (B, *shape) per-example targets, or (B, T_y) per-step
  targets padded with ``target_pad`` (tagging, seq2seq), or ``None``;
* ``target_lengths`` — (B,) int64 for per-step targets, else ``None``;
* ``indices`` — (B,) int64 positions of the examples in the dataset, so
  predictions made in bucketed order can be put back in file order.

Iterating a Batch gives ``(inputs, lengths, targets)``.

Data flow: encode every example once (per-sample Python is fine there) →
:class:`SequenceDataset` stores them as one flat tensor plus starts/lengths →
:class:`BucketBatchSampler` picks index batches of similar length →
``SequenceDataset.batch(indices)`` builds the padded tensors with one gather.
:func:`make_loader` wires those into a ``torch.utils.data.DataLoader``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from rnnkit.errors import ConfigError, DataError, ShapeError

__all__ = ["Batch", "SequenceDataset", "BucketBatchSampler", "make_loader", "padding_fraction"]


@dataclass(frozen=True)
class Batch:
    """One padded batch; see the module docstring for shapes and padding."""

    inputs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor | None = None
    target_lengths: torch.Tensor | None = None
    indices: torch.Tensor | None = None

    def __iter__(self) -> Iterator[torch.Tensor | None]:
        return iter((self.inputs, self.lengths, self.targets))

    def to(self, device: torch.device | str, non_blocking: bool = False) -> Batch:
        """The same batch on ``device`` (``lengths``/``indices`` too: Recurrent accepts any device)."""
        return Batch(**{f.name: _move(getattr(self, f.name), device, non_blocking) for f in fields(self)})

    def pin_memory(self) -> Batch:
        """Used by ``DataLoader(pin_memory=True)``."""
        return Batch(**{f.name: None if (v := getattr(self, f.name)) is None else v.pin_memory() for f in fields(self)})

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


def _move(t: torch.Tensor | None, device: torch.device | str, non_blocking: bool) -> torch.Tensor | None:
    return None if t is None else t.to(device, non_blocking=non_blocking)


class _Ragged:
    """N variable-length sequences stored as one flat tensor + per-sequence start and length."""

    def __init__(self, seqs: Sequence[Any], name: str) -> None:
        arrays = [np.asarray(s) for s in seqs]
        lengths = np.fromiter((a.shape[0] if a.ndim else -1 for a in arrays), dtype=np.int64, count=len(arrays))
        if (lengths < 0).any():
            i = int(np.argmax(lengths < 0))
            raise ShapeError(f"{name}[{i}] must be a sequence (T, ...); got a scalar")
        empty = np.flatnonzero(lengths == 0)
        if empty.size:
            raise DataError(f"{name}[{int(empty[0])}] is empty; every sequence needs at least one step")
        shape = arrays[0].shape[1:] if arrays else ()
        for i, a in enumerate(arrays):
            if a.shape[1:] != shape:
                raise ShapeError(f"{name}[{i}] must have feature shape {shape} like {name}[0]; got {a.shape[1:]}")
        flat = np.concatenate(arrays) if arrays else np.zeros((0,), np.int64)
        self.flat = torch.from_numpy(np.ascontiguousarray(flat))
        self.lengths = lengths
        self.starts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)

    def truncate(self, maxlen: int, truncating: str) -> None:
        """Cut sequences to ``maxlen`` steps by moving starts/lengths only (no copy)."""
        cut = np.maximum(self.lengths - maxlen, 0)
        if truncating == "pre":  # keep the last maxlen steps, as Keras' default
            self.starts = self.starts + cut
        self.lengths = self.lengths - cut

    def gather(self, idx: np.ndarray, pad: float) -> tuple[torch.Tensor, torch.Tensor]:
        """Padded (B, T, ...) tensor and lengths (B,) of sequences ``idx``, padding at the end."""
        lens = self.lengths[idx]
        t = int(lens.max())
        pos = np.arange(t)
        mask = pos[None, :] < lens[:, None]  # (B, T) True on real steps
        src = np.where(mask, self.starts[idx][:, None] + pos[None, :], 0)
        # index_select + masked_fill: both single vectorised kernels (boolean-index
        # assignment is several times slower).
        out = self.flat.index_select(0, torch.from_numpy(src.reshape(-1))).view(len(idx), t, *self.flat.shape[1:])
        pad_mask = torch.from_numpy(~mask).view(len(idx), t, *([1] * (self.flat.dim() - 1)))
        return out.masked_fill_(pad_mask, pad), torch.from_numpy(lens)


class SequenceDataset(Dataset):
    """Pre-encoded variable-length examples, batched by a vectorised gather.

    Args:
        inputs: N sequences, each (T_i,) int ids or (T_i, D) features.
        targets: per-example targets as an array/tensor (N, ...), or per-step
            targets as a list of N sequences (e.g. tags, target sentences), or None.
        maxlen: cut inputs longer than this (``truncating="pre"`` keeps the last
            ``maxlen`` steps as Keras does, ``"post"`` the first).
        target_pad: fill value of padded per-step target positions.
    """

    def __init__(
        self,
        inputs: Sequence[Any],
        targets: Sequence[Any] | np.ndarray | torch.Tensor | None = None,
        *,
        maxlen: int | None = None,
        truncating: str = "pre",
        target_pad: float = 0,
    ) -> None:
        if truncating not in ("pre", "post"):
            raise ConfigError(f"truncating must be 'pre' or 'post'; got {truncating!r}")
        if maxlen is not None and maxlen < 1:
            raise ConfigError(f"maxlen must be >= 1 or None; got {maxlen}")
        self._inputs = _Ragged(inputs, "inputs")
        if maxlen is not None:
            self._inputs.truncate(maxlen, truncating)
        self.target_pad = target_pad
        self._dense_targets: torch.Tensor | None = None
        self._ragged_targets: _Ragged | None = None
        n = len(self._inputs.lengths)
        if targets is None:
            pass
        elif isinstance(targets, (np.ndarray, torch.Tensor)):
            t = torch.as_tensor(targets)
            if t.shape[:1] != (n,):
                raise ShapeError(f"targets must have shape ({n}, ...) to match {n} inputs; got {tuple(t.shape)}")
            self._dense_targets = t
        else:
            if len(targets) != n:
                raise ShapeError(f"targets must hold {n} sequences to match the inputs; got {len(targets)}")
            if n and np.ndim(targets[0]) == 0:
                self._dense_targets = torch.as_tensor(np.asarray(targets))
            else:
                self._ragged_targets = _Ragged(targets, "targets")
                if maxlen is not None:
                    self._ragged_targets.truncate(maxlen, truncating)

    @classmethod
    def from_dense(cls, x: np.ndarray | torch.Tensor, y: Any = None) -> SequenceDataset:
        """Equal-length examples, x (N, T, ...) — e.g. MNIST rows or time-series windows."""
        arr = x.numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
        if arr.ndim < 2:
            raise ShapeError(f"x must have shape (N, T, ...); got {arr.shape}")
        if y is not None and not isinstance(y, (np.ndarray, torch.Tensor)):
            y = np.asarray(y)  # per-example targets, e.g. (N,) labels or (N, horizon, D) windows
        return cls(list(arr), y)

    @property
    def lengths(self) -> np.ndarray:
        """(N,) int64 input lengths (after ``maxlen``); what the bucketing sampler sorts by."""
        return self._inputs.lengths

    def __len__(self) -> int:
        return len(self._inputs.lengths)

    def __getitem__(self, i: int) -> Batch:
        return self.batch(np.array([i], dtype=np.int64))

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        # DataLoader calls this with a whole batch of indices when it exists.
        return self.batch(np.asarray(indices, dtype=np.int64))

    def batch(self, indices: np.ndarray | Sequence[int]) -> Batch:
        """The padded :class:`Batch` of examples ``indices`` (B,)."""
        idx = np.asarray(indices, dtype=np.int64)
        inputs, lengths = self._inputs.gather(idx, 0)
        targets = target_lengths = None
        if self._dense_targets is not None:
            targets = self._dense_targets[torch.from_numpy(idx)]
        elif self._ragged_targets is not None:
            targets, target_lengths = self._ragged_targets.gather(idx, self.target_pad)
        return Batch(inputs, lengths, targets, target_lengths, torch.from_numpy(idx))


class BucketBatchSampler(Sampler[list[int]]):
    """Index batches of similar length, reshuffled every epoch, deterministic given ``seed``.

    Each epoch: permute all indices (seeded by ``(seed, epoch)``), cut the
    permutation into pools of ``batch_size * pool_size`` examples, sort each pool
    by length, cut pools into batches, shuffle the batch order. ``pool_size=1``
    is plain random batching; a large ``pool_size`` approaches sorting the whole
    set. Everything is one ``lexsort`` over NumPy arrays.

    DDP: leave ``rank``/``world_size`` at their defaults and hand the loader to the
    Trainer, which shards it (each example once per epoch, padding steps for short
    ranks; :mod:`rnnkit.train.sharding`). The parameters remain for backward
    compatibility: a sampler built with them is taken as already sharded (every rank
    gets the same number of batches: the list is wrapped around, which repeats
    examples, or cut with ``drop_last``).
    The epoch advances on every ``iter()``; call :meth:`set_epoch` to choose it.
    """

    def __init__(
        self,
        lengths: np.ndarray | Sequence[int],
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int = 0,
        pool_size: int = 100,
        drop_last: bool = False,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1; got {batch_size}")
        if pool_size < 1:
            raise ConfigError(f"pool_size must be >= 1; got {pool_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"rank must be in [0, world_size); got rank={rank}, world_size={world_size}")
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if len(self.lengths) == 0:
            raise DataError("cannot batch an empty dataset (0 examples)")
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.pool_size, self.drop_last = pool_size, drop_last
        self.rank, self.world_size = rank, world_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def _all_batches(self, epoch: int) -> list[np.ndarray]:
        n, bs = len(self.lengths), self.batch_size
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(n) if self.shuffle else np.arange(n)
        if self.pool_size > 1:
            pool = np.arange(n) // (bs * self.pool_size)
            order = order[np.lexsort((self.lengths[order], pool))]
        batches = np.split(order, np.arange(bs, n, bs))
        if self.drop_last and len(batches[-1]) < bs:
            batches.pop()
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        ws = self.world_size
        if ws > 1:
            if self.drop_last:
                batches = batches[: len(batches) // ws * ws]
            else:  # wrap around so that every rank runs the same number of steps
                need = -len(batches) % ws
                batches = batches + [batches[i % len(batches)] for i in range(need)]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        batches = self._all_batches(self.epoch)[self.rank :: self.world_size]
        self.epoch += 1
        return (b.tolist() for b in batches)

    def __len__(self) -> int:
        n, bs, ws = len(self.lengths), self.batch_size, self.world_size
        nb = n // bs if self.drop_last else -(-n // bs)
        return nb // ws if self.drop_last else -(-nb // ws)


def _identity(batch: Batch) -> Batch:
    return batch


def make_loader(
    dataset: SequenceDataset,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: int = 0,
    pool_size: int = 100,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    num_workers: int = 0,
    pin_memory: bool = False,
) -> DataLoader:
    """A DataLoader of :class:`Batch` over ``dataset`` with a :class:`BucketBatchSampler`.

    The loader's ``batch_sampler.set_epoch(e)`` picks the epoch explicitly. Under DDP
    pass no ``rank``/``world_size``: the Trainer shards the loader itself.
    """
    sampler = BucketBatchSampler(
        dataset.lengths, batch_size, shuffle=shuffle, seed=seed, pool_size=pool_size,
        drop_last=drop_last, rank=rank, world_size=world_size,
    )
    return DataLoader(
        dataset, batch_sampler=sampler, collate_fn=_identity, num_workers=num_workers, pin_memory=pin_memory
    )


def padding_fraction(lengths: np.ndarray | Sequence[int], batches: Sequence[Sequence[int]] | Sampler) -> float:
    """Share of padded positions over ``batches``: sum(B·max len − Σ len) / sum(B·max len)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    batch_list = [np.asarray(b, dtype=np.int64) for b in batches]
    sizes = np.fromiter((len(b) for b in batch_list), dtype=np.int64, count=len(batch_list))
    flat = lengths[np.concatenate(batch_list)]
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    total = int((np.maximum.reduceat(flat, starts) * sizes).sum())
    return 1.0 - int(flat.sum()) / total
