"""Task ``forecast``: the next ``horizon`` values of the target column(s) from the last
``input_len`` rows of a CSV time series (many-to-one with a (horizon × targets) head).

The series is split chronologically: separate ``val_path``/``test_path`` files, or the
last ``test_fraction`` of the rows for test and then the last ``val_fraction`` of the
rest for validation (defaults 0.2 and 0.125: 70/10/20). Validation and test parts start
``input_len`` rows early, so their first target is the split's first row. One scaler over
every used column is fitted on the training rows only. Built-in: ``data.dataset =
"etth1"`` with its standard 12/4/4-month split, all 7 columns as features and ``OT`` as
the target.

Metrics: ``mae/mse/rmse`` in **standardised units** (as the ETTh1 literature reports
them) and ``*_orig`` in the data's units. ``data.relative = true`` shifts every window by
its last input row (per column): the model sees the recent change rather than the level
and predicts offsets from the last observed target value, which are added back.
``rnnkit predict RUN_DIR series.csv``: the next ``horizon`` values after the file's last
``input_len`` rows, one row per step, in original units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import torch
from torch import nn

from rnnkit.data import SequenceDataset, make_windows
from rnnkit.data.scalers import MinMaxScaler, StandardScaler, scaler_from_dict
from rnnkit.data.sources import load_etth1, read_csv_series
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks.base import Artifacts, DataSection, Examples, Task, TaskConfig, check_fraction
from rnnkit.tasks.registry import register
from rnnkit.tasks.regress import time_column_arg


@dataclass
class ForecastData(DataSection):
    dataset: Optional[Literal["etth1"]] = None
    target_columns: list[str] = field(default_factory=list)
    feature_columns: Optional[list[str]] = None  # default: every column but the time column (targets included)
    time_column: str = "auto"  # "auto", a column name, or "none"
    input_len: int = 96
    horizon: int = 24
    stride: int = 1  # rows between training windows
    val_fraction: float = 0.125  # of the rows left after the test part: 10% of the series
    test_fraction: float = 0.2
    scale: Literal["standard", "minmax"] = "standard"
    relative: bool = False  # each window minus its last input row; predictions add that row's targets back

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction(self.test_fraction, "data.test_fraction")
        self.require_positive("input_len", "horizon", "stride")


@dataclass
class ForecastConfig(TaskConfig):
    task: str = "forecast"
    data: ForecastData = field(default_factory=ForecastData)
    model: seq.RegressorModel = field(default_factory=seq.SequenceRegressorConfig)


@dataclass
class ForecastArtifacts(Artifacts):
    columns: list[str]  # every used column, in the scaler's order
    features: list[str]
    targets: list[str]
    scaler: seq.Scaler

    def to_dict(self) -> dict[str, Any]:
        return {"columns": self.columns, "features": self.features, "targets": self.targets,
                "scaler": self.scaler.to_dict()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> ForecastArtifacts:
        columns, features, targets = ([str(c) for c in seq.field(raw, k, list, where)]
                                      for k in ("columns", "features", "targets"))
        return cls(columns, features, targets, scaler_from_dict(seq.field(raw, "scaler", dict, where), where))


@register
class ForecastTask(Task):
    name = "forecast"
    description = "time-series forecasting: next `horizon` values from `input_len` rows of a CSV (ETTh1 built in)"
    Config = ForecastConfig
    artifacts_type = ForecastArtifacts
    builtin_datasets = ("etth1",)

    # ------------------------------------------------------------- reading
    def _columns(self) -> list[str] | None:
        if self.fitted:
            return self.artifacts.columns
        d = self.config.data
        if not d.target_columns:
            raise ConfigError("data.target_columns must name at least one column of the CSV file")
        return None if d.feature_columns is None else list(dict.fromkeys([*d.feature_columns, *d.target_columns]))

    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        """The used columns of every row (R, C) — the series is its own target."""
        values, names, _ = read_csv_series(source, columns=self._columns(),
                                           time_column=time_column_arg(self.config.data.time_column))
        self._read_columns = names
        values = values.astype(np.float32)
        return Examples(values, values if labelled else None, str(source), list(range(len(values))))

    def read_builtin(self, split: str) -> Examples | None:
        d = self.config.data
        if not hasattr(self, "_series"):
            self._series = load_etth1(d.path, target=d.target_columns[0] if d.target_columns else "OT")
        s = self._series
        self._read_columns = s.columns
        lo = {"train": 0, "val": s.bounds[0] - d.input_len, "test": s.bounds[1] - d.input_len}[split]
        hi = {"train": s.bounds[0], "val": s.bounds[1], "test": s.bounds[2]}[split]
        rows = s.values[max(lo, 0): hi].astype(np.float32)
        return Examples(rows, rows, f"etth1 {split}", list(range(max(lo, 0), hi)))

    def holdout(self, examples: Examples, fraction: float, seed: int) -> tuple[Examples, Examples]:
        """The last ``fraction`` of the rows (with ``input_len`` rows of context before them)."""
        n, ctx = len(examples), self.config.data.input_len
        held = max(1, int(round(n * fraction)))
        if n - held < ctx:
            raise DataError(f"{examples.where}: {n} rows leave fewer than input_len = {ctx} rows before a held-out "
                            f"{fraction:.0%}; give more rows or separate val/test files")
        return examples.take(np.arange(n - held)), examples.take(np.arange(n - held - ctx, n))

    # ------------------------------------------------------------- fitting and encoding
    def fit(self, train: Examples) -> ForecastArtifacts:
        d = self.config.data
        columns = list(self._read_columns)
        if d.dataset is not None:
            features, targets = self._series.feature_columns, self._series.target_columns
        else:
            features = list(d.feature_columns) if d.feature_columns is not None else columns
            targets = list(d.target_columns)
            for what, names in (("target", targets), ("feature", features)):
                unknown = [c for c in names if c not in columns]
                if unknown:
                    raise DataError(f"{train.where}: line 1: unknown {what} column {unknown[0]!r}; the used "
                                    f"columns are {columns}")
        scaler = StandardScaler() if d.scale == "standard" else MinMaxScaler()
        scaler.fit(train.inputs)
        self._train = train
        return ForecastArtifacts(columns, features, targets, scaler)

    def _cols(self) -> tuple[list[int], list[int]]:
        a = self.artifacts
        return [a.columns.index(c) for c in a.features], [a.columns.index(c) for c in a.targets]

    def encode(self, examples: Examples) -> SequenceDataset:
        d, a = self.config.data, self.artifacts
        values = a.scaler.transform(examples.inputs).astype(np.float32)
        fc, tc = self._cols()
        if examples.targets is None:  # predict: the last input_len rows, unshifted (predict_batch shifts)
            if len(values) < d.input_len:
                raise DataError(f"{examples.where}: has {len(values)} rows; forecasting needs the last "
                                f"data.input_len = {d.input_len}")
            return SequenceDataset.from_dense(values[None, -d.input_len:, fc])
        stride = d.stride if examples is getattr(self, "_train", None) else 1
        if len(values) < d.input_len + d.horizon:
            raise DataError(f"{examples.where}: {len(values)} rows are fewer than input_len + horizon = "
                            f"{d.input_len + d.horizon}: no complete window")
        x, y = make_windows(values, d.input_len, d.horizon, stride, feature_cols=fc, target_cols=tc)
        if d.relative:
            x, y = x - x[:, -1:], y - self._last_targets(x)
        return SequenceDataset.from_dense(x, y)

    def _last_targets(self, x: np.ndarray) -> np.ndarray:
        """The targets' values at the last input step, (W, 1, targets), of windows x (W, T, D)."""
        a = self.artifacts
        missing = [c for c in a.targets if c not in a.features]
        if missing:
            raise ConfigError(f"data.relative = true needs the target columns among the features; {missing} are not")
        return x[:, -1:, [a.features.index(c) for c in a.targets]]

    def info(self) -> dict[str, Any]:
        a, d = self.artifacts, self.config.data
        return {"features": ", ".join(a.features), "targets": ", ".join(a.targets),
                "input_len → horizon": f"{d.input_len} → {d.horizon}",
                "metrics": "mae/mse/rmse standardised; *_orig in original units"}

    # ------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        a, d = self.artifacts, self.config.data
        return seq.build_many_to_one(self.config.model, out_size=d.horizon * len(a.targets),
                                     input_size=len(a.features), steps=d.input_len)

    def objective(self, *, final: bool = True) -> seq.RegressionObjective:
        a = self.artifacts
        scale, shift = seq.affine_inverse(a.scaler, len(a.columns))
        _, tc = self._cols()
        # outputs are (horizon, targets) flattened row-major: targets vary fastest
        h = self.config.data.horizon
        return seq.RegressionObjective(np.tile(scale[tc], h), np.tile(shift[tc], h))

    # ------------------------------------------------------------- prediction
    def predict_batch(self, model: nn.Module, batch: Any) -> list[Any]:
        d = self.config.data
        x = batch.inputs  # (B, input_len, D) scaled, unshifted
        inputs = x - x[:, -1:] if d.relative else x
        pred = model(inputs, batch.lengths).float().reshape(len(x), d.horizon, -1)
        if d.relative:
            pred = pred + torch.as_tensor(self._last_targets(x.cpu().numpy()), device=pred.device)
        a = self.artifacts
        scale, shift = seq.affine_inverse(a.scaler, len(a.columns))
        _, tc = self._cols()
        return list(pred.cpu().numpy() * scale[tc] + shift[tc])  # (horizon, targets) in original units

    def format_row(self, examples: Examples, i: int, output: Any) -> list[dict[str, Any]]:
        """One row per future step."""
        return [{"step": k + 1, **{n: float(v) for n, v in zip(self.artifacts.targets, row)}}
                for k, row in enumerate(output.tolist())]
