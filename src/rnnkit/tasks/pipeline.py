"""The pipeline skeleton every task type runs through.

``prepare``: read each split through the task's one reader (files, built-in dataset or
in-memory examples) → hold out a seeded validation (and, where the task has
``test_fraction``, test) part of the training examples → fit the artifacts on the
training split only (or reuse the loaded ones) → encode → loaders.

``evaluate``: score a whole split with the final objective (full decoding, the configured
beam); ``predict``: the same reader, encoding and batches in a fixed order, rows put back
in input order. Sharding under DDP is the Trainer's (it shards any batch source).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Iterable, Mapping

import torch
from torch import nn

from rnnkit.data._files import atomic_write_text
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.tasks.base import Examples, PreparedData, Task
from rnnkit.train import RunDir, Trainer

__all__ = ["ARTIFACTS_FILE", "SPLITS", "read_splits", "read_split_only", "prepare", "save_artifacts",
           "load_artifacts", "evaluate_batches", "evaluate_examples", "predict_examples"]

ARTIFACTS_FILE = "artifacts.json"
SPLITS = ("train", "val", "test")
_SPLIT_NAMES = {"train": "train", "val": "validation", "test": "test"}


def _file_of(task: Task, split: str) -> str | None:
    d = task.config.data
    return {"train": d.path, "val": d.val_path, "test": d.test_path}[split]


def _dataset(task: Task) -> str | None:
    return getattr(task.config.data, "dataset", None)


def _read_given(task: Task, split: str) -> Examples | None:
    """A split that is given as such: its file, or the built-in dataset's part."""
    path = _file_of(task, split)
    if _dataset(task) is not None and (split == "train" or path is None):
        return task.read_builtin(split)  # with a built-in dataset, data.path says where it lives
    if path is not None:
        return task.read(path)
    if split == "train":
        hint = (f" unless data.dataset names a built-in dataset ({', '.join(task.builtin_datasets)})"
                if task.builtin_datasets else "")
        raise ConfigError(f"data.path is required: pass --data PATH (a {task.name} training file){hint}")
    return None


def read_splits(task: Task, given: Mapping[str, Examples | None] | None = None) -> dict[str, Examples | None]:
    """Every split's examples. ``given`` (the Python API's in-memory data) replaces the
    configured files for the splits it names."""
    given = given or {}
    splits = {s: given[s] if s in given else _read_given(task, s) for s in SPLITS}
    d = task.config.data
    train = splits["train"]
    assert train is not None
    if train.split_of is not None:  # a split column: its val/test rows serve where no file is given
        for split in ("val", "test"):
            splits[split] = splits[split] or train.part(split)
        train = train.part("train") or Examples([], where=train.where)
    if len(train) == 0:
        raise DataError(f"{train.where}: no training examples")
    held_out = getattr(d, "split_rows", None) is None  # forecast's row counts give every part, an empty one too
    test_fraction = getattr(d, "test_fraction", 0.0)
    if splits["test"] is None and test_fraction > 0 and held_out:
        train, splits["test"] = task.holdout(train, test_fraction, d.split_seed + 1)
    if splits["val"] is None and d.val_fraction > 0 and held_out:
        train, splits["val"] = task.holdout(train, d.val_fraction, d.split_seed)
    if getattr(d, "train_with_val", False):
        if splits["val"] is None:
            raise ConfigError("data.train_with_val = true trains on the validation split, and this run has none: "
                              "give one (--val FILE, or data.val_fraction > 0)")
        train = train.joined(splits["val"])
    splits["train"] = train
    return splits


def read_split_only(task: Task, split: str) -> Examples:
    """One split for ``evaluate``: its own file when it has one (nothing else is read),
    else the held-out part of the training data, cut exactly as in training."""
    given = _read_given(task, split) if split != "train" else None
    if given is not None:
        return given
    if _file_of(task, "train") is None and _dataset(task) is None:
        raise ConfigError(f"the run was trained on in-memory data (rnnkit.fit), which its run directory does not "
                          f"keep, so its {_SPLIT_NAMES[split]} split cannot be read again; pass the examples: "
                          f"run.evaluate(data, targets), or rnnkit evaluate RUN_DIR --data FILE")
    examples = read_splits(task)[split]
    if examples is None:
        raise ConfigError(f"the run has no {_SPLIT_NAMES[split]} data (no data.{split}_path and no held-out "
                          f"fraction); pass --data PATH")
    return examples


def save_artifacts(task: Task, run: RunDir) -> None:
    for name, text in task.artifacts.files().items():
        atomic_write_text(run.path / name, text)
    run.save_json(ARTIFACTS_FILE, {"task": task.name, "artifacts": task.artifacts.to_dict()})


def load_artifacts(task: Task, run: RunDir) -> None:
    where = str(run.path / ARTIFACTS_FILE)
    if not (run.path / ARTIFACTS_FILE).is_file():
        raise CheckpointError(f"{run.path} has no {ARTIFACTS_FILE}: it is not a complete rnnkit run directory")
    raw = run.load_json(ARTIFACTS_FILE)
    if not isinstance(raw, dict) or raw.get("task") != task.name or not isinstance(raw.get("artifacts"), dict):
        raise CheckpointError(f"{where}: expected the artifacts of a {task.name} run "
                              f"({{\"task\": \"{task.name}\", \"artifacts\": {{...}}}}); got {str(raw)[:120]}")
    task.artifacts = task.artifacts_type.from_dict(raw["artifacts"], where)


def prepare(task: Task, run: RunDir | None = None, given: Mapping[str, Examples | None] | None = None) -> PreparedData:
    """Read, split, fit (unless the task's artifacts are loaded already), encode, batch;
    then, when all of that succeeded, save the artifacts in ``run`` (if given)."""
    splits = read_splits(task, given)
    train = splits["train"]
    assert train is not None  # read_splits always reads a training split
    if not task.fitted:
        task.artifacts = task.fit(train)
    batches: dict[str, Iterable[Any] | None] = {}
    info: dict[str, Any] = {"data": task.config.data.path or _dataset(task) or "in memory"}
    for split, examples in splits.items():
        if examples is None:
            batches[split] = None
            continue
        batches[split] = task.loader(task.encode(examples), train=split == "train")
        info[f"{_SPLIT_NAMES[split]} examples"] = len(examples)
    if getattr(task.config.data, "train_with_val", False):
        info["train_with_val"] = (f"on: the {len(train)} training examples include the {len(splits['val'])} "
                                  f"validation examples, so the validation figures are not held out")
    info.update(task.info())
    if run is not None:
        save_artifacts(task, run)
    return PreparedData(batches["train"] or [], batches["val"], batches["test"], info,
                        {k: v for k, v in splits.items() if v is not None})


def evaluate_batches(task: Task, model: nn.Module, batches: Iterable[Any],
                     trainer: Trainer | None = None) -> dict[str, float]:
    """Loss and metrics over every batch with the final objective (whole split, full decoding).
    ``trainer``: the one that trained ``model`` (under DDP it already holds the wrapped model
    and shards the split); without it a quiet evaluator is made."""
    if trainer is None:
        trainer = Trainer(model, task.objective(final=True), dataclasses.replace(task.config.train, quiet=True), None)
    else:
        trainer.objective = task.objective(final=True)
    return trainer.evaluate(batches)


def evaluate_examples(task: Task, model: nn.Module, examples: Examples) -> dict[str, float]:
    return evaluate_batches(task, model, task.loader(task.encode(examples), train=False))


def predict_examples(task: Task, model: nn.Module, examples: Examples) -> list[dict[str, Any]]:
    """One row per example, in input order."""
    dataset = task.encode(examples)
    outputs: list[Any] = [None] * len(dataset)  # one per encoded item (a forecast: one window per file)
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        for batch in task.loader(dataset, train=False):
            for i, out in zip(batch.indices.tolist(), task.predict_batch(model, batch.to(device))):
                outputs[i] = out
    rows: list[dict[str, Any]] = []
    for i, out in enumerate(outputs):
        row = task.format_row(examples, i, out)  # a row, or several (a forecast: one per future step)
        rows.extend(row if isinstance(row, list) else [row])
    return rows


def source_examples(task: Task, source: str | Path | list[str] | Any, targets: Any = None) -> Examples:
    """Examples to predict from a file path, raw lines or in-memory data."""
    if isinstance(source, (str, Path)):
        return task.read(source, labelled=False)
    return task.from_memory(source, targets)
