"""Task ``regress``: one or more real values per sequence (many-to-one), or the feed-forward baseline.

Inputs, chosen by ``data.format`` (``"auto"``: ``.npz`` / ``.csv`` / anything else = UCR-style):

* ``.npz`` — ``X`` (N×T×D) and a float ``y`` (N) or (N×K);
* UCR-style TSV — the target first, then the values of the series (T×1);
* CSV series — ``target_columns`` estimated from the last ``input_len`` rows of the
  ``feature_columns`` (default: every column but the targets and the time column):
  window ``s`` reads rows ``s .. s+input_len-1`` and predicts the targets of its last row.

Features and targets are scaled by scalers fitted on the training split only (saved as
``scaler.json``); the model learns the scaled targets, predictions are returned in the
original units. The loss is MSE on the scaled targets, or MAE with ``loss = "mae"``. Without ``val_path``, ``val_fraction`` is held out: a seeded random subset
of npz/UCR examples, the *last* windows of a CSV series (chronological, no look-ahead).
Metrics: ``mae/mse/rmse`` in scaled units and ``mae_orig/mse_orig/rmse_orig`` in original units.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from torch import nn

from rnnkit.data import SequenceDataset
from rnnkit.data.sources import read_csv_series, read_ucr
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks.base import PreparedData, Task
from rnnkit.tasks.registry import register
from rnnkit.train import RunDir, TrainConfig


@dataclass
class RegressData:
    path: Optional[str] = None
    val_path: Optional[str] = None  # else val_fraction is held out (see the module docstring)
    test_path: Optional[str] = None
    format: Literal["auto", "npz", "ucr", "csv"] = "auto"
    target_columns: list[str] = field(default_factory=list)  # CSV: what to estimate
    feature_columns: Optional[list[str]] = None  # CSV: default every column but targets and time
    time_column: str = "auto"  # CSV: "auto" (date/time/timestamp/datetime if present), a name, or "none"
    input_len: int = 24  # CSV: rows per window
    scale: Literal["standard", "minmax", "none"] = "standard"  # features
    scale_target: Literal["standard", "minmax", "none"] = "standard"
    val_fraction: float = 0.1
    split_seed: int = 0
    batch_size: int = 32


@dataclass
class RegressConfig:
    task: str = "regress"
    loss: Literal["mse", "mae"] = "mse"  # on the scaled targets
    data: RegressData = field(default_factory=RegressData)
    model: seq.SequenceModelSection = field(default_factory=seq.SequenceModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)


def file_format(path: str | Path, d: RegressData) -> str:
    if d.format != "auto":
        return d.format
    name = Path(path).name.lower().removesuffix(".gz")
    return "npz" if name.endswith(".npz") else "csv" if name.endswith(".csv") else "ucr"


def time_column_arg(value: str) -> str | None:
    """The ``time_column`` config value as :func:`read_csv_series` takes it."""
    return None if value == "none" else value


@register
class RegressTask(Task):
    name = "regress"
    description = "sequence regression: real targets from npz, UCR-style TSV or CSV windows (original units out)"
    Config = RegressConfig

    def __init__(self, config: RegressConfig) -> None:
        super().__init__(config)
        self.scalers: dict[str, seq.Scaler | None] | None = None
        self.targets: list[str] | None = None  # names of the K outputs
        self.steps: int | None = None
        self.features: int | None = None

    # ------------------------------------------------------------- reading
    def _read(self, path: str | Path, *, need_y: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """x (N, T, D) and y (N, K) float32 (``y`` None when not ``need_y`` and absent)."""
        d = self.config.data
        fmt = file_format(path, d)
        if fmt == "npz":
            x, y = seq.read_npz_arrays(path, y_key="y" if need_y else None)
            names = ["y"] if y is None or y.ndim == 1 else [f"y{i}" for i in range(y.shape[1])]
        elif fmt == "ucr":
            x, raw, lines = read_ucr(path)
            y, names = _floats(raw, lines, path), ["y"]
        else:
            x, y, names = self._read_csv(path, need_y)
        if y is not None:
            y = y.reshape(len(y), -1).astype(np.float32)
        if self.targets is None:
            self.targets, self.steps, self.features = names, int(x.shape[1]), int(x.shape[2])
        elif x.shape[1:] != (self.steps, self.features):
            raise DataError(f"{path}: series must have shape (T, D) = ({self.steps}, {self.features}) as in "
                            f"training; got {x.shape[1:]}")
        elif y is not None and y.shape[1] != len(self.targets):
            raise DataError(f"{path}: expected {len(self.targets)} target values per example as in training; "
                            f"got {y.shape[1]}")
        return x, y

    def _read_csv(self, path: str | Path, need_y: bool) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
        d = self.config.data
        if not d.target_columns:
            raise ConfigError("data.target_columns must name at least one column of the CSV file")
        if d.input_len < 1:
            raise ConfigError(f"data.input_len must be >= 1; got {d.input_len}")
        time_col = time_column_arg(d.time_column)
        if d.feature_columns is None:
            _, header, _ = read_csv_series(path, time_column=time_col)
            features = [c for c in header if c not in d.target_columns]
        else:
            features = list(d.feature_columns)
        if not features:
            raise ConfigError(f"data.feature_columns: {path} has no column left besides the targets")
        cols = list(dict.fromkeys(features + (d.target_columns if need_y else [])))
        values, names, _ = read_csv_series(path, columns=cols, time_column=time_col)
        if len(values) < d.input_len:
            raise DataError(f"{path}: has {len(values)} rows; a window needs data.input_len = {d.input_len}")
        feat = values[:, [names.index(c) for c in features]]
        x = np.moveaxis(sliding_window_view(feat, d.input_len, axis=0), -1, 1)  # (W, input_len, D)
        y = values[d.input_len - 1 :, [names.index(c) for c in d.target_columns]] if need_y else None
        return np.ascontiguousarray(x, dtype=np.float32), y, list(d.target_columns)

    # ------------------------------------------------------------- data
    def _dataset(self, x: np.ndarray, y: np.ndarray | None) -> SequenceDataset:
        xs = seq.apply_scaler(self.scalers["features"], x)  # type: ignore[index]
        ys = None if y is None else seq.apply_scaler(self.scalers["targets"], y)  # type: ignore[index]
        return SequenceDataset.from_dense(xs, ys)

    def prepare(self, run_dir: RunDir | None) -> PreparedData:
        d = self.config.data
        seq.check_fraction(d.val_fraction, "data.val_fraction")
        seq.check_batch_size(d.batch_size)
        if d.path is None:
            raise ConfigError("data.path is required (pass --data PATH)")
        x, y = self._read(d.path)
        val = self._read(d.val_path) if d.val_path else None
        test = self._read(d.test_path) if d.test_path else None
        if val is None and d.val_fraction > 0:
            if file_format(d.path, d) == "csv":  # chronological: the last windows
                n_val = max(1, int(round(len(x) * d.val_fraction)))
                if n_val >= len(x):
                    raise DataError(f"cannot hold out a validation fraction of {d.val_fraction} from {len(x)} windows")
                tr, va = np.arange(len(x) - n_val), np.arange(len(x) - n_val, len(x))
            else:
                tr, va = seq.random_split(len(x), d.val_fraction, d.split_seed)
            (x, y), val = (x[tr], y[tr]), (x[va], y[va])  # type: ignore[index]
        if self.scalers is None:
            self.scalers = {"features": seq.make_scaler(d.scale, "data.scale"),
                            "targets": seq.make_scaler(d.scale_target, "data.scale_target")}
            for key, arr in (("features", x), ("targets", y)):
                if self.scalers[key] is not None:
                    self.scalers[key].fit(arr)  # type: ignore[union-attr]
        if run_dir is not None:
            seq.save_scalers(run_dir, self.scalers)
            run_dir.save_json(seq.INPUTS_FILE, {"targets": self.targets, "steps": self.steps,
                                                "features": self.features})
        loaders = [None if s is None else seq.eval_loader(self._dataset(*s), d.batch_size) for s in (val, test)]
        info = {"train examples": len(x), "validation examples": 0 if val is None else len(val[0]),
                "test examples": 0 if test is None else len(test[0]), "steps": self.steps,
                "features": self.features, "targets": ", ".join(self.targets or [])}
        return PreparedData(seq.train_loader(self._dataset(x, y), d.batch_size, self.config.train.seed),
                            *loaders, info=info)

    def load_artifacts(self, run_dir: RunDir) -> None:
        self.scalers = seq.load_scalers(run_dir)
        inputs = run_dir.load_json(seq.INPUTS_FILE)
        self.targets, self.steps, self.features = inputs["targets"], inputs["steps"], inputs["features"]

    # ------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        if self.targets is None:
            raise ConfigError("the data sizes are not known yet: call prepare() or load_artifacts() first")
        return seq.build_sequence_model(self.config.model, out_size=len(self.targets), classifier=False,
                                        input_size=self.features, steps=self.steps)

    def objective(self) -> seq.RegressionObjective:
        a, b = seq.affine_inverse(self.scalers["targets"], len(self.targets))  # type: ignore[index,arg-type]
        return seq.RegressionObjective(a, b, loss=self.config.loss)

    def evaluation_data(self, path: str | Path):
        return seq.eval_loader(self._dataset(*self._read(path)), self.config.data.batch_size)

    def predict(self, model: nn.Module, source: str | Path | list[str]) -> list[dict[str, Any]]:
        """Per example (per window for CSV): the estimated targets in original units."""
        if isinstance(source, list):
            raise DataError("regress predicts from a file (.npz, UCR-style TSV or CSV), not raw lines")
        x, _ = self._read(source, need_y=False)
        pred = seq.run_model(model, self._dataset(x, None), self.config.data.batch_size).numpy()
        scaler = self.scalers["targets"]  # type: ignore[index]
        pred = pred if scaler is None else scaler.inverse_transform(pred)
        offset = self.config.data.input_len - 1 if file_format(source, self.config.data) == "csv" else 0
        key = "row" if offset else "index"  # CSV: the data row (0-based, header excluded) a window ends at
        return [{key: i + offset, **{n: float(v) for n, v in zip(self.targets, row)}}  # type: ignore[arg-type]
                for i, row in enumerate(pred.tolist())]


def _floats(labels: list[str], lines: list[int], path: str | Path) -> np.ndarray:
    """UCR target column as numbers; a non-number names its line."""
    try:
        return np.asarray(labels, dtype=np.float64)
    except ValueError:
        for lab, line in zip(labels, lines):
            try:
                float(lab)
            except ValueError:
                raise DataError(f"{path}: line {line}: column 1: the target must be a number; got {lab!r}") from None
        raise
