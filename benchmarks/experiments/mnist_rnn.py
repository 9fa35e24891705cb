"""mnist-rnn: a vanilla tanh RNN 2 x 256 reads MNIST row by row; a linear layer over the
outputs of all 28 steps (pooling "flatten"), as in the PyTorch demo."""

from __future__ import annotations

import time
from pathlib import Path

from experiments import _recipes
from experiments.common import result
from experiments.mnist_lstm import mnist_plots, train_mnist

NAME = "mnist-rnn"


def run(out_dir: Path, datasets: Path) -> dict:
    start = time.perf_counter()
    task, model, fit, test, batches, _ = train_mnist(NAME, datasets)
    plots = mnist_plots(NAME, model, batches, fit, out_dir)
    acc = test["accuracy"]
    table = ["epoch  val_acc  test_acc"] + [
        f"{int(r['epoch']):<5}  {100 * r['val_accuracy']:.2f}%  {100 * r['test_accuracy']:.2f}%" for r in fit.history]
    return result(
        NAME, "vanilla RNN 2 x 256 reading MNIST rows, linear layer over all steps",
        demo="vanilla RNN 2×256 reads MNIST row by row, linear layer over all steps (PyTorch demo)", to_beat="—",
        target="≥ 98.0% test accuracy",
        rows=[{"metric": "accuracy", "value": acc, "split": "test"},
              {"metric": "macro_f1", "value": test["macro_f1"], "split": "test"}],
        command=_recipes.command(NAME), wall_time_s=time.perf_counter() - start, met=acc >= 0.98, plots=plots,
        samples="\n".join(table),
        notes=(f"{len(fit.history)} epochs, Adam lr 1e-3 with a cosine decay, batch 128, gradient clipping at 1.0; "
               "the model of the epoch with the best validation accuracy is tested once. The head is a linear layer "
               "on the 28 x 256 outputs concatenated (`pooling = \"flatten\"`)."))
