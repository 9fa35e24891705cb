"""Which epoch should a text classifier end with? The imdb case of ``benchmarks/defaults.py``
(3,000 training / 1,000 test reviews, the classify defaults, the same 2-minute cap), trained with
``train.restore_best = false`` while the test accuracy of every epoch's weights is recorded; then
the epoch each monitor would restore (best ``val_loss``; best ``val_accuracy``, ties to the lower
loss) and its test accuracy, beside the last and the best epoch.

The test split only scores here: it never picks anything. This is the measurement behind
classify's ``train.monitor = "val_accuracy"`` default (docs/tasks/classify.md).

    python benchmarks/imdb_epochs.py                          # seeds 0, 1, 2
    python benchmarks/imdb_epochs.py --seeds 5 --set train.optim.lr=0.003

Run with ``OMP_NUM_THREADS=1``; the script also sets ``torch.set_num_threads(1)``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import defaults  # noqa: E402  (benchmarks/defaults.py: the imdb subset and the harness cap)

import rnnkit  # noqa: E402
from rnnkit.train.callbacks.base import Callback  # noqa: E402


class EpochWeights(Callback):
    """Keeps a copy of the weights the run would hand over (the moving average under
    ``train.ema_decay``) and the logged row of every epoch."""

    def __init__(self) -> None:
        self.epochs: list[tuple[dict[str, torch.Tensor], dict[str, float]]] = []

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        state = {k: v.detach().clone() for k, v in trainer.deliverable_state().items()}  # the average under ema_decay
        self.epochs.append((state, dict(row)))


def one_seed(seed: int, data: tuple, settings: dict[str, Any], minutes: float) -> dict[str, Any]:
    tx, ty, vx, vy = data
    keep = EpochWeights()
    with tempfile.TemporaryDirectory() as d:
        s = {"train.max_minutes": minutes, **settings, "train.restore_best": False, "train.seed": seed}
        t0 = time.perf_counter()
        run = rnnkit.fit("classify", tx, ty, out=Path(d) / "run", settings=s, quiet=True, callbacks=[keep])
        wall = time.perf_counter() - t0
        rows = []
        for state, row in keep.epochs:
            run.model.load_state_dict(state)
            rows.append((row["val_loss"], row["val_accuracy"], run.evaluate(vx, vy)["accuracy"]))
    by_loss = min(range(len(rows)), key=lambda i: rows[i][0])
    by_acc = max(range(len(rows)), key=lambda i: (rows[i][1], -rows[i][0]))
    return {"rows": rows, "wall": wall, "val_loss": by_loss, "val_accuracy": by_acc}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=3, help="train.seed = 0 .. N-1")
    p.add_argument("--minutes", type=float, default=2.0, help="train.max_minutes (defaults.py's cap)")
    p.add_argument("--datasets", type=Path, default=defaults.DATASETS)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a classify setting on top of the defaults (experiments)")
    a = p.parse_args(argv)
    settings = {}
    for item in a.set:
        key, sep, value = item.partition("=")
        if not sep:
            p.error(f"--set expects KEY=VALUE; got {item!r}")
        settings[key] = value
    torch.set_num_threads(1)
    try:
        data = defaults.imdb_subset(defaults.Options(False, a.minutes, a.datasets))
    except defaults.Skip as e:
        print(f"skipped: {e}")
        return 0
    print(f"imdb, {len(data[0])} train / {len(data[2])} test reviews, classify defaults"
          + (f" + {' '.join(a.set)}" if a.set else "") + f", train.max_minutes = {a.minutes}, one thread")
    print("test accuracy of the epoch each rule picks (epoch in brackets); per epoch: val accuracy / test accuracy")
    picks: dict[str, list[float]] = {"val_loss": [], "val_accuracy": [], "last": [], "best test": []}
    for seed in range(a.seeds):
        r = one_seed(seed, data, settings, a.minutes)
        rows = r["rows"]
        test = [x[2] for x in rows]
        picks["val_loss"].append(test[r["val_loss"]])
        picks["val_accuracy"].append(test[r["val_accuracy"]])
        picks["last"].append(test[-1])
        picks["best test"].append(max(test))
        print(f"seed {seed}: {len(rows)} epoch(s) in {r['wall']:.0f} s | best val_loss: {test[r['val_loss']]:.3f} "
              f"(epoch {r['val_loss'] + 1}) | best val_accuracy: {test[r['val_accuracy']]:.3f} "
              f"(epoch {r['val_accuracy'] + 1}) | last: {test[-1]:.3f} | best test: {max(test):.3f}")
        print("    " + " ".join(f"{v:.2f}/{t:.3f}" for _, v, t in rows), flush=True)
    print("median over seeds: " + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in picks.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
