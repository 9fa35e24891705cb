"""Inference speed: streaming steps, generation and the torch-free runtime's start-up.

One torch thread and one onnxruntime thread, best of ``--repeats`` (interference only adds
time). For a 1-layer LSTM (input 64) with H = 128, 256, 512 and batch 1 and 64 it times one
streaming step — state in, one time step, state out — of

* ``rnnkit eager``: ``Recurrent.forward`` on a (B, 1, D) chunk with the carried state (checked);
* ``rnnkit step``: ``Recurrent.step`` (what generation runs per token: cell ops, no checks);
* ``torch.nn``: ``nn.LSTM`` with the same weights;
* ``torchscript``: the traced export graph (``rnnkit export --format torchscript``);
* ``ort fp32`` / ``ort int8``: the ONNX export graph in onnxruntime (int8: ``--quantize int8``);

printing µs per step and steps/s (× batch: stream-steps per second). Then the characters per
second of ``LanguageModel.generate`` (what ``rnnkit generate`` runs) with the main job's
shape (1×LSTM-256, embedding 64, 65 symbols, temperature 0.7, top-p 0.9) and of
``rnnkit.runtime`` generating through the ONNX step graph, and the runtime's time from
process start to its first generated character (a fresh ``python -c`` with no torch).

    python benchmarks/inference_speed.py
    python benchmarks/inference_speed.py --sizes 128 --batches 1 --repeats 9
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from rnnkit.export.exporter import _export_onnx, _export_torchscript
from rnnkit.export.graphs import RecurrentGraph
from rnnkit.nn import Recurrent

D = 64


def best_of(fn, repeats: int, number: int) -> float:
    """Seconds per call, best of ``repeats`` rounds of ``number`` calls."""
    for _ in range(min(number, 20)):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t) / number)
    return best


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def step_rows(H: int, batches: list[int], repeats: int, folder: Path) -> list[tuple]:
    from rnnkit.export.quantize import quantize_onnx

    torch.manual_seed(0)
    rnn = Recurrent("lstm", D, H).eval()
    ref = rnn.to_torch().eval()
    graph = RecurrentGraph(rnn, with_lengths=False).eval()  # a streaming step: whole sequences, no mask
    example = graph.example(2, 3)
    onnx_path, int8_path, ts_path = folder / f"h{H}.onnx", folder / f"h{H}-int8.onnx", folder / f"h{H}.pt"
    _export_onnx(graph, example, onnx_path, 18)
    quantize_onnx(onnx_path, int8_path)
    _export_torchscript(graph, example, ts_path)
    ts = torch.jit.load(str(ts_path))
    fp32, int8 = session(onnx_path), session(int8_path)
    rows = []
    for B in batches:
        x = torch.randn(B, 1, D)
        h, c = torch.zeros(1, B, H), torch.zeros(1, B, H)
        feeds = {"x": x.numpy(), "h0": h.numpy(), "c0": c.numpy()}
        number = 400 if B == 1 else 100
        with torch.no_grad():
            cases = {
                "rnnkit eager": lambda: rnn(x, (h, c)),
                "rnnkit step": lambda: rnn.step(x[:, 0], (h, c)),
                "torch.nn": lambda: ref(x, (h, c)),
                "torchscript": lambda: ts(x, h, c),
                "ort fp32": lambda: fp32.run(None, feeds),
                "ort int8": lambda: int8.run(None, feeds),
            }
            for name, fn in cases.items():
                sec = best_of(fn, repeats, number)
                rows.append((H, B, name, sec * 1e6, 1.0 / sec, B / sec))
    return rows


def generate_rows(repeats: int, folder: Path) -> list[tuple]:
    import rnnkit.runtime as rt
    from rnnkit.export.exporter import export_run
    from rnnkit.models.language_model import LanguageModel

    torch.manual_seed(0)
    lm = LanguageModel(vocab_size=65, embedding_dim=64, hidden_size=256, num_layers=1).eval()
    prime = torch.randint(0, 65, (7,))
    n = 2000
    with torch.no_grad():
        eager = best_of(lambda: lm.generate(prime, n, temperature=0.7, top_p=0.9, seed=0), repeats, 1)
    # an export folder for the runtime, from a stand-in Run (the export only reads these)
    run_dir = folder / "lm-run"
    run_dir.mkdir(exist_ok=True)
    vocab = {"format": "rnnkit.vocab", "version": 1, "specials": {}, "tokens": [chr(33 + i) for i in range(65)]}
    (run_dir / "artifacts.json").write_text(
        '{"task": "lm", "artifacts": {"level": "char", "lower": false, "vocab": %s}}' % __import__("json").dumps(vocab))

    class Task:
        name = "lm"

        class config:  # noqa: N801
            data: dict = {}
            generate: dict = {"prime": "ABC", "length": 600, "temperature": 0.7, "top_p": 0.9}

    class Run:
        path, task, model = run_dir, Task, lm

    out = export_run(Run, folder / "lm-onnx", format="onnx", overwrite=True)
    model = rt.load(out)
    runtime = best_of(lambda: model.generate("ABCDEFG", n, temperature=0.7, top_p=0.9, seed=0), repeats, 1)
    code = ("import time; t0 = time.perf_counter(); import sys, rnnkit.runtime as rt; "
            f"m = rt.load({str(out)!r}); m.generate('A', 1, temperature=0.7, seed=0); "
            "assert 'torch' not in sys.modules; print(time.perf_counter() - t0)")
    src = str(Path(__file__).resolve().parents[1] / "src")
    starts = []
    for _ in range(max(3, repeats // 2)):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                       env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"})
        starts.append(time.perf_counter() - t)
    return [("LanguageModel.generate (rnnkit generate)", n / eager), ("rnnkit.runtime generate (ORT step graph)", n / runtime),
            ("runtime ready: process start to first character (s)", min(starts))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="128,256,512")
    parser.add_argument("--batches", default="1,64")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sizes = [int(s) for s in args.sizes.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    print(f"torch {torch.__version__}, 1 thread; onnxruntime 1 thread; best of {args.repeats}; 1-layer LSTM, input {D}")
    print()
    print("| H | batch | engine | µs / step | steps/s | stream-steps/s |")
    print("|---:|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for H in sizes:
            for row in step_rows(H, batches, args.repeats, Path(tmp)):
                H_, B, name, us, sps, ssps = row
                print(f"| {H_} | {B} | {name} | {us:.1f} | {sps:,.0f} | {ssps:,.0f} |")
        print()
        print("| generation (1×LSTM-256, 65 symbols, T=0.7, top-p 0.9) | figure |")
        print("|---|---:|")
        for name, value in generate_rows(args.repeats, Path(tmp)):
            unit = f"{value:.2f}" if "(s)" in name else f"{value:,.0f} chars/s"
            print(f"| {name} | {unit} |")


if __name__ == "__main__":
    main()
