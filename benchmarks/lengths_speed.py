"""What variable lengths cost on each path: one forward+backward of Recurrent over
B=64, T=200, D=28, H=128 with no lengths, lengths that pad nothing, bucketed lengths
(180-200) and widely varied lengths (100-200).

    python benchmarks/lengths_speed.py [--repeats 3]

torch.nn's rows run the same lengths through a PackedSequence. torch's packed CPU
kernels are several times slower than the padded ones, so on CPU rnnkit's fused path
does not pack: it cuts the time axis at each distinct length (rnnkit.nn.segments);
lengths that pad nothing run the plain padded kernel.
"""

from __future__ import annotations

import argparse
import time

import torch

from rnnkit.nn import Recurrent

TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def _forward(layer, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if isinstance(layer, Recurrent):
        return layer(x, lengths=lengths)[0]
    if lengths is None:
        return layer(x)[0]
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    return torch.nn.utils.rnn.pad_packed_sequence(layer(packed)[0], batch_first=True)[0]


def seconds_per_step(layer, x: torch.Tensor, lengths: torch.Tensor | None, repeats: int) -> float:
    _forward(layer, x, lengths).sum().backward()  # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _forward(layer, x, lengths).sum().backward()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B, T = 64, 200
    x = torch.randn(B, T, 28)
    cases = {"no lengths": None, "full lengths": torch.full((B,), T),
             "bucketed 180-200": torch.randint(180, T + 1, (B,)), "varied 100-200": torch.randint(100, T + 1, (B,))}
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per forward+backward (best of {args.repeats})")
    print(f"{'cell':<5} {'backend':<9} " + " ".join(f"{name:>17}" for name in cases))
    for cell in ("rnn", "lstm", "gru"):
        layers = {"fused": Recurrent(cell, 28, 128, backend="fused"),
                  "unrolled": Recurrent(cell, 28, 128, backend="unrolled"),
                  "torch.nn": TORCH[cell](28, 128, batch_first=True)}
        for name, layer in layers.items():
            times = [seconds_per_step(layer, x, lengths, args.repeats) for lengths in cases.values()]
            print(f"{cell:<5} {name:<9} " + " ".join(f"{t:>17.3f}" for t in times))


if __name__ == "__main__":
    main()
