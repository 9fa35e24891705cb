"""Training-step speed of every rnnkit path against ``torch.nn``, in fp32 and bf16.

For each shape, cell and precision it times forward + backward (the loss is the mean
square of the output) of ``torch.nn.RNN/LSTM/GRU`` and of ``Recurrent`` on each of its
paths with the same weights, interleaved and best-of-``--repeats`` (interference only adds
time), and prints per row: ms per step, the achieved GFLOP/s of the step's matmuls, that
rate as a fraction of the GEMM rate of the same precision measured in the same run
(1024^3, one call), and the speed-up over ``torch.nn`` in the same precision.
"bf16" means the step runs under ``torch.autocast("cpu"|"cuda", dtype=torch.bfloat16)``
with float32 parameters, as ``train.precision = "bf16"`` does. ``auto`` names the path
``backend="auto"`` takes for that row.

    python benchmarks/core_speed.py                 # default: MNIST-rows and char-LM shapes, a few minutes
    python benchmarks/core_speed.py --full          # + batch 1/16/256 and H = 64..1024 (long)
    python benchmarks/core_speed.py --threads 1 --repeats 7 --paths torch,fused,cpu_fused
"""

from __future__ import annotations

import argparse
import contextlib
import time

import torch

from rnnkit.nn import Recurrent

# the target shapes: MNIST rows (RNN 2x256, LSTM/GRU 2x128) and the char-LM
BASE = {
    "mnist-rows": dict(B=64, T=28, D=28, H={"rnn": 256, "lstm": 128, "gru": 128}, layers=2),
    "char-lm": dict(B=64, T=100, D=65, H=256, layers=2),
}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TORCH = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
PRECISIONS = {"fp32": None, "bf16": torch.bfloat16}


def shapes(full: bool, names: list[str]) -> list[tuple[str, dict]]:
    out = [(n, BASE[n]) for n in names]
    if full:
        m = BASE["mnist-rows"]
        out += [(f"mnist-B{b}", dict(m, B=b)) for b in (1, 16, 256)]
        out += [(f"mnist-H{h}", dict(m, H=h)) for h in (64, 128, 256, 512, 1024)]
    return out


def hidden(s: dict, cell: str) -> int:
    return s["H"][cell] if isinstance(s["H"], dict) else s["H"]


def step_flops(cell: str, B: int, T: int, D: int, H: int, layers: int) -> float:
    """Matmul FLOPs of one forward+backward step (backward = 2x forward: dX and dW)."""
    G = GATES[cell]
    fwd = sum(2 * B * T * (D if k == 0 else H) * G * H + 2 * B * T * H * G * H for k in range(layers))
    return 3.0 * fwd


def sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def amp(device: str, dtype):
    return contextlib.nullcontext() if dtype is None else torch.autocast(device, dtype=dtype)


def time_steps(model, x, steps: int, device: str, dtype) -> float:
    """Seconds per training step, over ``steps`` steps."""
    sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        with amp(device, dtype):
            out, _ = model(x)
        out.float().square().mean().backward()
    sync(device)
    return (time.perf_counter() - start) / steps


def gemm_gflops(device: str, dtype: torch.dtype, n: int = 1024, reps: int = 10, repeats: int = 3) -> float:
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            a @ b
        sync(device)
        best = min(best, (time.perf_counter() - start) / reps)
    return 2 * n**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: the figures of the issue)")
    parser.add_argument("--steps", type=int, default=3, help="training steps per timing")
    parser.add_argument("--repeats", type=int, default=5,
                        help="timings per model, interleaved; the best is reported (interference only adds time)")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--shapes", default=",".join(BASE), help="base shapes: " + ", ".join(BASE))
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--paths", default="torch,fused,cpu_fused,unrolled",
                        help="torch (torch.nn) and the rnnkit paths to time")
    parser.add_argument("--full", action="store_true", help="add batch 1/16/256 and H = 64..1024 at the MNIST-rows shape")
    args = parser.parse_args()
    dev = args.device
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    paths = args.paths.split(",")
    precisions = args.precisions.split(",")
    print(f"torch {torch.__version__}, device {dev}, threads {torch.get_num_threads()}")
    gemm = {p: gemm_gflops(dev, torch.bfloat16 if p == "bf16" else torch.float32) for p in precisions}
    print("GEMM 1024^3 at start: " + ", ".join(f"{p} {g:.1f} GFLOP/s" for p, g in gemm.items()))
    print(f"{'shape':<12} {'cell':<5} {'prec':<5} {'B':>4} {'T':>4} {'H':>5} {'path':<10} "
          f"{'ms/step':>9} {'GFLOP/s':>8} {'%GEMM':>6} {'vs torch':>8}  auto")
    for shape_name, s in shapes(args.full, args.shapes.split(",")):
        for cell in args.cells.split(","):
            H = hidden(s, cell)
            flops = step_flops(cell, s["B"], s["T"], s["D"], H, s["layers"])
            for prec in precisions:
                dtype = PRECISIONS[prec]
                # the ceiling is re-measured per row group and the best kept: on a shared
                # machine one early measurement can be far off
                gemm[prec] = max(gemm[prec], gemm_gflops(dev, torch.bfloat16 if prec == "bf16" else torch.float32))
                models = {}
                first = Recurrent(cell, s["D"], H, num_layers=s["layers"]).to(dev)
                for path in paths:
                    if path == "torch":
                        m = TORCH[cell](s["D"], H, s["layers"], batch_first=True).to(dev)
                    else:
                        m = Recurrent(cell, s["D"], H, num_layers=s["layers"], backend=path).to(dev)
                    m.load_state_dict(first.state_dict())
                    models[path] = m
                x = torch.randn(s["B"], s["T"], s["D"], device=dev)
                times: dict[str, list[float]] = {p: [] for p in models}
                for p, m in models.items():  # warm-up
                    time_steps(m, x, 1, dev, dtype)
                for _ in range(args.repeats):  # interleaved so drift hits every model alike
                    for p, m in models.items():
                        times[p].append(time_steps(m, x, args.steps, dev, dtype))
                with amp(dev, dtype):
                    auto = first.path
                base = min(times["torch"]) if "torch" in times else None
                for p in models:
                    t = min(times[p])
                    gflops = flops / t / 1e9
                    speedup = f"{base / t:>7.2f}x" if base else f"{'-':>8}"
                    print(f"{shape_name:<12} {cell:<5} {prec:<5} {s['B']:>4} {s['T']:>4} {H:>5} {p:<10} "
                          f"{t * 1e3:>9.2f} {gflops:>8.1f} {gflops / gemm[prec] * 100:>5.0f}% {speedup}  "
                          f"{'<- auto' if p == auto else ''}", flush=True)
    print("GEMM 1024^3 best seen (the %GEMM base): " + ", ".join(f"{p} {g:.1f} GFLOP/s" for p, g in gemm.items()))


if __name__ == "__main__":
    main()
