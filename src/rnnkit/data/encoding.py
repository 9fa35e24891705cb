"""Integer ids → model inputs: one-hot vectors and padded rectangles.

``pad_sequences`` follows ``keras.utils.pad_sequences`` exactly (defaults
``padding="pre"``, ``truncating="pre"``, ``value=0``; ``maxlen=None`` pads to the
longest sequence); it is vectorised: one concatenate and one scatter, no loop
over samples.

>>> pad_sequences([[1, 2, 3], [4]], maxlen=2).tolist()
[[2, 3], [0, 4]]
>>> pad_sequences([[1, 2, 3], [4]], padding="post", truncating="post", maxlen=2).tolist()
[[1, 2], [4, 0]]
>>> one_hot(np.array([2, 0]), 3).tolist()
[[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch

from rnnkit.errors import ConfigError, ShapeError

__all__ = ["one_hot", "pad_sequences", "unpad_sequences", "sequence_lengths"]

Side = Literal["pre", "post"]


def one_hot(ids: np.ndarray | torch.Tensor, num_classes: int, dtype: Any = None) -> np.ndarray | torch.Tensor:
    """One-hot encode integer ids of any shape (...) → (..., num_classes).

    Works on NumPy arrays (default dtype float32) and torch tensors (default
    ``torch.float32``, same device). Ids outside ``[0, num_classes)`` are an error.
    """
    if num_classes < 1:
        raise ShapeError(f"num_classes must be >= 1; got {num_classes}")
    if isinstance(ids, torch.Tensor):
        if ids.is_floating_point():
            raise ShapeError(f"ids must be an integer tensor; got {ids.dtype}")
        _check_range(int(ids.min()) if ids.numel() else 0, int(ids.max()) if ids.numel() else 0, num_classes)
        out = torch.nn.functional.one_hot(ids.long(), num_classes)
        return out.to(dtype or torch.float32)
    arr = np.asarray(ids)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ShapeError(f"ids must be integers; got dtype {arr.dtype}")
    if arr.size:
        _check_range(int(arr.min()), int(arr.max()), num_classes)
    # Indexing the identity matrix is the vectorised one-hot.
    return np.eye(num_classes, dtype=dtype or np.float32)[arr]


def _check_range(lo: int, hi: int, n: int) -> None:
    if lo < 0 or hi >= n:
        raise ShapeError(f"ids must be in [0, {n}) because num_classes={n}; got values in [{lo}, {hi}]")


def sequence_lengths(sequences: Sequence[Any]) -> np.ndarray:
    """Lengths (N,) int64 of a list of sequences."""
    return np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))


def pad_sequences(
    sequences: Sequence[Any],
    maxlen: int | None = None,
    dtype: Any = "int64",
    padding: Side = "pre",
    truncating: Side = "pre",
    value: float = 0,
) -> np.ndarray:
    """Pad (and truncate) a list of sequences into one array, Keras semantics.

    Args:
        sequences: N sequences; each of shape (T_i,) or (T_i, *feature_shape).
        maxlen: output length T; ``None`` → the longest sequence.
        dtype: output dtype (int64 by default; rnnkit ids are int64).
        padding: ``"pre"`` puts the padding before the sequence, ``"post"`` after.
        truncating: ``"pre"`` drops the start of long sequences, ``"post"`` the end.
        value: the fill value.

    Returns:
        (N, T, *feature_shape) array.
    """
    if padding not in ("pre", "post"):
        raise ConfigError(f"padding must be 'pre' or 'post'; got {padding!r}")
    if truncating not in ("pre", "post"):
        raise ConfigError(f"truncating must be 'pre' or 'post'; got {truncating!r}")
    if maxlen is not None and maxlen < 0:
        raise ConfigError(f"maxlen must be >= 0 or None; got {maxlen}")
    n = len(sequences)
    lengths = sequence_lengths(sequences)
    arrays = [np.asarray(s) for s in sequences]
    nonempty = [a for a in arrays if a.shape[0]]
    feat_shape = nonempty[0].shape[1:] if nonempty else ()
    for i, a in enumerate(arrays):
        if a.shape[0] and a.shape[1:] != feat_shape:
            raise ShapeError(
                f"sequences[{i}] must have feature shape {feat_shape} like sequences[0]; got {a.shape[1:]}"
            )
    t = int(lengths.max(initial=0)) if maxlen is None else maxlen
    out = np.full((n, t, *feat_shape), value, dtype=dtype)
    if not nonempty or t == 0:
        return out
    flat = np.concatenate([a.reshape(a.shape[0], *feat_shape) for a in nonempty], axis=0)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    kept = np.minimum(lengths, t)
    # Which part of each sequence survives truncation: its first or last `kept` steps.
    src_start = starts + (lengths - kept if truncating == "pre" else 0)
    dst_start = (t - kept) if padding == "pre" else np.zeros_like(kept)
    rows = np.repeat(np.arange(n), kept)
    offset = np.arange(int(kept.sum())) - np.repeat(np.cumsum(kept) - kept, kept)
    out[rows, np.repeat(dst_start, kept) + offset] = flat[np.repeat(src_start, kept) + offset]
    return out


def unpad_sequences(padded: np.ndarray, lengths: Sequence[int] | np.ndarray, padding: Side = "post") -> list[np.ndarray]:
    """Inverse of padding: the first (``"post"``) or last (``"pre"``) ``lengths[i]`` steps of row i."""
    padded = np.asarray(padded)
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.shape != (padded.shape[0],):
        raise ShapeError(f"lengths must have shape ({padded.shape[0]},) to match padded; got {lengths.shape}")
    t = padded.shape[1]
    if lengths.size and (lengths.min() < 0 or lengths.max() > t):
        raise ShapeError(f"lengths must be in [0, {t}] because padded has T={t}; got [{lengths.min()}, {lengths.max()}]")
    if padding == "post":
        return [padded[i, :n] for i, n in enumerate(lengths.tolist())]
    return [padded[i, t - n :] for i, n in enumerate(lengths.tolist())]
