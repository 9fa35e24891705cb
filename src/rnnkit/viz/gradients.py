"""The vanishing/exploding-gradient picture: ||dL/dh_t|| for every time step t.

Put the loss on the *last* step only and look at how much of it reaches each
earlier step: for a vanilla tanh RNN the norm typically falls exponentially with
distance, for an LSTM or GRU far less.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from rnnkit.nn import Recurrent
from rnnkit.viz._mpl import pyplot
from rnnkit.viz._save import save_figure


def gradient_norms_per_step(layer: Recurrent, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
    """Mean over the batch of ||dL/dh_t||, ``(T,)``, for the loss ``sum(output[:, -1])``.

    Runs ``layer`` on its unrolled path (the fused kernels expose no per-step
    gradients); ``x`` (B, T, D). The gradient is of the last layer's forward direction.
    """
    trace = layer.trace(x, lengths=lengths)
    trace.output[:, -1].sum().backward()
    return trace.grad_norms().detach()


def plot_gradient_norms(norms: Mapping[str, torch.Tensor], path: str | Path, title: str = "") -> Path:
    """One line per label (e.g. ``{"rnn": ..., "lstm": ...}``), log scale, saved as PNG at ``path``."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, values in norms.items():
        values = torch.as_tensor(values).float().cpu()
        ax.semilogy(range(1, len(values) + 1), values.clamp_min(1e-30).numpy(), label=label)
    ax.set_xlabel("time step t (loss at the last step)")
    ax.set_ylabel("mean ||dL/dh_t||")
    ax.set_title(title or "gradient norm per time step")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return save_figure(plt, fig, path, dpi=120)



