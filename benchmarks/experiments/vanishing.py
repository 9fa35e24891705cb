"""vanishing: the adding problem (Hochreiter & Schmidhuber 1997) for a vanilla RNN, an LSTM
and a GRU as the sequence length T grows, and the gradient norm per time step.

Each input step has two channels: a value drawn uniformly from [0, 1) and a marker that
is 1 at exactly two steps (one in the first half of the sequence, one in the second half,
as in Le et al. 2015) and 0 elsewhere; the target is the sum of the two marked values.
Predicting the mean (1.0) leaves an MSE of 1/6 ≈ 0.167. A prediction counts as correct
when |error| < 0.04, the criterion of the original paper.

Every (cell, T) gets the same budget of optimizer steps on fresh batches and stops early
once it is solved (test accuracy ≥ 99%). The model is rnnkit.nn.Recurrent → a linear
layer on the last step, called without ``lengths`` (all sequences have length T).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import nn

from experiments.common import result

NAME = "vanishing"
CELLS = ("rnn", "lstm", "gru")
LENGTHS = (50, 100, 200, 500, 1000)
STEPS = 600  # optimizer steps per (cell, T)
BATCH = 128
HIDDEN = 64
LR = 5e-3
EVAL_EVERY = 50
TEST_SIZE = 1000
TOLERANCE = 0.04
SOLVED = 0.99
GRAD_T = 200  # the length of the gradient-norm picture


def adding_batch(n: int, steps: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """x (n, steps, 2) — values and markers — and y (n,), the sum of the two marked values."""
    values = torch.rand(n, steps, generator=generator)
    half = steps // 2
    first = torch.randint(0, half, (n,), generator=generator)
    second = torch.randint(half, steps, (n,), generator=generator)
    markers = torch.zeros(n, steps)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    return torch.stack([values, markers], dim=-1), values[rows, first] + values[rows, second]


class AddingModel(nn.Module):
    """Recurrent (B, T, 2) → its last output (B, H) → a linear layer → (B,)."""

    def __init__(self, cell: str, hidden: int = HIDDEN) -> None:
        super().__init__()
        from rnnkit.nn import Recurrent

        self.rnn = Recurrent(cell, 2, hidden)
        if cell == "lstm":  # forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015): remember by default
            with torch.no_grad():
                self.rnn.bias_ih_l0[hidden : 2 * hidden].fill_(1.0)
                self.rnn.bias_hh_l0[hidden : 2 * hidden].zero_()
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """(accuracy with |error| < TOLERANCE, MSE) on a fixed test set."""
    model.eval()
    with torch.no_grad():
        err = model(x) - y
    model.train()
    return float((err.abs() < TOLERANCE).float().mean()), float((err ** 2).mean())


def train_cell(cell: str, steps: int, seed: int = 0) -> tuple[AddingModel, dict]:
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    test_x, test_y = adding_batch(TEST_SIZE, steps, torch.Generator().manual_seed(10_000 + steps))
    model = AddingModel(cell)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    start = time.perf_counter()
    acc, mse, step = evaluate(model, test_x, test_y) + (0,)
    while step < STEPS and acc < SOLVED:
        x, y = adding_batch(BATCH, steps, gen)
        loss = nn.functional.mse_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % EVAL_EVERY == 0:
            acc, mse = evaluate(model, test_x, test_y)
    return model, {"cell": cell, "T": steps, "accuracy": acc, "mse": mse, "steps": step,
                   "solved": acc >= SOLVED, "seconds": time.perf_counter() - start}


def plot_accuracy(rows: list[dict], path: Path) -> Path:
    from rnnkit.viz._mpl import pyplot
    from rnnkit.viz._save import save_figure

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for cell in CELLS:
        mine = [r for r in rows if r["cell"] == cell]
        ax.plot([r["T"] for r in mine], [100 * r["accuracy"] for r in mine], marker="o", label=cell)
    ax.set_xscale("log")
    ax.set_xticks(LENGTHS, [str(t) for t in LENGTHS])
    ax.set_xlabel("sequence length T")
    ax.set_ylabel(f"test accuracy (%), |error| < {TOLERANCE}")
    ax.set_title(f"adding problem, {STEPS} steps x {BATCH} sequences per cell")
    ax.grid(True, alpha=0.3)
    ax.legend()
    return save_figure(plt, fig, path)


def run(out_dir: Path, datasets: Path) -> dict:
    from rnnkit.viz import gradient_norms_per_step, plot_gradient_norms

    torch.set_num_threads(1)
    start = time.perf_counter()
    rows, norms = [], {}
    for steps in LENGTHS:
        for cell in CELLS:
            model, row = train_cell(cell, steps)
            rows.append(row)
            print(row, flush=True)
            if steps == GRAD_T:  # the trained model's gradient reaching each earlier step
                x, _ = adding_batch(32, steps, torch.Generator().manual_seed(1))
                norms[f"{cell} (trained, acc {100 * row['accuracy']:.0f}%)"] = gradient_norms_per_step(model.rnn, x)
    plots = [plot_accuracy(rows, out_dir / "accuracy_vs_T.png"),
             plot_gradient_norms(norms, out_dir / "gradient_norms.png",
                                 title=f"adding problem, T = {GRAD_T}: ||dL/dh_t|| for a loss on the last step")]
    table = ["cell  T     accuracy  mse     steps  solved"]
    table += [f"{r['cell']:<5} {r['T']:<5} {100 * r['accuracy']:6.1f}%  {r['mse']:.4f}  {r['steps']:<5}  "
              f"{'yes' if r['solved'] else 'no'}" for r in rows]
    return result(
        NAME, "the adding problem: vanilla RNN vs LSTM vs GRU as T grows",
        demo="long-range dependency (the adding problem, T from 50 to 1000): vanilla RNN vs LSTM vs GRU",
        to_beat="—", target="accuracy vs T per cell, and the plot of gradient norm per time step",
        rows=[{"metric": f"{r['cell']} T={r['T']} accuracy", "value": round(r["accuracy"], 3), "split": "test"}
              for r in rows],
        command="python benchmarks/results.py run vanishing", wall_time_s=time.perf_counter() - start, met=None,
        plots=[f"{out_dir.name}/{p.name}" for p in plots], samples="\n".join(table),
        notes=(f"Same budget for every cell: at most {STEPS} Adam steps (lr {LR}, clip 1.0) on fresh batches of "
               f"{BATCH} sequences, hidden size {HIDDEN} (LSTM forget-gate bias 1), stopping early once {SOLVED:.0%} of {TEST_SIZE} fixed test "
               f"sequences are within {TOLERANCE} of the target. Chance level (always predicting 1.0) is about "
               f"13% correct with MSE 0.167. {STEPS} steps is a small budget (Le et al. 2015 train for 10^4 and more): "
               "it shows which cell starts learning first, not what each can reach. The gradient picture uses the "
               "models trained at T = "
               f"{GRAD_T}, on their unrolled path (`Recurrent.trace`), averaged over 32 sequences."))
