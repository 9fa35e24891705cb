"""The contract of a task type: a short *declaration* that the pipeline skeleton
(:mod:`rnnkit.tasks.pipeline`) drives for every task alike.

A task type says only what is particular to it:

* ``read(source, labelled)`` — its one format detector and reader, used for every
  split (train, validation, test), for ``evaluate`` and for ``predict`` (plain or ``.gz``);
  ``read_builtin(split)`` for its built-in datasets; ``from_memory(data, targets)`` for
  the Python API;
* ``fit(train)`` — the artifacts (vocabularies, label sets, scalers) fitted on the
  training split only, as one :class:`Artifacts` object the pipeline saves and loads;
* ``encode(examples)`` — examples to a dataset of padded batches;
* ``build_model()``, ``objective(final=...)`` — the model (sized by the artifacts) and
  its loss and metrics;
* ``predict_batch(model, batch)`` and ``format_row(examples, i, output)`` — the
  outputs of one batch and the JSON-ready row of one example.

Everything else — which files to read, the seeded validation split, saving and
loading artifacts, loaders, the whole-split evaluation pass and the prediction
loop — is the pipeline's, the same for every task.

Shapes: B batch, T time, D input features, C classes, V vocabulary.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable, Optional, Sequence

import numpy as np
from torch import nn

from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks.splits import random_split
from rnnkit.train import Objective, TrainConfig

__all__ = ["Examples", "Artifacts", "DataSection", "TaskConfig", "PreparedData", "Task", "check_fraction"]


def check_fraction(value: float, key: str) -> None:
    """``key`` must lie in [0, 1)."""
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{key} must be in [0, 1); got {value!r}")


@dataclass
class DataSection:
    """The ``[data]`` keys every task has; each task's data table extends it.

    ``path`` (``--data``) is the training file — or, with a task's built-in
    ``dataset``, where that dataset lives. Without ``val_path`` a seeded random
    ``val_fraction`` of the training examples is held out for validation.
    """

    # the training file (--data), or where a built-in dataset lives
    path: Optional[str] = None
    # a validation file (--val); without it val_fraction of the training data is held out
    val_path: Optional[str] = None
    # a test file (--test)
    test_path: Optional[str] = None
    # share of the training examples held out for validation when there is no val_path
    val_fraction: float = 0.1
    # train on the validation examples too, once the settings are chosen (every task but forecast and lm; as
    # Flair's train_with_dev): the validation figures then score trained-on data, so no epoch is picked by them
    train_with_val: bool = False
    # seed of the random hold-outs
    split_seed: int = 0
    # examples per batch
    batch_size: int = 32

    def __post_init__(self) -> None:
        check_fraction(self.val_fraction, "data.val_fraction")
        self.require_positive("batch_size")
        if not 0 <= self.split_seed < 2**63:
            raise ConfigError(f"data.split_seed must be in 0..2**63-1; got {self.split_seed}")

    def require_positive(self, *names: str) -> None:
        """Each ``data.<name>`` must be >= 1 (or unset, for the optional ones)."""
        for name in names:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"data.{name} must be >= 1; got {value}")


@dataclass
class TaskConfig:
    """The top level every task's config shares: ``task`` (its name) and ``[train]``.
    A task type's ``Config`` subclasses it and adds ``[data]``, ``[model]`` and any table
    of its own (``[decode]``, ``[generate]``)."""

    task: str = ""
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class Examples:
    """The raw examples of one split, before encoding.

    ``inputs`` (N items: texts, token lists, arrays (T_i, D) or one (N, T, D) array),
    ``targets`` (N raw labels/values/tag lists, or None when unlabelled), ``where``
    (the file or description, for messages) and ``lines`` (the line of each example in
    its file, when it has one) and ``split_of`` (``train``/``val``/``test`` per example,
    when the file itself says which split each row belongs to).
    """

    inputs: Any
    targets: Any = None
    where: str = "input"
    lines: Optional[list[int]] = None
    split_of: Optional[list[str]] = None

    def __len__(self) -> int:
        return len(self.inputs)

    def take(self, idx: Sequence[int] | np.ndarray) -> Examples:
        """The examples at ``idx``, in that order."""
        idx = np.asarray(idx, dtype=np.int64)
        return Examples(_take(self.inputs, idx), None if self.targets is None else _take(self.targets, idx),
                        self.where, None if self.lines is None else [self.lines[i] for i in idx],
                        None if self.split_of is None else [self.split_of[i] for i in idx])

    def joined(self, other: Examples) -> Examples:
        """These examples followed by ``other``'s (``where`` names both files)."""

        def cat(a: Any, b: Any) -> Any:
            if a is None or b is None:
                return None
            if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape[1:] == b.shape[1:]:
                return np.concatenate([a, b])
            return list(a) + list(b)

        return Examples(cat(self.inputs, other.inputs), cat(self.targets, other.targets),
                        f"{self.where} + {other.where}", cat(self.lines, other.lines))

    def part(self, split: str) -> Examples | None:
        """The examples whose ``split_of`` is ``split`` (None when there are none)."""
        assert self.split_of is not None
        idx = [i for i, s in enumerate(self.split_of) if s == split]
        return self.take(idx) if idx else None


def _take(items: Any, idx: np.ndarray) -> Any:
    return items[idx] if isinstance(items, np.ndarray) else [items[i] for i in idx]


class Artifacts:
    """What a task fits on the training split (vocabularies, label names, scalers).

    Subclasses are dataclasses of JSON-able parts with ``to_dict()`` and
    ``from_dict(raw, where)``; the pipeline saves them as one file in the run
    directory and loads them back for ``evaluate``, ``predict`` and ``generate``.
    """

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def files(self) -> dict[str, str]:
        """Further files saved beside ``artifacts.json`` (name → text), e.g. a BPE
        tokenizer's JSON; ``from_dict`` reads them from the folder of ``where``."""
        return {}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> Artifacts:
        raise NotImplementedError


@dataclass
class PreparedData:
    """Batch sources of one run (``train`` re-iterable with ``set_epoch``), the encoded
    splits' sizes for the report, and each split's raw examples."""

    train: Iterable[Any]
    val: Iterable[Any] | None = None
    test: Iterable[Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    examples: dict[str, Examples] = field(default_factory=dict)


class Task(ABC):
    """One task type; see the module docstring for what a declaration holds."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line for `rnnkit recipes` and --help
    Config: ClassVar[type]  # the dataclass of a recipe of this task type
    builtin_datasets: ClassVar[tuple[str, ...]] = ()
    # train.monitor = none: the metric this task's runs watch (early stopping, plateau, restore_best)
    monitor: ClassVar[str] = "val_loss"
    # data.train_with_val is allowed: the examples are independent (not windows of one series, not a corpus)
    trains_with_val: ClassVar[bool] = False

    def __init__(self, config: Any) -> None:
        self.config = config
        self._artifacts: Artifacts | None = None

    # ------------------------------------------------------------- artifacts
    @property
    def artifacts(self) -> Any:
        if self._artifacts is None:
            raise ConfigError(f"the {self.name} task has not been fitted: train it, or load a run directory first")
        return self._artifacts

    @artifacts.setter
    def artifacts(self, value: Artifacts) -> None:
        self._artifacts = value

    @property
    def fitted(self) -> bool:
        return self._artifacts is not None

    artifacts_type: ClassVar[type[Artifacts]]

    # ------------------------------------------------------------- reading
    @abstractmethod
    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        """The examples of a file in this task's format (its one format detector)."""

    def read_builtin(self, split: str) -> Examples | None:
        """Split ``train``/``val``/``test`` of the built-in ``data.dataset`` (None: it has none)."""
        raise ConfigError(f"the {self.name} task has no built-in datasets")

    def from_memory(self, data: Any, targets: Any = None) -> Examples:
        """Examples from Python objects (``rnnkit.fit(task, data, targets)``)."""
        raise DataError(f"the {self.name} task reads files only; pass a file path")

    def holdout(self, examples: Examples, fraction: float, seed: int) -> tuple[Examples, Examples]:
        """(kept, held out): a seeded random ``fraction`` of the examples held out."""
        keep, held = random_split(len(examples), fraction, seed)
        return examples.take(keep), examples.take(held)

    # ------------------------------------------------------------- fitting and encoding
    @abstractmethod
    def fit(self, train: Examples) -> Artifacts:
        """The artifacts fitted on the training examples."""

    @abstractmethod
    def encode(self, examples: Examples) -> Any:
        """A dataset (``rnnkit.data.SequenceDataset``) of the examples, with the artifacts."""

    def loader(self, dataset: Any, *, train: bool) -> Iterable[Any]:
        """Batches of ``dataset``: shuffled and length-bucketed for training, in a fixed
        order otherwise (``Batch.indices`` give each example's position)."""
        from rnnkit.data import make_loader

        return make_loader(dataset, self.config.data.batch_size, shuffle=train, seed=self.config.train.seed)

    def info(self) -> dict[str, Any]:
        """Sizes of the fitted artifacts for the report (vocabulary, classes...)."""
        return {}

    # ------------------------------------------------------------- model
    @abstractmethod
    def build_model(self) -> nn.Module:
        """A fresh model sized by the config and the artifacts."""

    @abstractmethod
    def objective(self, *, final: bool = True) -> Objective:
        """Loss and metrics. ``final=False`` is the per-epoch validation, which may decode
        a labelled seeded sample instead of the whole split."""

    # ------------------------------------------------------------- prediction
    @abstractmethod
    def predict_batch(self, model: nn.Module, batch: Any) -> list[Any]:
        """The model's output for each example of ``batch`` (in batch order)."""

    @abstractmethod
    def format_row(self, examples: Examples, i: int, output: Any) -> dict[str, Any]:
        """The JSON-ready row of example ``i`` given its output."""
