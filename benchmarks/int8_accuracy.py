"""What int8 costs after export: a run's metric in eager fp32 (rnnkit evaluate), through the
exported ONNX graph in fp32 and with dynamic int8 weights (rnnkit.runtime, onnxruntime).

    python benchmarks/int8_accuracy.py RUN_DIR DATA          # classify: DATA a labelled .npz / CSV
    python benchmarks/int8_accuracy.py RUN_DIR --lm-tail 0.1 # lm: the last 10% of the run's corpus
    python benchmarks/int8_accuracy.py RUN_DIR --mnist-test DIR   # classify on MNIST's 10k test images
    python benchmarks/int8_accuracy.py RUN_DIR --imdb-test FILE   # classify on IMDB's 25k test reviews

Classify prints accuracy; lm prints nats per token (token-weighted over the scored lines).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np


def _mnist_npz(folder: str, out: Path) -> Path:
    from rnnkit.data.sources import load_mnist

    test = load_mnist(folder).test
    path = out / "mnist-test.npz"
    np.savez(path, X=test.x, y=test.y)
    return path


def _imdb_csv(source: str, out: Path) -> Path:
    import csv

    from rnnkit.data.sources import load_imdb

    data = load_imdb(source)
    path = out / "imdb-test.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows((t, data.labels[y]) for t, y in zip(data.test.texts, data.test.labels.tolist()))
    return path


def _lm_tail(run_dir: Path, fraction: float, out: Path) -> Path:
    """The held-out tail of the run's corpus, cut where training cut it (tasks/lm.py holdout)."""
    from rnnkit.data._files import read_text
    from rnnkit.data.sources import bundled_tinyshakespeare
    from rnnkit.tasks.runner import load_run_config

    cfg = load_run_config(run_dir / "config.toml")
    text = read_text(cfg.data.path or bundled_tinyshakespeare())
    cut = len(text) - int(len(text) * fraction)
    path = out / "tail.txt"
    path.write_text(text[cut:], encoding="utf-8")
    return path


def _score(rows: list[dict], task: str, data: Path, label_column: str = "label") -> float:
    if task == "lm":
        n = np.array([r["tokens"] for r in rows], dtype=np.float64)
        nll = np.array([r["nll"] if r["nll"] is not None else 0.0 for r in rows], dtype=np.float64)
        return float((nll * n).sum() / n.sum())
    if data.suffix == ".npz":
        with np.load(data) as z:
            truth = [str(v) for v in z["y"].tolist()]
    else:
        from rnnkit.data.sources import read_table

        truth = read_table(data, [label_column]).columns[label_column]
    assert len(truth) == len(rows)
    return float(np.mean([r["label"] == t for r, t in zip(rows, truth)]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("data", nargs="?", type=Path)
    parser.add_argument("--mnist-test", help="MNIST folder: score its 10k test images")
    parser.add_argument("--imdb-test", help="IMDB file or folder: score its 25k test reviews")
    parser.add_argument("--lm-tail", type=float, help="lm runs: score the last FRACTION of the training corpus")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    from rnnkit import api, runtime

    run = api.load(args.run_dir)
    task = run.task.name
    work = Path(tempfile.mkdtemp(prefix="int8-"))
    try:
        data = args.data
        if args.mnist_test:
            data = _mnist_npz(args.mnist_test, work)
        elif args.imdb_test:
            data = _imdb_csv(args.imdb_test, work)
        elif args.lm_tail:
            data = _lm_tail(args.run_dir, args.lm_tail, work)
        if data is None:
            parser.error("give DATA, --mnist-test or --lm-tail")
        metric = "nats/token" if task == "lm" else "accuracy"
        eager = run.evaluate(data)
        results = [("rnnkit eager fp32 (evaluate)", eager["nll"] if task == "lm" else eager["accuracy"], 0.0)]
        for name, quant in (("ONNX fp32 (rnnkit.runtime)", None), ("ONNX int8 (rnnkit.runtime)", "int8")):
            folder = work / name.split()[1]
            run.export(format="onnx", out=folder, quantize=quant)
            model = runtime.load(folder)
            start = time.perf_counter()
            rows = model.predict(data)
            label_column = getattr(run.config.data, "label_column", "label")
            results.append((name, _score(rows, task, data, label_column), time.perf_counter() - start))
        size = {p.name: p.stat().st_size for p in (work / "fp32").glob("*.onnx")}
        size8 = {p.name: p.stat().st_size for p in (work / "int8").glob("*.onnx")}
        print(f"run {args.run_dir} ({task}), data {data.name}; one thread")
        print(f"{'path':32} {metric:>12} {'predict s':>10}")
        for name, value, seconds in results:
            print(f"{name:32} {value:12.5f} {seconds:10.1f}")
        print(f"graph size fp32 {sum(size.values()) / 1e6:.2f} MB, int8 {sum(size8.values()) / 1e6:.2f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
