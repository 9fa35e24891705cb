"""Language-model batches for truncated BPTT over one long token stream.

The stream (1-D ids, possibly a read-only memmap) is cut into ``batch_size``
contiguous rows; step ``i`` reads columns ``[i*T, (i+1)*T)`` of every row, and
the targets are the same positions shifted by one token. Row ``b`` of batch
``i+1`` continues row ``b`` of batch ``i``, which is what lets the Trainer carry
the hidden state across batches (detaching it between chunks). Only the pages
of the current batch are read from a memmap.

DDP: the stream is cut into ``world_size`` equal contiguous shards and each rank
batches its own shard, so row continuity (and the carried state) survives. Hand the
Trainer an unsharded ``LMBatches``: it calls :meth:`LMBatches.shard` (passing
``rank``/``world_size`` yourself still works; the Trainer then leaves it as it is).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch

from rnnkit.data.batching import Batch
from rnnkit.errors import ConfigError, DataError

__all__ = ["LMBatches"]


class LMBatches:
    """Iterable of :class:`Batch` with inputs/targets (B, T) int64 and lengths all T.

    The last batch may be shorter in T when the rows do not divide by ``seq_len``.
    The order is fixed, so ``set_epoch`` is a no-op; ``skip(n)`` makes the next pass
    start at batch ``n`` (how the Trainer resumes mid-epoch without reading the rest).
    """

    seed = 0  # the order depends on no seed; recorded in checkpoints like a sampler's

    def __init__(self, tokens: np.ndarray, batch_size: int, seq_len: int, *, rank: int = 0, world_size: int = 1) -> None:
        if batch_size < 1 or seq_len < 1:
            raise ConfigError(f"batch_size and seq_len must be >= 1; got {batch_size}, {seq_len}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"rank must be in [0, world_size); got rank={rank}, world_size={world_size}")
        shard = (len(tokens) - 1) // world_size
        row = shard // batch_size  # targets need one token past each row
        if row < 2:
            raise DataError(
                f"a stream of {len(tokens)} tokens is too short for batch_size={batch_size} x world_size={world_size}"
            )
        self.tokens, self.batch_size, self.seq_len = tokens, batch_size, seq_len
        self.rank, self.world_size = rank, world_size
        self.row_len = row
        self.starts = rank * shard + np.arange(batch_size, dtype=np.int64) * row  # (B,)
        self._skip = 0

    def shard(self, rank: int, world_size: int) -> LMBatches:
        """The batches of ``rank``'s contiguous part of the stream (what the Trainer calls under DDP)."""
        if self.world_size != 1:
            raise ConfigError(f"these LMBatches are already sharded (world_size={self.world_size})")
        return LMBatches(self.tokens, self.batch_size, self.seq_len, rank=rank, world_size=world_size)

    def set_epoch(self, epoch: int) -> None:
        """Part of the batch-source protocol; the stream order does not change between epochs."""

    def skip(self, n: int) -> None:
        self._skip = n

    def __len__(self) -> int:
        return -(-self.row_len // self.seq_len)

    def __iter__(self) -> Iterator[Batch]:
        first, self._skip = self._skip, 0
        for begin in range(first * self.seq_len, self.row_len, self.seq_len):
            t = min(self.seq_len, self.row_len - begin)
            idx = self.starts[:, None] + begin + np.arange(t + 1)  # (B, T+1)
            chunk = torch.from_numpy(np.asarray(self.tokens[idx], dtype=np.int64))
            lengths = torch.full((self.batch_size,), t, dtype=torch.int64)
            yield Batch(chunk[:, :-1], lengths, chunk[:, 1:])
