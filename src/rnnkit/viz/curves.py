"""Training curves: metrics per epoch from a run's history (``FitResult.history`` / metrics.csv rows)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from rnnkit.viz._mpl import pyplot
from rnnkit.viz._save import save_figure


def plot_training_curves(history: Sequence[Mapping[str, float]], path: str | Path, *,
                         metrics: Sequence[str] = ("loss",), title: str = "", x: str = "epoch") -> Path:
    """One panel per metric; each panel draws ``train_<m>`` and ``val_<m>`` (those present) against ``x``.

    Args:
        history: one mapping per epoch, e.g. ``{"epoch": 1, "train_loss": .5, "val_loss": .6}``.
        metrics: metric names without the split prefix (``"loss"``, ``"accuracy"``).
        path: the PNG to write (parent folders are created).
    """
    plt = pyplot()
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.2 * len(metrics), 3.2), squeeze=False)
    for ax, m in zip(axes[0], metrics):
        for split in ("train", "val"):
            rows = [r for r in history if f"{split}_{m}" in r and r[f"{split}_{m}"] == r[f"{split}_{m}"]]
            if rows:
                xs = [r.get(x, i + 1) for i, r in enumerate(rows)]
                ax.plot(xs, [r[f"{split}_{m}"] for r in rows], marker="o", ms=3, label=split)
        ax.set_xlabel(x)
        ax.set_ylabel(m)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_figure(plt, fig, path, dpi=90)
