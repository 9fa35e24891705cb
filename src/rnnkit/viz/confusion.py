"""Confusion matrix of a classifier: counts of (true class, predicted class)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.viz._mpl import pyplot
from rnnkit.viz._save import save_figure


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts (C, C): row = true class, column = predicted class; ``true``/``predicted`` (N,) ints."""
    true, predicted = np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    return np.bincount(true * num_classes + predicted, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def plot_confusion_matrix(matrix: np.ndarray, path: str | Path, labels: Sequence[str] | None = None,
                          title: str = "") -> Path:
    """Heat map of a (C, C) count matrix with the counts written in; save a PNG at ``path``."""
    plt = pyplot()
    matrix = np.asarray(matrix)
    c = len(matrix)
    labels = [str(i) for i in range(c)] if labels is None else list(labels)
    fig, ax = plt.subplots(figsize=(0.45 * c + 2.5, 0.45 * c + 2))
    # log colour scale: the diagonal dwarfs the errors, which are what the plot is for
    im = ax.imshow(np.log1p(matrix), cmap="Blues")
    for i in range(c):
        for j in range(c):
            if matrix[i, j]:
                ax.text(j, i, str(int(matrix[i, j])), ha="center", va="center", fontsize=7,
                        color="white" if i == j else "black")
    ax.set_xticks(range(c), labels)
    ax.set_yticks(range(c), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title or "confusion matrix")
    fig.colorbar(im, ax=ax, label="log(1 + count)")
    return save_figure(plt, fig, path)
