"""What variable lengths cost on each path: one forward+backward of Recurrent over
B=64, T=200, D=28, H=128 with no lengths, lengths that pad nothing, bucketed lengths
(180-200) and widely varied lengths (100-200).

    python benchmarks/lengths_speed.py [--repeats 3]

On CPU the fused path packs varied lengths, and torch's packed CPU kernels are several
times slower than the padded ones; lengths that pad nothing skip packing.
"""

from __future__ import annotations

import argparse
import time

import torch

from rnnkit.nn import Recurrent


def seconds_per_step(layer: Recurrent, x: torch.Tensor, lengths: torch.Tensor | None, repeats: int) -> float:
    layer(x, lengths=lengths)[0].sum().backward()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        layer(x, lengths=lengths)[0].sum().backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    B, T = 64, 200
    x = torch.randn(B, T, 28)
    cases = {"no lengths": None, "full lengths": torch.full((B,), T),
             "bucketed 180-200": torch.randint(180, T + 1, (B,)), "varied 100-200": torch.randint(100, T + 1, (B,))}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per forward+backward (best of {args.repeats})")
    print(f"{'cell':<5} {'backend':<9} " + " ".join(f"{name:>17}" for name in cases))
    for cell in ("rnn", "lstm", "gru"):
        for backend in ("fused", "unrolled"):
            layer = Recurrent(cell, 28, 128, backend=backend)
            times = [seconds_per_step(layer, x, lengths, args.repeats) for lengths in cases.values()]
            print(f"{cell:<5} {backend:<9} " + " ".join(f"{t:>17.3f}" for t in times))


if __name__ == "__main__":
    main()
