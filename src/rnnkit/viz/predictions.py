"""Predicted vs actual values of a regression, as a scatter around the diagonal."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnnkit.viz._mpl import pyplot
from rnnkit.viz._save import save_figure


def plot_predicted_vs_actual(actual: np.ndarray, predicted: Mapping[str, np.ndarray] | np.ndarray,
                             path: str | Path, title: str = "", unit: str = "") -> Path:
    """Scatter of ``predicted`` (N,) against ``actual`` (N,) with the line y = x; save a PNG.

    ``predicted`` may map labels to several models' predictions, drawn in one plot.
    """
    plt = pyplot()
    series = predicted if isinstance(predicted, Mapping) else {"predicted": predicted}
    actual = np.asarray(actual, dtype=float).ravel()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    lo, hi = actual.min(), actual.max()
    ax.plot([lo, hi], [lo, hi], color="gray", linewidth=1, label="y = x")
    for label, values in series.items():
        ax.scatter(actual, np.asarray(values, dtype=float).ravel(), s=14, alpha=0.8, label=label)
    suffix = f" ({unit})" if unit else ""
    ax.set_xlabel("actual" + suffix)
    ax.set_ylabel("predicted" + suffix)
    ax.set_title(title or "predicted vs actual")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return save_figure(plt, fig, path)
