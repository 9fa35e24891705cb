"""viz.curves and viz.attention write PNG files; attention checks its shape."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.errors import ShapeError
from rnnkit.viz.attention import plot_attention
from rnnkit.viz.curves import plot_training_curves

PNG = b"\x89PNG"


def test_training_curves_png(tmp_path):
    history = [{"epoch": 1, "train_loss": 0.9, "val_loss": 1.0, "val_accuracy": 0.6},
               {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7, "val_accuracy": 0.8}]
    path = plot_training_curves(history, tmp_path / "sub" / "c.png", metrics=("loss", "accuracy"), title="t")
    assert path.read_bytes()[:4] == PNG


def test_attention_png_and_shape_error(tmp_path):
    w = np.random.default_rng(0).dirichlet(np.ones(5), size=3)  # (Tt=3, Ts=5)
    path = plot_attention(w, list("abcde"), ["x", "y", "<eos>"], tmp_path / "a.png", title="a → x y")
    assert path.read_bytes()[:4] == PNG
    with pytest.raises(ShapeError, match=r"shape \(Tt, Ts\) = \(3, 4\).*got \(3, 5\)"):
        plot_attention(w, list("abcd"), ["x", "y", "z"], tmp_path / "b.png")
