"""next-number: 5 consecutive integers → the next, one LSTM unit, MAE loss (the Keras demo).

The data is the demo's kind, made here: windows ``s, s+1, .., s+4`` → ``s+5`` for every
start ``s`` in 0..99; 20 random starts are held out as the test set. The same recipe is
trained twice: standardised (the recipe) and on the raw numbers (the demo's failure).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import numpy as np
import torch

from experiments import _recipes
from experiments.common import result

NAME = "next-number"
STARTS = 100  # windows start at 0..99
TEST = 20  # held-out starts


def make_data(folder: Path, seed: int = 0) -> tuple[Path, Path]:
    """train.npz / test.npz with X (N, 5, 1) and y (N,) in ``folder``."""
    starts = np.random.default_rng(seed).permutation(STARTS)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, s in (("train", starts[TEST:]), ("test", starts[:TEST])):
        x = (s[:, None] + np.arange(5))[:, :, None].astype(np.float32)
        paths.append(folder / f"{name}.npz")
        np.savez(paths[-1], X=x, y=(s + 5).astype(np.float32))
    return paths[0], paths[1]


def _train(tag: str, train: Path, test: Path, overrides: list[str]):
    run_dir = _recipes.RUNS / f"{NAME}-{tag}"
    shutil.rmtree(run_dir, ignore_errors=True)
    torch.set_num_threads(1)
    from experiments.common import run_recipe

    res = run_recipe(NAME, run_dir, overrides, data=str(train), test=str(test))
    from rnnkit.tasks.pipeline import predict_examples

    pred = np.array([row["y"] for row in predict_examples(res.task, res.model, res.task.read(test, labelled=False))])
    return res, pred


def run(out_dir: Path, datasets: Path) -> dict:
    from rnnkit.viz.curves import plot_training_curves
    from rnnkit.viz.predictions import plot_predicted_vs_actual

    start = time.perf_counter()
    train, test = make_data(_recipes.RUNS / f"{NAME}-data")
    shutil.copy(train, out_dir / "train.npz")  # the generated data, kept beside the figures (2 KB each)
    shutil.copy(test, out_dir / "test.npz")
    norm, pred_norm = _train("normalised", train, test, [])
    raw, pred_raw = _train("raw", train, test, ["data.scale=none", "data.scale_target=none"])
    actual = np.load(test)["y"]
    mae_norm, mae_raw = norm.test_metrics["mae_orig"], raw.test_metrics["mae_orig"]
    assert abs(float(np.abs(pred_norm - actual).mean()) - mae_norm) < 1e-3  # predict agrees with evaluate
    plots = [
        plot_predicted_vs_actual(actual, {f"standardised (MAE {mae_norm:.3f})": pred_norm,
                                          f"raw numbers (MAE {mae_raw:.2f})": pred_raw},
                                 out_dir / "predicted_vs_actual.png", title="next number: 20 held-out windows"),
        plot_training_curves(norm.fit.history, out_dir / "curves.png", metrics=("mae_orig",),
                             title="standardised: MAE in original units per epoch"),
    ]
    samples = "\n".join(f"{int(x0)}..{int(x0) + 4} -> {a:.0f}: standardised {p:.3f}, raw {q:.2f}"
                        for x0, a, p, q in zip(actual[:8] - 5, actual[:8], pred_norm[:8], pred_raw[:8]))
    return result(
        NAME, "5 consecutive numbers → the next, one LSTM unit",
        demo="5 consecutive numbers → the next; single LSTM unit; MAE loss; normalised (Keras demo)",
        to_beat="MAE ≈ 2.9 (original units, 500 epochs)", target="test MAE < 0.1 in original units",
        rows=[{"metric": "MAE (original units)", "value": mae_norm, "split": "test, standardised"},
              {"metric": "MAE (original units)", "value": mae_raw, "split": "test, raw numbers"},
              {"metric": "epochs", "value": norm.fit.epochs_completed, "split": ""}],
        command=_recipes.command(NAME), wall_time_s=time.perf_counter() - start, met=mae_norm < 0.1,
        plots=[f"{out_dir.name}/{p.name}" for p in plots], samples=samples,
        notes=(f"Data made by the experiment (kept in `results/{NAME}/`): windows s..s+4 → s+5 for s = 0..99; "
               f"{TEST} random starts are the test set, 8 of the other 80 the validation set. The model is the demo's: "
               "one LSTM unit and a linear 1 → 1 output, MAE loss on the standardised target, Adam lr 0.03 with "
               "a cosine decay (an L1 gradient does not shrink near the optimum, so the step size must), "
               f"{norm.fit.epochs_completed} epochs of 72 windows in batches of 8. The *raw numbers* run is the same recipe with "
               "`--set data.scale=none data.scale_target=none`: the tanh unit saturates on inputs up to 104 and "
               "the output collapses towards a narrow range - the failure the demo describes."))
