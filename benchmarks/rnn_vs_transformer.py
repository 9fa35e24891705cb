"""RNN vs transformer, measured: training cost against sequence length, and the adding problem.

1. **Scaling** — one training step (forward + backward of an MSE loss on a linear head over
   the last step) of the fused LSTM, the fused GRU, minGRU/minLSTM (parallel log-space scan)
   and a transformer encoder (SDPA, mean pooling) of about the LSTM's parameter count, for
   T = 64 … 4096. Printed per row: parameters, ms per step (best of ``--repeats``), sequences
   per second, the speed-up over the fused LSTM at the same T, and the activation memory the
   step saves for backward (MiB; the bytes autograd keeps, deduplicated by storage — the
   peak also holds temporaries, which this does not count).
2. **Adding problem** (``benchmarks/experiments/vanishing.py``'s data and schedule) for
   minGRU/minLSTM against the vanilla RNN and the LSTM at an equal number of optimizer steps:
   final test MSE (predicting the mean scores 0.167) and accuracy (|error| < 0.04).

    python benchmarks/rnn_vs_transformer.py                       # default, one thread, < 10 min
    python benchmarks/rnn_vs_transformer.py --lengths 64,256,1024,4096 --adding-lengths 100,500,1000
    python benchmarks/rnn_vs_transformer.py --skip-adding --repeats 5
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from experiments.vanishing import BATCH, EVAL_EVERY, LR, SOLVED, TEST_SIZE, TOLERANCE, adding_batch  # noqa: E402

from rnnkit.models.transformer import TransformerBlock, sinusoidal_positions  # noqa: E402
from rnnkit.nn import make_recurrent  # noqa: E402


# ---------------------------------------------------------------------- models
class RecurrentRegressor(nn.Module):
    """make_recurrent(cell) (B, T, D) → last output → linear → (B,)."""

    def __init__(self, cell: str, d_in: int, hidden: int, layers: int = 1) -> None:
        super().__init__()
        self.rnn = make_recurrent(cell, d_in, hidden, num_layers=layers)
        if cell == "lstm":  # forget-gate bias 1, as vanishing.py does
            with torch.no_grad():
                for k in range(layers):
                    getattr(self.rnn, f"bias_ih_l{k}")[hidden:2 * hidden].fill_(1.0)
                    getattr(self.rnn, f"bias_hh_l{k}")[hidden:2 * hidden].zero_()
        self.head = nn.Linear(hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.head(out[:, -1]).squeeze(-1)


class TransformerRegressor(nn.Module):
    """Linear projection + sinusoidal positions + pre-norm SDPA blocks → mean over time → linear."""

    def __init__(self, d_in: int, d_model: int, heads: int, ff: int, layers: int) -> None:
        super().__init__()
        self.proj = nn.Linear(d_in, d_model)
        self.blocks = nn.ModuleList(TransformerBlock(d_model, heads, ff, 0.0) for _ in range(layers))
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)
        self.d_model = d_model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.proj(x) + sinusoidal_positions(torch.arange(x.shape[1]), self.d_model, x.dtype)
        for block in self.blocks:
            h, _ = block(h)
        return self.head(self.norm(h).mean(1)).squeeze(-1)


def build(name: str, d_in: int, hidden: int) -> nn.Module:
    if name == "transformer":  # ~ the LSTM's parameter count at hidden=128, d_in=32 (see the printed counts)
        d = hidden // 2
        return TransformerRegressor(d_in, d, 4, 3 * d, 2)
    if name.endswith("-3L"):
        return RecurrentRegressor(name[:-3], d_in, hidden, layers=3)
    return RecurrentRegressor(name, d_in, hidden)


def params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


# ---------------------------------------------------------------------- 1. scaling
def saved_bytes(model: nn.Module, x: torch.Tensor) -> int:
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor):
        try:
            st = t.untyped_storage()
            seen[st.data_ptr()] = max(seen.get(st.data_ptr(), 0), st.nbytes())
        except RuntimeError:
            pass
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = model(x).pow(2).mean()
    loss.backward()
    return sum(seen.values())


def time_step(model: nn.Module, x: torch.Tensor, repeats: int, budget_s: float) -> float:
    best, spent = math.inf, 0.0
    for _ in range(repeats):
        model.zero_grad(set_to_none=True)
        t0 = time.perf_counter()
        model(x).pow(2).mean().backward()
        dt = time.perf_counter() - t0
        best, spent = min(best, dt), spent + dt
        if spent > budget_s:
            break
    return best


def scaling(names: list[str], lengths: list[int], batch: int, d_in: int, hidden: int, repeats: int,
            row_budget_s: float) -> list[dict]:
    print(f"\n## 1. one training step (fwd+bwd), B={batch}, D={d_in}, hidden={hidden}, fp32, "
          f"{torch.get_num_threads()} thread(s), best of {repeats}")
    models = {}
    for n in names:
        torch.manual_seed(0)
        models[n] = build(n, d_in, hidden)
    print("parameters: " + ", ".join(f"{n} {params(m):,}" for n, m in models.items()))
    print(f"\n| model | T | ms/step | seq/s | × fused LSTM | saved for backward (MiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    rows, skip = [], set()
    for T in lengths:
        x = torch.randn(batch, T, d_in, generator=torch.Generator().manual_seed(T))
        lstm_ms = None
        for n, m in models.items():
            if n in skip:
                print(f"| {n} | {T} | skipped (the previous T took over {row_budget_s:.0f} s) | | | |")
                continue
            m(x[:, :8]).sum().backward()  # warm-up
            ms = 1000 * time_step(m, x, repeats, row_budget_s)
            mem = saved_bytes(m, x) / 2**20
            if n == "lstm":
                lstm_ms = ms
            ratio = f"{lstm_ms / ms:.1f}" if lstm_ms else "-"
            rows.append(dict(model=n, T=T, ms=ms, mem=mem))
            print(f"| {n} | {T} | {ms:.1f} | {1000 * batch / ms:.0f} | {ratio} | {mem:.1f} |", flush=True)
            if ms / 1000 * 4 > row_budget_s:  # the next T (4x) would take too long
                skip.add(n)
    return rows


# ---------------------------------------------------------------------- 2. adding problem
def adding(cells: list[str], lengths: list[int], steps: int, hidden: int, time_cap_s: float) -> list[dict]:
    print(f"\n## 2. adding problem, {steps} steps × {BATCH} sequences, hidden={hidden}, Adam lr={LR}, "
          f"grad-clip 1.0; test set {TEST_SIZE}; mean predictor MSE = 0.167")
    print("\n| cell | T | steps run | test MSE | accuracy (|err|<0.04) | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    for T in lengths:
        test_x, test_y = adding_batch(TEST_SIZE, T, torch.Generator().manual_seed(10_000 + T))
        for cell in cells:
            torch.manual_seed(0)
            gen = torch.Generator().manual_seed(0)
            model = build(cell, 2, hidden)
            opt = torch.optim.Adam(model.parameters(), lr=LR)
            start, step, acc, mse = time.perf_counter(), 0, 0.0, float("nan")
            capped = ""
            while step < steps:
                x, y = adding_batch(BATCH, T, gen)
                loss = nn.functional.mse_loss(model(x), y)
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                step += 1
                if step % EVAL_EVERY == 0 or step == steps:
                    model.eval()
                    with torch.no_grad():
                        err = model(test_x) - test_y
                    model.train()
                    acc, mse = float((err.abs() < TOLERANCE).float().mean()), float((err ** 2).mean())
                    if acc >= SOLVED:
                        break
                if time.perf_counter() - start > time_cap_s:
                    capped = " (time cap)"
                    model.eval()
                    with torch.no_grad():
                        err = model(test_x) - test_y
                    acc, mse = float((err.abs() < TOLERANCE).float().mean()), float((err ** 2).mean())
                    break
            sec = time.perf_counter() - start
            rows.append(dict(cell=cell, T=T, steps=step, mse=mse, acc=acc, seconds=sec))
            print(f"| {cell} | {T} | {step}{capped} | {mse:.4f} | {100 * acc:.1f}% | {sec:.0f} |", flush=True)
    return rows


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--models", default="lstm,gru,mingru,minlstm,mingru-3L,transformer")
    p.add_argument("--lengths", default="64,256,1024,4096")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--input-size", type=int, default=32)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--row-budget", type=float, default=20.0, help="seconds per (model, T) timing row")
    p.add_argument("--skip-scaling", action="store_true")
    p.add_argument("--skip-adding", action="store_true")
    p.add_argument("--adding-cells", default="mingru,minlstm,rnn,lstm")
    p.add_argument("--adding-lengths", default="1000")
    p.add_argument("--adding-steps", type=int, default=300)
    p.add_argument("--adding-hidden", type=int, default=64)
    p.add_argument("--adding-time-cap", type=float, default=90.0, help="seconds per (cell, T) run")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    print(f"# rnn_vs_transformer (torch {torch.__version__}, {a.threads} thread(s); the machine may be shared)")
    if not a.skip_scaling:
        scaling(a.models.split(","), [int(t) for t in a.lengths.split(",")], a.batch, a.input_size, a.hidden,
                a.repeats, a.row_budget)
    if not a.skip_adding:
        adding(a.adding_cells.split(","), [int(t) for t in a.adding_lengths.split(",")], a.adding_steps,
               a.adding_hidden, a.adding_time_cap)


if __name__ == "__main__":
    main()
