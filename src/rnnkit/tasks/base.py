"""The contract every task type fulfils: config → data pipeline, model, objective,
prediction output. The runner (:mod:`rnnkit.tasks.runner`) drives it; the CLI only
parses arguments.

A task type is a subclass of :class:`Task` registered under its ``name`` with
:func:`rnnkit.tasks.registry.register`. Its ``Config`` is a dataclass whose every
field has a default, holding at least ``task`` (the name), ``data``, ``model`` and
``train`` (:class:`rnnkit.train.TrainConfig`); ``rnnkit.config`` loads it from TOML
and applies ``--set`` overrides.

Life of a run::

    task = TaskCls(config)
    data = task.prepare(run_dir)        # read files, fit vocab/scalers on train only,
                                        # save them in run_dir, return batch sources
    model = task.build_model()          # sizes from config + fitted artifacts
    Trainer(model, task.objective(), config.train, run_dir).fit(data.train, data.val)

Later, from the run directory alone::

    task = TaskCls(config); task.load_artifacts(run_dir); model = task.build_model()
    task.evaluation_data(path)          # batches for `rnnkit evaluate RUN_DIR --data PATH`
    task.predict(model, inputs)         # rows for `rnnkit predict RUN_DIR INPUT`
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterable

from torch import nn

from rnnkit.train import Objective, RunDir


@dataclass
class PreparedData:
    """Batch sources for one run. ``train`` must be re-iterable, each pass one epoch, and
    support ``set_epoch(epoch)`` (a DataLoader over a BucketBatchSampler does) so the
    Trainer can resume exactly. ``info`` is shown in the report (sizes, vocabulary...)."""

    train: Iterable[Any]
    val: Iterable[Any] | None = None
    test: Iterable[Any] | None = None
    info: dict[str, Any] = field(default_factory=dict)


class Task(ABC):
    """One task type (classify, regress, forecast, tag, seq2seq, lm)."""

    name: ClassVar[str]
    description: ClassVar[str]  # one line for `rnnkit recipes` and --help
    Config: ClassVar[type]  # the dataclass of a recipe of this task type

    def __init__(self, config: Any) -> None:
        self.config = config

    @abstractmethod
    def prepare(self, run_dir: RunDir | None) -> PreparedData:
        """Read the data, fit every vocabulary/scaler on the training part only, save them
        in ``run_dir`` (when given) and return the batch sources."""

    @abstractmethod
    def load_artifacts(self, run_dir: RunDir) -> None:
        """Restore what :meth:`prepare` saved, so :meth:`build_model`, :meth:`predict` and
        :meth:`evaluation_data` work from the run directory alone."""

    @abstractmethod
    def build_model(self) -> nn.Module:
        """A fresh model sized by the config and the fitted artifacts."""

    @abstractmethod
    def objective(self) -> Objective:
        """Loss and metrics for the Trainer (see :class:`rnnkit.train.Objective`)."""

    @abstractmethod
    def evaluation_data(self, path: str | Path) -> Iterable[Any]:
        """Batches from a user file in the task's format, encoded with the fitted artifacts."""

    @abstractmethod
    def predict(self, model: nn.Module, source: str | Path | list[str]) -> list[dict[str, Any]]:
        """Predictions for a file path or raw lines (one example per line for text tasks),
        as JSON-ready rows (``rnnkit predict`` writes them as JSON lines or CSV)."""
