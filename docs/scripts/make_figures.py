"""The tutorial's figures, drawn from rnnkit's own layers (docs/images/tutorial/*.png).

    python docs/scripts/make_figures.py        # under a minute on one CPU thread

- grad_norms.png: ||dL/dh_t|| per time step for RNN, LSTM and GRU (``Recurrent.trace``
  through :func:`rnnkit.viz.gradient_norms_per_step`), loss on the last step only;
- clipping.png: a tanh RNN trained with a large learning rate, with and without
  clipping the global gradient norm (what ``train.clip_norm`` does);
- teacher_forcing.png: a character model's per-position error when it is fed the true
  previous character (teacher forcing, how it was trained) vs its own predictions.
Every number printed here is from this run; the figures are committed beside the pages.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from rnnkit import Recurrent
from rnnkit import reference as ref
from rnnkit.viz import gradient_norms_per_step, plot_gradient_norms
from rnnkit.viz._mpl import pyplot
from rnnkit.viz._save import save_figure

OUT = Path(__file__).resolve().parents[1] / "images" / "tutorial"


def vanishing(T: int = 50, hidden: int = 64, seeds: int = 4) -> Path:
    """rnn, lstm, gru at rnnkit's default init (uniform +-1/sqrt(H) as torch.nn, except the
    LSTM's forget-gate bias, which starts at 1: gate ~ 0.73 instead of ~ 0.5), and an LSTM
    whose forget-gate bias is torch.nn's uniform one, to show what that default buys."""
    norms = {}
    for label, cell, torch_forget in (("rnn", "rnn", False), ("lstm (forget bias 1)", "lstm", False),
                                      ("gru", "gru", False), ("lstm, torch.nn forget bias", "lstm", True)):
        runs = []
        for seed in range(seeds):
            torch.manual_seed(seed)
            layer = Recurrent(cell, input_size=8, hidden_size=hidden)
            if torch_forget:
                k = hidden ** -0.5
                with torch.no_grad():  # gates are laid out i, f, g, o as in torch.nn.LSTM
                    layer.bias_ih_l0[hidden:2 * hidden].uniform_(-k, k)
                    layer.bias_hh_l0[hidden:2 * hidden].uniform_(-k, k)
            runs.append(gradient_norms_per_step(layer, torch.randn(16, T, 8)))
        norms[label] = n = torch.stack(runs).mean(0)
        print(f"{label}: ||dL/dh_1|| / ||dL/dh_T|| = {float(n[0] / n[-1]):.2g}")
    return plot_gradient_norms(norms, OUT / "grad_norms.png",
                               title=f"gradient reaching each step (T={T}, H={hidden}, default init)")


def clipping(steps: int = 300, T: int = 40) -> Path:
    """Target: the first input of the sequence, read at the last step (a long dependency)."""
    curves = {}
    for clip in (None, 1.0):
        torch.manual_seed(0)
        rnn = Recurrent("rnn", input_size=1, hidden_size=32)
        head = torch.nn.Linear(32, 1)
        params = [*rnn.parameters(), *head.parameters()]
        opt = torch.optim.SGD(params, lr=0.5)
        losses, norms = [], []
        gen = torch.Generator().manual_seed(1)
        for _ in range(steps):
            x = torch.randn(32, T, 1, generator=gen)
            out, _ = rnn(x)
            loss = torch.nn.functional.mse_loss(head(out[:, -1]).squeeze(1), x[:, 0, 0])
            opt.zero_grad()
            loss.backward()
            total = torch.nn.utils.clip_grad_norm_(params, clip if clip is not None else float("inf"))
            opt.step()
            losses.append(float(loss.detach()))
            norms.append(float(total))
        curves["no clipping" if clip is None else f"clip_norm = {clip}"] = (losses, norms)
        finite = [n for n in norms if np.isfinite(n)]
        print(f"clip {clip}: largest finite gradient norm {max(finite):.3g}, "
              f"{len(norms) - len(finite)} non-finite steps, last loss {losses[-1]:.3g}")
    plt = pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.8))
    for label, (losses, norms) in curves.items():
        a.plot(losses, label=label)
        b.semilogy(norms, label=label)
    a.set(xlabel="step", ylabel="training loss (MSE)", title="loss, SGD lr 0.5")
    b.set(xlabel="step", ylabel="global gradient norm (before clipping)", title="gradient norm")
    for ax in (a, b):
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return save_figure(plt, fig, OUT / "clipping.png", dpi=110)


TEXT = "the quick brown fox jumps over the lazy dog; the lazy dog sleeps under the quick brown fox. "


def teacher_forcing(steps: int = 40) -> Path:
    chars = sorted(set(TEXT))
    ids = torch.tensor([chars.index(c) for c in TEXT * 3])
    torch.manual_seed(0)
    emb, rnn, head = torch.nn.Embedding(len(chars), 16), Recurrent("lstm", 16, 64), torch.nn.Linear(64, len(chars))
    params = [*emb.parameters(), *rnn.parameters(), *head.parameters()]
    opt = torch.optim.Adam(params, lr=0.01)
    x, y = ids[None, :-1], ids[None, 1:]
    for _ in range(steps):  # teacher forcing: every step reads the true previous character
        out, _ = rnn(emb(x))
        loss = torch.nn.functional.cross_entropy(head(out)[0], y[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
    n, start = len(TEXT), 10
    with torch.no_grad():
        true = ids[: n + start]
        out, _ = rnn(emb(true[None, :-1]))
        forced = head(out)[0].argmax(-1)[start - 1:]  # prediction of character t from the true 0..t-1
        out, state = rnn(emb(true[None, :start]))
        token, free = head(out[:, -1]).argmax(-1), []
        for _ in range(n):  # free running: each step reads the model's own last prediction
            free.append(int(token))
            out, state = rnn(emb(token[None]), state)
            token = head(out[:, -1]).argmax(-1)
    target = true[start:].numpy()
    err_forced = (forced[: len(target)].numpy() != target).astype(float)
    err_free = (np.array(free[: len(target)]) != target).astype(float)
    print(f"teacher-forced error {err_forced.mean():.1%}, free-running error {err_free.mean():.1%} "
          f"over {len(target)} characters")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 3.4))
    cum = np.arange(1, len(target) + 1)
    ax.plot(np.cumsum(err_forced) / cum, label="fed the true previous character (teacher forcing)")
    ax.plot(np.cumsum(err_free) / cum, label="fed its own previous prediction (free running)")
    ax.set(xlabel="characters generated after a 10-character prompt", ylabel="error rate so far",
           title=f"a char LSTM trained {steps} steps by teacher forcing", ylim=(-0.02, 1.02))
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return save_figure(plt, fig, OUT / "teacher_forcing.png", dpi=110)


def bptt_check() -> None:
    """The hand-written BPTT of rnnkit.reference against central differences (printed)."""
    params = ref.init_params("lstm", input_size=3, hidden_size=4, rng=0)
    x = np.random.default_rng(1).standard_normal((2, 6, 3))
    errors = ref.relative_errors("lstm", params, x)
    print(f"hand-written BPTT vs central differences (LSTM, float64): largest relative error "
          f"{max(errors.values()):.1e}")


def main() -> int:
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for make in (vanishing, clipping, teacher_forcing):
        print("wrote", make().relative_to(OUT.parents[2]))
    bptt_check()
    return 0


if __name__ == "__main__":
    sys.exit(main())
