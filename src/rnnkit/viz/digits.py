"""Images with their true and predicted class (e.g. MNIST digits a model read row by row)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from rnnkit.viz._mpl import pyplot
from rnnkit.viz._save import save_figure


def plot_digits(images: np.ndarray, true: Sequence[int], predicted: Sequence[int], path: str | Path,
                title: str = "", columns: int = 8) -> Path:
    """A grid of grey images (N, H, W), each titled "true → predicted" (red when wrong); save a PNG."""
    plt = pyplot()
    images = np.asarray(images)
    n = len(images)
    rows = (n + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(1.3 * columns, 1.5 * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k < n:
            ax.imshow(images[k], cmap="gray_r")
            ok = int(true[k]) == int(predicted[k])
            ax.set_title(f"{true[k]} → {predicted[k]}", fontsize=9, color="black" if ok else "red")
    if title:
        fig.suptitle(title)
    return save_figure(plt, fig, path)
