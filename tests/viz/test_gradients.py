"""The gradient-norm-per-step tool shows the vanishing gradient it is meant to show."""

from __future__ import annotations

import torch

from rnnkit.nn import Recurrent
from rnnkit.viz import gradient_norms_per_step, plot_gradient_norms


def test_vanilla_rnn_gradient_vanishes_faster_than_lstm(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(8, 60, 4)
    norms = {}
    for cell in ("rnn", "lstm"):
        layer = Recurrent(cell, 4, 16)
        norms[cell] = gradient_norms_per_step(layer, x)
        assert norms[cell].shape == (60,)
    # relative gradient reaching the first step, compared with the last
    decay = {cell: float(n[0] / n[-1]) for cell, n in norms.items()}
    assert decay["rnn"] < 1e-3, decay
    assert decay["lstm"] > 10 * decay["rnn"], decay
    png = plot_gradient_norms(norms, tmp_path / "grad_norms.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
