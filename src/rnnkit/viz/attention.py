"""Attention heatmap: which source tokens each generated target token looked at."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from rnnkit.errors import ShapeError
from rnnkit.viz._mpl import pyplot
from rnnkit.viz._save import save_figure


def plot_attention(weights: Sequence[Sequence[float]] | np.ndarray, source_tokens: Sequence[str],
                   target_tokens: Sequence[str], path: str | Path, *, title: str = "") -> Path:
    """Heatmap of ``weights`` (Tt, Ts): row t is the attention of target token t over the source.

    Args:
        weights: (Tt, Ts) attention weights, e.g. a ``seq2seq`` predict row's ``attention``.
        source_tokens: Ts column labels; target_tokens: Tt row labels.
        path: the PNG to write (parent folders are created).
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape != (len(target_tokens), len(source_tokens)):
        raise ShapeError(f"weights must have shape (Tt, Ts) = ({len(target_tokens)}, {len(source_tokens)}) "
                         f"to match the tokens; got {w.shape}")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(1.0 + 0.45 * w.shape[1], 1.0 + 0.4 * w.shape[0]))
    im = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(1e-9, float(w.max())), aspect="auto")
    ax.set_xticks(range(w.shape[1]), list(source_tokens), rotation=60, ha="right")
    ax.set_yticks(range(w.shape[0]), list(target_tokens))
    ax.set_xlabel("source")
    ax.set_ylabel("generated")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if title:
        ax.set_title(title)
    return save_figure(plt, fig, path, dpi=90)
