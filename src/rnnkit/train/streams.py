"""Contiguous streams for truncated BPTT (stateful language models).

A long token array is cut into B parallel streams, row b holding the b-th
contiguous stretch of the text, and read in chunks of T steps::

    tokens  a b c d e f g h i j k l m        B=2 → L=(13-1)//2=6 per stream
    x       [a b c d e f]   y  [b c d e f g]
            [g h i j k l]      [h i j k l m]
    chunk 0 (T=4): x[:, 0:4], y[:, 0:4];  chunk 1: x[:, 4:6], y[:, 4:6]

so the recurrent state after chunk k of row b is exactly the state the next
chunk of row b continues from. The Trainer carries that state across chunks,
detaches it at every chunk boundary and resets it each epoch.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch

from rnnkit.errors import DataError

__all__ = ["ContiguousStreams"]


class ContiguousStreams:
    """Chunks ``(x, y)`` of shape (B/world_size, ≤T) int64 from a 1-D token array.

    ``tokens`` (N,) may be a NumPy memmap: only the chunks read are loaded.
    ``batch_size`` is the global number of streams; under DDP rank r owns the
    contiguous rows ``r·B/W … (r+1)·B/W``. The order is fixed (``set_epoch`` is a
    no-op, kept for the batch-source protocol); ``skip(n)`` resumes at chunk n.
    """

    def __init__(self, tokens: np.ndarray | torch.Tensor, batch_size: int, seq_len: int,
                 rank: int = 0, world_size: int = 1) -> None:
        if isinstance(tokens, torch.Tensor):
            tokens = tokens.cpu().numpy()
        if tokens.ndim != 1:
            raise DataError(f"tokens must be 1-D (N,); got shape {tuple(tokens.shape)}")
        if batch_size < 1 or batch_size % world_size:
            raise DataError(f"batch_size must be a positive multiple of world_size={world_size}; got {batch_size}")
        if seq_len < 1:
            raise DataError(f"seq_len must be >= 1; got {seq_len}")
        length = (len(tokens) - 1) // batch_size
        if length < 1:
            raise DataError(f"tokens must hold more than batch_size={batch_size} tokens; got {len(tokens)}")
        per = batch_size // world_size
        rows = slice(rank * per, (rank + 1) * per)
        self.x = tokens[: batch_size * length].reshape(batch_size, length)[rows]  # views, no copy
        self.y = tokens[1 : batch_size * length + 1].reshape(batch_size, length)[rows]
        self.seq_len, self.length = seq_len, length
        self.seed = 0
        self._start = 0

    def set_epoch(self, epoch: int) -> None:
        pass

    def skip(self, n: int) -> None:
        self._start = n

    def __len__(self) -> int:
        return math.ceil(self.length / self.seq_len)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        start, self._start = self._start, 0
        for k in range(start, len(self)):
            cols = slice(k * self.seq_len, (k + 1) * self.seq_len)
            yield (torch.from_numpy(np.ascontiguousarray(self.x[:, cols], dtype=np.int64)),
                   torch.from_numpy(np.ascontiguousarray(self.y[:, cols], dtype=np.int64)))
