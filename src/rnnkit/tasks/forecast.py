"""Task ``forecast``: the next ``horizon`` values of the target column(s) from the last
``input_len`` rows of a CSV time series (many-to-one with a (horizon × targets) head).

The series is split chronologically (``data.split`` fractions, or separate
``val_path``/``test_path`` files); one scaler over every used column is fitted on the
training rows only and saved as ``scaler.json``. Validation and test windows may start
``input_len`` rows before their split, so their first target is the split's first row.
Built-in: ``data.dataset = "etth1"`` with its standard 12/4/4-month split, all 7 columns
as features and ``OT`` as the target.

Metrics: ``mae/mse/rmse`` in **standardised units** (the scaled series, as the ETTh1
literature reports them) and ``mae_orig/mse_orig/rmse_orig`` in the data's units.
``data.relative = true`` shifts every window by its last input row (per column, targets
included among the features): the model sees the recent change rather than the level and
predicts offsets from the last observed target value, which are added back. Errors, so
every metric, are unchanged by the shift.
``rnnkit predict RUN_DIR series.csv``: the next ``horizon`` values after the file's
last ``input_len`` rows, in original units.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from torch import nn

from rnnkit.data import SequenceDataset, make_windows
from rnnkit.data.sources import SeriesData, load_csv_series, load_etth1, read_csv_series
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks.base import PreparedData, Task
from rnnkit.tasks.registry import register
from rnnkit.tasks.regress import time_column_arg
from rnnkit.train import RunDir, TrainConfig


@dataclass
class ForecastData:
    path: Optional[str] = None  # the CSV series (or the built-in dataset's file/folder)
    val_path: Optional[str] = None  # separate files instead of a chronological split
    test_path: Optional[str] = None
    dataset: Optional[Literal["etth1"]] = None
    target_columns: list[str] = field(default_factory=list)
    feature_columns: Optional[list[str]] = None  # default: every column but the time column (targets included)
    time_column: str = "auto"  # "auto", a column name, or "none"
    input_len: int = 96
    horizon: int = 24
    stride: int = 1  # rows between training windows
    split: list[float] = field(default_factory=lambda: [0.7, 0.1, 0.2])  # train/val/test fractions
    scale: Literal["standard", "minmax"] = "standard"
    relative: bool = False  # each window minus its last input row; predictions add that row's targets back
    batch_size: int = 32


@dataclass
class ForecastConfig:
    task: str = "forecast"
    data: ForecastData = field(default_factory=ForecastData)
    model: seq.SequenceModelSection = field(default_factory=seq.SequenceModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)


@register
class ForecastTask(Task):
    name = "forecast"
    description = "time-series forecasting: next `horizon` values from `input_len` rows of a CSV (ETTh1 built in)"
    Config = ForecastConfig

    def __init__(self, config: ForecastConfig) -> None:
        super().__init__(config)
        self.scaler: seq.Scaler | None = None
        self.columns: list[str] | None = None  # every used column, in the scaler's order
        self.features: list[str] | None = None
        self.targets: list[str] | None = None

    # ------------------------------------------------------------- reading
    def _check(self) -> None:
        d = self.config.data
        for name in ("input_len", "horizon", "stride", "batch_size"):
            if getattr(d, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1; got {getattr(d, name)}")
        if len(d.split) != 3 or any(f < 0 for f in d.split) or sum(d.split) > 1 + 1e-9:
            raise ConfigError(f"data.split must be 3 fractions (train, val, test) >= 0 summing to at most 1; "
                              f"got {d.split}")

    def _load(self) -> SeriesData:
        d = self.config.data
        if d.dataset == "etth1":
            return load_etth1(d.path, target=d.target_columns[0] if d.target_columns else "OT")
        if d.path is None:
            raise ConfigError("data.path is required (pass --data PATH) unless data.dataset = \"etth1\"")
        if not d.target_columns:
            raise ConfigError("data.target_columns must name at least one column of the CSV file")
        split = (1.0, 0.0, 0.0) if d.val_path or d.test_path else tuple(d.split)
        return load_csv_series(d.path, target_columns=d.target_columns, feature_columns=d.feature_columns,
                               time_column=time_column_arg(d.time_column), fractions=split)  # type: ignore[arg-type]

    def _read_values(self, path: str | Path, columns: list[str]) -> np.ndarray:
        """The used columns of another CSV file, in the training order, scaled."""
        values, _, _ = read_csv_series(path, columns=columns, time_column=time_column_arg(self.config.data.time_column))
        return seq.apply_scaler(self.scaler, values)

    def _windows(self, values: np.ndarray, stride: int = 1) -> tuple[np.ndarray, np.ndarray]:
        fc = [self.columns.index(c) for c in self.features]  # type: ignore[union-attr]
        tc = [self.columns.index(c) for c in self.targets]  # type: ignore[union-attr]
        d = self.config.data
        return make_windows(values, d.input_len, d.horizon, stride, feature_cols=fc, target_cols=tc)

    def _loader(self, windows: tuple[np.ndarray, np.ndarray] | None):
        return None if windows is None else seq.eval_loader(SequenceDataset.from_dense(*self._shift(windows)),
                                                            self.config.data.batch_size)

    def _last_targets(self, x: np.ndarray) -> np.ndarray:
        """The targets' values at the last input step, (W, 1, targets), of windows x (W, T, D)."""
        missing = [c for c in self.targets if c not in self.features]  # type: ignore[union-attr]
        if missing:
            raise ConfigError(f"data.relative = true needs the target columns among the features; {missing} are not")
        return x[:, -1:, [self.features.index(c) for c in self.targets]]  # type: ignore[union-attr]

    def _shift(self, windows: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """x (W, T, D), y (W, horizon, targets) relative to each window's last input row when data.relative."""
        x, y = windows
        if not self.config.data.relative:
            return x, y
        return x - x[:, -1:], y - self._last_targets(x)

    # ------------------------------------------------------------- data
    def prepare(self, run_dir: RunDir | None) -> PreparedData:
        self._check()
        d = self.config.data
        series = self._load()
        if self.scaler is None:
            self.columns, self.features, self.targets = series.columns, series.feature_columns, series.target_columns
            self.scaler = seq.make_scaler(d.scale, "data.scale")
            self.scaler.fit(series.train)  # type: ignore[union-attr]
        elif series.columns != self.columns:
            raise DataError(f"{series.path}: columns {series.columns} differ from the run's {self.columns}")
        if run_dir is not None:
            seq.save_scalers(run_dir, {"series": self.scaler})
            run_dir.save_json(seq.INPUTS_FILE, {"columns": self.columns, "features": self.features,
                                                "targets": self.targets})
        scaled = replace(series, values=seq.apply_scaler(self.scaler, series.values))
        try:
            w = scaled.windows(d.input_len, d.horizon, 1)
        except DataError as e:
            raise DataError(f"{series.path}: {e} (in a split of data.split={d.split})") from None
        train = self._windows(scaled.train, d.stride) if d.stride > 1 else w.train
        val = self._windows(self._read_values(d.val_path, self.columns)) if d.val_path else w.val  # type: ignore[arg-type]
        test = self._windows(self._read_values(d.test_path, self.columns)) if d.test_path else w.test  # type: ignore[arg-type]
        info = {"series": str(series.path), "rows (train/val/test)": "/".join(str(b - a) for a, b in zip(
                    (0, *series.bounds[:2]), series.bounds)),
                "train windows": len(train[0]), "validation windows": 0 if val is None else len(val[0]),
                "test windows": 0 if test is None else len(test[0]), "features": ", ".join(self.features),
                "targets": ", ".join(self.targets), "input_len → horizon": f"{d.input_len} → {d.horizon}",
                "metrics": "mae/mse/rmse standardised; *_orig in original units"}
        loader = seq.train_loader(SequenceDataset.from_dense(*self._shift(train)), d.batch_size, self.config.train.seed)
        return PreparedData(loader, self._loader(val), self._loader(test), info)

    def load_artifacts(self, run_dir: RunDir) -> None:
        self.scaler = seq.load_scalers(run_dir)["series"]
        inputs = run_dir.load_json(seq.INPUTS_FILE)
        self.columns, self.features, self.targets = inputs["columns"], inputs["features"], inputs["targets"]

    # ------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        if self.targets is None:
            raise ConfigError("the columns are not known yet: call prepare() or load_artifacts() first")
        d = self.config.data
        return seq.build_sequence_model(self.config.model, out_size=d.horizon * len(self.targets), classifier=False,
                                        input_size=len(self.features), steps=d.input_len)  # type: ignore[arg-type]

    def objective(self) -> seq.RegressionObjective:
        a, b = seq.affine_inverse(self.scaler, len(self.columns))  # type: ignore[arg-type]
        tc = [self.columns.index(c) for c in self.targets]  # type: ignore[union-attr]
        # outputs are (horizon, targets) flattened row-major: targets vary fastest
        return seq.RegressionObjective(np.tile(a[tc], self.config.data.horizon), np.tile(b[tc], self.config.data.horizon))

    def evaluation_data(self, path: str | Path):
        return self._loader(self._windows(self._read_values(path, self.columns)))  # type: ignore[arg-type]

    def predict(self, model: nn.Module, source: str | Path | list[str]) -> list[dict[str, Any]]:
        """The next ``horizon`` values after the last ``input_len`` rows of a CSV, in original units."""
        if isinstance(source, list):
            raise DataError("forecast predicts from a CSV file (its last input_len rows), not raw lines")
        d = self.config.data
        values = self._read_values(source, self.columns)  # type: ignore[arg-type]
        if len(values) < d.input_len:
            raise DataError(f"{source}: has {len(values)} rows; forecasting needs the last data.input_len = "
                            f"{d.input_len}")
        fc = [self.columns.index(c) for c in self.features]  # type: ignore[union-attr]
        window = values[None, -d.input_len :, fc]  # (1, input_len, D)
        inputs = window - window[:, -1:] if d.relative else window
        pred = seq.run_model(model, SequenceDataset.from_dense(inputs), 1).numpy().reshape(d.horizon, -1)
        if d.relative:
            pred = pred + self._last_targets(window)[0]
        a, b = seq.affine_inverse(self.scaler, len(self.columns))  # type: ignore[arg-type]
        tc = [self.columns.index(c) for c in self.targets]  # type: ignore[union-attr]
        pred = pred * a[tc] + b[tc]
        return [{"step": k + 1, **{name: float(v) for name, v in zip(self.targets, row)}}  # type: ignore[arg-type]
                for k, row in enumerate(pred.tolist())]
