"""Time to accuracy on MNIST rows: rnnkit's recipes against the courses' demo-style PyTorch loops.

Each contender trains one after another on ONE torch thread; after every epoch (and, with
``--checks-per-epoch K``, at K evenly spaced points of every epoch) its test accuracy (all
10,000 test images) is measured and logged against the wall seconds since its training
started (the seconds spent on that test scoring are not counted).

Contenders, per demo:

- ``rnn`` demo: a plain PyTorch loop as the courses write it: ``nn.RNN`` 2 x 256 (tanh,
  batch_first) + one linear layer over the outputs of all 28 steps, Adam 1e-3, batch 100,
  a ``DataLoader`` over tensors; against rnnkit's ``mnist-rnn`` recipe in fp32 and bf16.
- ``lstm`` demo: ``nn.LSTM`` 2 x 128 (dropout 0.2 between the layers) + dropout 0.2 + dense
  on the last step, Adam 1e-3, batch 32; against rnnkit's ``mnist-lstm`` recipe in fp32
  and bf16 (``train.precision=bf16``: fp32 master weights, bf16 autocast).

Images are scaled to [0, 1] and read row by row (28 steps x 28 pixels). The rnnkit recipes
run as configured (their batch size, learning rate, cosine schedule compressed into
``--epochs``, gradient clipping, 10% of the training images held out for their
validation pass, which *is* counted in their time), through ``rnnkit.tasks.runner.train``
with a callback that scores the test split at every epoch end. Their clock starts when
``train`` is called with the images already in memory (as the demos' clock starts with
their tensors built).

Printed: for each demo, the demo's own final test accuracy and the seconds each contender
needed to first reach it (looked at only at the checks, so a contender that gets there
between two checks is credited at the later one), with the speed-up over the demo; then a
table of (seconds, test accuracy) at every epoch end of every run.

    python benchmarks/time_to_accuracy.py                                  # 60k images x 3 epochs (long)
    python benchmarks/time_to_accuracy.py --max-train 6000 --epochs 2      # a quick check
    python benchmarks/time_to_accuracy.py --only lstm --max-train 20000
    python benchmarks/time_to_accuracy.py --checks-per-epoch 4           # finer crossing times
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "mnist"


# ------------------------------------------------------------------ data

def load_data(folder: Path | None, max_train: int | None):
    from rnnkit.data.sources import load_mnist

    d = load_mnist(None if folder is None else str(folder), download=False)
    x, y = d.train.x, d.train.y
    if max_train:
        x, y = x[:max_train], y[:max_train]
    return (np.ascontiguousarray(x, dtype=np.float32), y.astype(np.int64),
            np.ascontiguousarray(d.test.x, dtype=np.float32), d.test.y.astype(np.int64))


# ------------------------------------------------------------------ the demos' way

class DemoRNN(nn.Module):
    """nn.RNN 2 x 256 (tanh) + a linear layer over the outputs of all 28 steps."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(28, 256, num_layers=2, batch_first=True)
        self.fc = nn.Linear(28 * 256, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out.reshape(out.size(0), -1))


class DemoLSTM(nn.Module):
    """nn.LSTM 2 x 128 (dropout 0.2 between the layers) + dropout 0.2 + dense on the last step."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(28, 128, num_layers=2, batch_first=True, dropout=0.2)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(self.drop(out[:, -1]))


DEMOS = {"rnn": (DemoRNN, 100), "lstm": (DemoLSTM, 32)}


def demo_accuracy(model, x_test, y_test) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x_test), 1000):
            correct += (model(x_test[i:i + 1000]).argmax(1) == y_test[i:i + 1000]).sum().item()
    model.train()
    return correct / len(x_test)


def check_steps(steps_per_epoch: int, checks_per_epoch: int) -> set[int]:
    """The 1-based step numbers within an epoch after which the test split is scored (the
    epoch's last step always among them)."""
    k = max(1, min(checks_per_epoch, steps_per_epoch))
    return {round(steps_per_epoch * (i + 1) / k) for i in range(k)}


def train_demo(kind: str, data, epochs: int, checks_per_epoch: int = 1,
               seed: int = 0) -> list[tuple[float, float, bool]]:
    """The demo loop; [(seconds since start, test accuracy, at an epoch end)] at every check."""
    from torch.utils.data import DataLoader, TensorDataset

    torch.manual_seed(seed)
    x_train, y_train, x_test, y_test = (torch.from_numpy(a) for a in data)
    make, batch_size = DEMOS[kind]
    model = make()
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=batch_size, shuffle=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    log, not_counted = [], 0.0
    checks = check_steps(len(loader), checks_per_epoch)
    start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for i, (images, labels) in enumerate(loader, 1):
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            if i in checks:
                t = time.perf_counter()
                log.append((t - start - not_counted, demo_accuracy(model, x_test, y_test), i == len(loader)))
                not_counted += time.perf_counter() - t
    return log


# ------------------------------------------------------------------ rnnkit's recipes

def _callback_class():
    from rnnkit.train.callbacks import Callback

    class TestAccuracyLog(Callback):
        """Scores the test images at the checks within an epoch (``checks``: 1-based step numbers
        within the epoch) and at every epoch end; records (training seconds, accuracy, epoch end)."""

        def __init__(self, x_test: np.ndarray, y_test: np.ndarray, steps_per_epoch: int, checks: set[int]) -> None:
            self.x = torch.from_numpy(x_test)
            self.y = torch.from_numpy(y_test)
            self.steps_per_epoch, self.checks = steps_per_epoch, checks - {steps_per_epoch}
            self.start = time.perf_counter()
            self.not_counted = 0.0
            self.log: list[tuple[float, float, bool]] = []

        def on_step_end(self, trainer, info) -> None:
            if info.step - info.epoch * self.steps_per_epoch in self.checks:
                self._score(trainer, False)

        def on_epoch_end(self, trainer, epoch: int, row: dict) -> None:
            self._score(trainer, True)

        def _score(self, trainer, epoch_end: bool) -> None:
            t = time.perf_counter()
            model = trainer.module
            was_training = model.training
            model.eval()
            correct = 0
            with torch.no_grad(), trainer._autocast():  # the model as the run trains it (bf16 under bf16)
                for i in range(0, len(self.x), 1000):
                    xb = self.x[i:i + 1000]
                    lengths = torch.full((len(xb),), xb.shape[1], dtype=torch.long)
                    correct += (model(xb, lengths).argmax(-1) == self.y[i:i + 1000]).sum().item()
            model.train(was_training)
            self.log.append((t - self.start - self.not_counted, correct / len(self.x), epoch_end))
            self.not_counted += time.perf_counter() - t

    return TestAccuracyLog


def train_recipe(recipe: str, precision: str, data, epochs: int, out_root: Path, checks_per_epoch: int = 1,
                 settings: tuple[str, ...] = ()):
    """rnnkit's ``recipe``; ([(seconds, test accuracy, epoch end)] at every check, rnnkit's own
    final test accuracy)."""
    from rnnkit.tasks import runner
    from rnnkit.tasks.base import Examples

    x_train, y_train, x_test, y_test = data
    cfg = runner.load_run_config(recipe, [f"train.epochs={epochs}", f"train.precision={precision}",
                                          "train.quiet=true", "data.dataset=none", *settings])
    given = {"train": Examples(list(x_train), [str(v) for v in y_train.tolist()], "mnist train"),
             "test": Examples(list(x_test), [str(v) for v in y_test.tolist()], "mnist test")}
    n_fit = len(x_train) - round(len(x_train) * cfg.data.val_fraction)  # the recipe holds val_fraction out
    steps = -(-n_fit // cfg.data.batch_size)
    cb = _callback_class()(x_test, y_test, steps, check_steps(steps, checks_per_epoch))
    cb.start = time.perf_counter()
    result = runner.train(cfg, out_root / f"{recipe}-{precision}", quiet=True, given=given, callbacks=[cb])
    return cb.log, result.test_metrics.get("accuracy", float("nan"))


# ------------------------------------------------------------------ report

def first_reach(log: list[tuple[float, float, bool]], target: float) -> float | None:
    return next((s for s, a, _ in log if a >= target), None)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-train", type=int, default=None, help="train on the first N training images")
    p.add_argument("--only", choices=("rnn", "lstm"), default=None)
    p.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder with the four MNIST IDX files")
    p.add_argument("--precisions", default="fp32,bf16", help="rnnkit precisions to run")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="experiments: a setting for the rnnkit recipes (printed in the header: not the recipe as shipped)")
    p.add_argument("--checks-per-epoch", type=int, default=1,
                   help="score the test split this many times per epoch (evenly spaced, the epoch end included)")
    args = p.parse_args(argv)

    torch.set_num_threads(1)
    data = load_data(args.data, args.max_train)
    kinds = [args.only] if args.only else ["rnn", "lstm"]
    precisions = [s.strip() for s in args.precisions.split(",") if s.strip()]
    print(f"MNIST rows, {len(data[0]):,} training images, {len(data[2]):,} test images, {args.epochs} epochs, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread", flush=True)
    if args.settings:
        print(f"EXPERIMENT, not the recipes as shipped: {' '.join(args.settings)}", flush=True)

    logs: dict[str, list[tuple[float, float]]] = {}
    own: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="tta-") as tmp:
        for kind in kinds:
            name = f"demo {kind}"
            logs[name] = train_demo(kind, data, args.epochs, args.checks_per_epoch)
            print(f"  {name}: " + ", ".join(f"{s:.0f}s {100 * a:.2f}%" for s, a, _ in logs[name]), flush=True)
            for prec in precisions:
                name = f"rnnkit mnist-{kind} {prec}"
                logs[name], own[name] = train_recipe(f"mnist-{kind}", prec, data, args.epochs, Path(tmp),
                                                            args.checks_per_epoch, tuple(args.settings))
                print(f"  {name}: " + ", ".join(f"{s:.0f}s {100 * a:.2f}%" for s, a, _ in logs[name]), flush=True)

    where = "at epoch ends only" if args.checks_per_epoch == 1 else f"{args.checks_per_epoch} times per epoch"
    print(f"\nTime to the demo's own final test accuracy (checked {where})")
    for kind in kinds:
        demo = f"demo {kind}"
        target = logs[demo][-1][1]
        t_demo = first_reach(logs[demo], target)
        print(f"\n{kind} demo: final test accuracy {100 * target:.2f}% after {args.epochs} epochs")
        print(f"  {'contender':<26} {'seconds':>8} {'speed-up':>9}")
        for name, log in logs.items():
            if not (name == demo or name.startswith(f"rnnkit mnist-{kind} ")):
                continue
            s = first_reach(log, target)
            if s is None:
                print(f"  {name:<26} {'never':>8} {'-':>9}  (best {100 * max(a for _, a, _ in log):.2f}%)")
            else:
                print(f"  {name:<26} {s:>8.1f} {t_demo / s:>8.2f}x")

    print("\nPer epoch: seconds since start (test scoring not counted), test accuracy")
    width = max(len(n) for n in logs)
    print(f"  {'run':<{width}}  " + "  ".join(f"{'epoch ' + str(e + 1):>16}" for e in range(args.epochs)))
    for name, log in logs.items():
        cells = "  ".join(f"{s:>7.1f}s {100 * a:>6.2f}%" for s, a, end in log if end)
        extra = f"   (rnnkit's final model, best-val epoch: {100 * own[name]:.2f}%)" if name in own else ""
        print(f"  {name:<{width}}  {cells}{extra}")


if __name__ == "__main__":
    main()
