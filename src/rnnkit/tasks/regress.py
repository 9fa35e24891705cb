"""Task ``regress``: one or more real values per sequence (many-to-one), or the feed-forward baseline.

Inputs, by ``data.format`` (``"auto"``: detected from the name and first line, plain or ``.gz``;
rnnkit.data.sources.detect and docs/data-formats.md):

* ``.npz`` — ``X`` (N×T×D), optional ``lengths`` (N), and a float ``y`` (N) or (N×K);
* UCR-style TSV — the target first, then the values of the series (univariate, T×1);
* sktime/UEA ``.ts`` with ``@targetLabel true``; long-format CSV (one row per step, an id
  column per sequence, ``target_columns`` constant within an id) — a ``.csv`` with an id
  column is read as long-csv, otherwise as one series cut into windows:
* CSV series — ``target_columns`` estimated from the last ``input_len`` rows of the
  ``feature_columns`` (default: every column but the targets and the time column):
  a window reads rows ``s .. s+input_len-1`` and predicts the targets of its last row;
* from Python, an (N, T, D) array or a list of variable-length (T_i, D) arrays and targets (N,) or (N, K).

Features and targets are scaled by scalers fitted on the training split only; the model
learns the scaled targets, predictions come back in the original units. The loss is MSE
on the scaled targets, or MAE with ``loss = "mae"``. Without ``val_path`` a seeded random
``val_fraction`` is held out — for a CSV series the *last* windows (chronological, no
look-ahead). Metrics: ``mae/mse/rmse`` in scaled units and ``*_orig`` in original units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from rnnkit.data import SequenceDataset
from rnnkit.data.sources import read_csv_series
from rnnkit.data.sources.detect import detect_input_format
from rnnkit.data.sources.sequences import NUMERIC_FORMATS, read_sequences
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks.base import Artifacts, DataSection, Examples, Task, TaskConfig
from rnnkit.tasks.registry import register


@dataclass
class RegressData(DataSection):
    # the input format: "auto" (from the name and first line; docs/data-formats.md), npz, ucr (univariate TSV),
    # ts (sktime .ts, @targetLabel true), csv (one series cut into windows) or long-csv (one row per step, an id per sequence)
    format: Literal["auto", "npz", "ucr", "csv", "ts", "long-csv"] = "auto"
    target_columns: list[str] = field(default_factory=list)  # CSV, long-csv: what to estimate
    feature_columns: Optional[list[str]] = None  # CSV, long-csv: default every column but targets, id and time
    time_column: str = "auto"  # CSV, long-csv: "auto" (a column named like date/time/timestamp/step...), a name, or "none"
    id_column: str = "auto"  # long-csv: the sequence id column ("auto": the one named id, series_id, sample_id, ...)
    missing: Literal["error", "interpolate"] = "error"  # npz/ucr/ts/long-csv gaps (?, NaN, empty): refuse, or fill linearly
    input_len: int = 24  # CSV: rows per window
    scale: Literal["standard", "minmax", "none"] = "standard"  # features
    # target scaling fitted on the training split (predictions come back in original units)
    scale_target: Literal["standard", "minmax", "none"] = "standard"

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("input_len")


@dataclass
class RegressConfig(TaskConfig):
    task: str = "regress"
    loss: Literal["mse", "mae"] = "mse"  # on the scaled targets
    data: RegressData = field(default_factory=RegressData)
    model: seq.RegressorModel = field(default_factory=seq.SequenceRegressorConfig)


@dataclass
class RegressArtifacts(Artifacts):
    targets: list[str]  # names of the K outputs
    features: int  # D
    steps: Optional[int]  # T when every training sequence has it
    scaler: Optional[seq.Scaler]
    target_scaler: Optional[seq.Scaler]

    def to_dict(self) -> dict[str, Any]:
        return {"targets": self.targets, "features": self.features, "steps": self.steps,
                "scaler": seq.scaler_to_dict(self.scaler), "target_scaler": seq.scaler_to_dict(self.target_scaler)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> RegressArtifacts:
        steps = raw.get("steps")
        return cls([str(t) for t in seq.field(raw, "targets", list, where)], seq.field(raw, "features", int, where),
                   steps if isinstance(steps, int) else None, seq.scaler_from(raw.get("scaler"), where),
                   seq.scaler_from(raw.get("target_scaler"), where))


def file_format(path: str | Path, d: RegressData) -> str:
    """``data.format``, or detected (rnnkit.data.sources.detect): npz, ucr, ts, csv or long-csv."""
    if d.format != "auto":
        return d.format
    return detect_input_format(path, ("csv", *NUMERIC_FORMATS), id_column=d.id_column)


def time_column_arg(value: str) -> str | None:
    """The ``time_column`` config value as :func:`read_csv_series` takes it."""
    return None if value == "none" else value


@register
class RegressTask(Task):
    name = "regress"
    description = "sequence regression: real targets from npz, UCR-style TSV or CSV windows (original units out)"
    Config = RegressConfig
    trains_with_val = True
    artifacts_type = RegressArtifacts

    # ------------------------------------------------------------- reading
    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        d = self.config.data
        fmt = file_format(source, d)
        if fmt == "csv":
            return self._read_csv(source, labelled)
        if fmt == "long-csv" and labelled and not d.target_columns:
            raise ConfigError(f"data.target_columns must name the target column(s) of the long-format CSV {source}")
        f = read_sequences(source, fmt, target="value", labelled=labelled, label_columns=d.target_columns,
                           id_column=d.id_column, time_column=d.time_column, feature_columns=d.feature_columns,
                           missing=d.missing)
        return Examples(f.inputs, f.targets, str(source))  # independent sequences: no lines, a random hold-out

    def _read_csv(self, path: str | Path, labelled: bool) -> Examples:
        d = self.config.data
        if not d.target_columns:
            raise ConfigError("data.target_columns must name at least one column of the CSV file")
        time_col = time_column_arg(d.time_column)
        if d.feature_columns is None:
            _, header, _ = read_csv_series(path, time_column=time_col)
            features = [c for c in header if c not in d.target_columns]
        else:
            features = list(d.feature_columns)
        if not features:
            raise ConfigError(f"data.feature_columns: {path} has no column left besides the targets")
        cols = list(dict.fromkeys(features + (d.target_columns if labelled else [])))
        values, names, _ = read_csv_series(path, columns=cols, time_column=time_col)
        if len(values) < d.input_len:
            raise DataError(f"{path}: has {len(values)} rows; a window needs data.input_len = {d.input_len}")
        feat = values[:, [names.index(c) for c in features]]
        x = np.moveaxis(sliding_window_view(feat, d.input_len, axis=0), -1, 1)  # (W, input_len, D)
        y = values[d.input_len - 1 :, [names.index(c) for c in d.target_columns]] if labelled else None
        rows = list(range(d.input_len - 1, len(values)))  # the data row (0-based) each window ends at
        return Examples(list(np.ascontiguousarray(x, dtype=np.float32)),
                        None if y is None else y.astype(np.float32), str(path), rows)

    def from_memory(self, data: Any, targets: Any = None) -> Examples:
        x = seq.as_sequences(data, "data")
        if targets is None:
            return Examples(x, None, "data")
        y = np.asarray(targets, dtype=np.float32).reshape(len(targets), -1)
        if len(y) != len(x):
            raise DataError(f"targets must hold one value (or row of K values) per example ({len(x)}); got {len(y)}")
        seq.check_finite(y, "targets")
        return Examples(x, y, "data")

    def holdout(self, examples: Examples, fraction: float, seed: int) -> tuple[Examples, Examples]:
        if examples.lines is None:  # independent examples: a seeded random subset
            return super().holdout(examples, fraction, seed)
        n = len(examples)  # windows of one series: the last ones, so nothing is seen ahead of time
        n_val = max(1, int(round(n * fraction)))
        if n_val >= n:
            raise DataError(f"cannot hold out a validation fraction of {fraction} from {n} windows")
        return examples.take(np.arange(n - n_val)), examples.take(np.arange(n - n_val, n))

    # ------------------------------------------------------------- fitting and encoding
    def fit(self, train: Examples) -> RegressArtifacts:
        d = self.config.data
        y = train.targets
        named = train.lines is not None or len(d.target_columns) == y.shape[1]  # CSV windows, long-csv
        names = list(d.target_columns) if named else (
            ["y"] if y.shape[1] == 1 else [f"y{i}" for i in range(y.shape[1])])
        return RegressArtifacts(names, int(train.inputs[0].shape[1]), seq.fixed_steps(train.inputs),
                                seq.fit_scaler(d.scale, train.inputs), seq.fit_scaler(d.scale_target, y))

    def encode(self, examples: Examples) -> SequenceDataset:
        a = self.artifacts
        seqs = examples.inputs
        if seqs and seqs[0].shape[1] != a.features:
            raise DataError(f"{examples.where}: sequences must have D = {a.features} features as in training; "
                            f"got {seqs[0].shape[1]}")
        m = self.config.model
        if a.steps is not None and (isinstance(m, seq.FeedForwardConfig) or m.pooling == "flatten") and \
                any(len(s) != a.steps for s in seqs):
            raise DataError(f"{examples.where}: this model reads exactly T = {a.steps} steps")
        y = examples.targets
        if y is not None:
            if y.shape[1] != len(a.targets):
                raise DataError(f"{examples.where}: expected {len(a.targets)} target values per example as in "
                                f"training; got {y.shape[1]}")
            y = y if a.target_scaler is None else a.target_scaler.transform(y).astype(np.float32)
        return SequenceDataset(seq.scale(a.scaler, seqs), y)

    def info(self) -> dict[str, Any]:
        a = self.artifacts
        return {"steps": a.steps if a.steps is not None else "variable", "features": a.features,
                "targets": ", ".join(a.targets)}

    # ------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        a = self.artifacts
        return seq.build_many_to_one(self.config.model, out_size=len(a.targets), input_size=a.features, steps=a.steps)

    def objective(self, *, final: bool = True) -> seq.RegressionObjective:
        a = self.artifacts
        scale, shift = seq.affine_inverse(a.target_scaler, len(a.targets))
        return seq.RegressionObjective(scale, shift, loss=self.config.loss)

    # ------------------------------------------------------------- prediction
    def predict_batch(self, model: nn.Module, batch: Any) -> list[Any]:
        pred = model(batch.inputs, batch.lengths).float().cpu().numpy()  # (B, K) scaled
        scaler = self.artifacts.target_scaler
        return list(pred if scaler is None else scaler.inverse_transform(pred))

    def format_row(self, examples: Examples, i: int, output: Any) -> dict[str, Any]:
        """The estimated targets in original units; for a CSV series, keyed by the data row
        (0-based, header excluded) the window ends at."""
        key = {"row": examples.lines[i]} if examples.lines is not None else {"index": i}
        return {**key, **{n: float(v) for n, v in zip(self.artifacts.targets, output)}}

