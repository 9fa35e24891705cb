"""Training-step throughput of ``Recurrent(backend="auto")`` vs raw ``torch.nn``.

For each cell and shape it times forward + backward, prints steps/s for both, the
ratio (our overhead), the achieved GFLOP/s of the matmuls, and the machine's fp32
GEMM GFLOP/s measured in the same run as the ceiling to compare with.

    python benchmarks/core_speed.py               # CPU, default shapes
    python benchmarks/core_speed.py --device cuda --repeats 7
"""

from __future__ import annotations

import argparse
import time

import torch

from rnnkit.nn import Recurrent

SHAPES = {
    "mnist-rows": dict(B=64, T=28, D=28, H=128, layers=2),
    "char-lm": dict(B=64, T=100, D=65, H=256, layers=2),
}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def step_flops(cell: str, B: int, T: int, D: int, H: int, layers: int) -> float:
    """Matmul FLOPs of one forward+backward step (backward ~ 2x forward)."""
    G = GATES[cell]
    fwd = sum(2 * B * T * (D if k == 0 else H) * G * H + 2 * B * T * H * G * H for k in range(layers))
    return 3.0 * fwd


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def time_steps(model, x, steps: int, device: str) -> float:
    """Seconds per training step, over ``steps`` steps."""
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        out, _ = model(x)
        out.square().mean().backward()
    sync(device)
    return (time.perf_counter() - start) / steps


def gemm_gflops(device: str, n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=5, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=5, help="timings per model (the best is reported, as timeit advises: interference only adds time)")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    dev = args.device
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}")
    print(f"fp32 GEMM (1024^3): {gemm_gflops(dev):.1f} GFLOP/s")
    header = f"{'shape':<11} {'cell':<5} {'torch.nn step/s':>15} {'rnnkit step/s':>14} {'ratio':>6} {'overhead':>9} {'GFLOP/s':>8} path"
    print(header)
    for shape_name in args.shapes.split(","):
        s = SHAPES[shape_name]
        for cell in args.cells.split(","):
            ours = Recurrent(cell, s["D"], s["H"], num_layers=s["layers"], backend="auto").to(dev)
            theirs = TORCH[cell](s["D"], s["H"], s["layers"], batch_first=True).to(dev)
            theirs.load_state_dict(ours.state_dict())
            x = torch.randn(s["B"], s["T"], s["D"], device=dev)
            time_steps(ours, x, 2, dev)  # warm-up
            time_steps(theirs, x, 2, dev)
            ours_t, theirs_t = [], []
            for _ in range(args.repeats):  # interleaved so drift hits both alike
                theirs_t.append(time_steps(theirs, x, args.steps, dev))
                ours_t.append(time_steps(ours, x, args.steps, dev))
            t_ours, t_theirs = min(ours_t), min(theirs_t)
            ratio = t_theirs / t_ours
            gflops = step_flops(cell, s["B"], s["T"], s["D"], s["H"], s["layers"]) / t_ours / 1e9
            print(
                f"{shape_name:<11} {cell:<5} {1 / t_theirs:>15.2f} {1 / t_ours:>14.2f} {ratio:>6.3f} "
                f"{(t_ours / t_theirs - 1) * 100:>8.1f}% {gflops:>8.1f} {ours.path}"
            )


if __name__ == "__main__":
    main()
