"""The plots of a finished run, written to ``RUN_DIR/plots/`` and linked from ``report.md``.

Always the training curves; per task: the confusion matrix (classify), predicted vs
actual (regress, forecast), attention heatmaps (seq2seq) and sample text (lm,
generate). Each is drawn from the run's test split when it has one, else validation.
Without matplotlib the run says once that plots were skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rnnkit.errors import RnnkitError

log = logging.getLogger("rnnkit.viz")

__all__ = ["write_run_plots", "PLOTS_DIR"]

PLOTS_DIR = "plots"
_MAX_POINTS = 2000  # examples drawn in a scatter or confusion plot (metrics always cover the whole split)


def write_run_plots(result: Any) -> list[str]:
    """Write the plots of ``result`` (a :class:`rnnkit.tasks.runner.RunResult`); returns
    the files written, relative to the run directory ([] when matplotlib is missing)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        log.warning("plots skipped: matplotlib is not installed (pip install 'rnnkit[viz]')")
        return []
    folder = Path(result.run_dir) / PLOTS_DIR
    written: list[Path] = []
    if result.fit.history:
        written.append(_curves(result, folder / "curves.png"))
    examples = result.data.examples
    split = examples.get("test") or examples.get("val")
    task, model = result.task, result.model.eval()
    draw = {"classify": _confusion, "regress": _regression, "forecast": _forecast,
            "seq2seq": _attention, "lm": _sample, "generate": _sample}.get(task.name)
    if draw is not None and (split is not None or task.name in ("lm", "generate")):
        try:
            with torch.no_grad():
                written.extend(draw(task, model, split, folder))
        except RnnkitError as exc:  # a plot is a view of the run, never a reason to lose it
            log.warning("the %s plot was skipped: %s", task.name, exc)
    return [str(p.relative_to(result.run_dir)) for p in written]


def _curves(result: Any, path: Path) -> Path:
    from rnnkit.viz.curves import plot_training_curves

    history = result.fit.history
    keys = [k[len("train_"):] for k in history[-1] if k.startswith("train_") and k != "train_loss"]
    keys += [k[len("val_"):] for k in history[-1] if k.startswith("val_") and k[4:] not in keys and k != "val_loss"]
    return plot_training_curves(history, path, metrics=["loss", *keys[:2]], title=f"{result.task.name}: training curves")


def _subset(examples: Any) -> Any:
    return examples if len(examples) <= _MAX_POINTS else examples.take(np.arange(_MAX_POINTS))


def _confusion(task: Any, model: Any, examples: Any, folder: Path) -> list[Path]:
    from rnnkit.tasks.pipeline import predict_examples
    from rnnkit.viz.confusion import confusion_matrix, plot_confusion_matrix

    labels = task.artifacts.labels
    part = _subset(examples)
    rows = predict_examples(task, model, part)
    index = {name: i for i, name in enumerate(labels)}
    true = np.array([index[str(t)] for t in part.targets])
    pred = np.array([index[r["label"]] for r in rows])
    matrix = confusion_matrix(true, pred, len(labels))
    return [plot_confusion_matrix(matrix, folder / "confusion.png", labels=labels if len(labels) <= 30 else None,
                                  title=f"{part.where}: {len(part)} examples")]


def _regression(task: Any, model: Any, examples: Any, folder: Path) -> list[Path]:
    from rnnkit.tasks.pipeline import predict_examples
    from rnnkit.viz.predictions import plot_predicted_vs_actual

    part = _subset(examples)
    rows = predict_examples(task, model, part)
    name = task.artifacts.targets[0]
    return [plot_predicted_vs_actual(part.targets[:, 0], np.array([r[name] for r in rows]),
                                     folder / "predicted_vs_actual.png", title=f"{name}: {part.where}")]


def _forecast(task: Any, model: Any, examples: Any, folder: Path) -> list[Path]:
    from rnnkit.viz.predictions import plot_predicted_vs_actual

    dataset = task.encode(examples)
    pred, true = [], []
    for batch in task.loader(dataset, train=False):
        batch = batch.to(next(model.parameters()).device)
        out = model(batch.inputs, batch.lengths).float().reshape(len(batch.inputs), -1)
        pred.append(out[:, 0].cpu().numpy())
        true.append(batch.targets.reshape(len(batch.inputs), -1)[:, 0].float().cpu().numpy())
        if sum(map(len, pred)) >= _MAX_POINTS:
            break
    unit = "standardised" + (", relative to the last input row" if task.config.data.relative else "")
    return [plot_predicted_vs_actual(np.concatenate(true), np.concatenate(pred), folder / "predicted_vs_actual.png",
                                     title=f"{task.artifacts.targets[0]}, 1 step ahead: {examples.where}", unit=unit)]


def _attention(task: Any, model: Any, examples: Any, folder: Path) -> list[Path]:
    from rnnkit.tasks.pipeline import predict_examples
    from rnnkit.viz.attention import plot_attention

    from rnnkit.tasks.runner import with_settings

    if task.config.model.attention == "none":
        return []
    shown = type(task)(with_settings(task.config, ["decode.attention=true"]))  # rows carry the weights
    shown.artifacts = task.artifacts
    out = []
    rows = predict_examples(shown, model, examples.take(np.arange(min(20, len(examples)))))
    rows = [r for r in rows if r.get("target_tokens") and r.get("source_tokens")][:2]  # an empty decode has no map
    for k, row in enumerate(rows, 1):
        out.append(plot_attention(row["attention"], row["source_tokens"], row["target_tokens"],
                                  folder / f"attention_{k}.png", title=row.get("source", "")[:60]))
    return out


def _sample(task: Any, model: Any, examples: Any, folder: Path) -> list[Path]:
    if not hasattr(task, "generate"):
        return []
    path = folder / "sample.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    if task.name == "generate" and task.artifacts.labels is not None:
        text = "\n\n".join(f"--- {label} ---\n{task.generate(model, condition=label, length=100)}"
                           for label in task.artifacts.labels[:4])
    elif task.name == "generate":  # a vector condition: the task's default condition
        text = task.generate(model, length=100)
    else:
        text = task.generate(model, length=400)
    path.write_text(text + "\n", encoding="utf-8")
    return [path]
