"""Task ``forecast``: the next ``horizon`` values of the target column(s) from the last
``input_len`` rows of a CSV time series (many-to-one with a (horizon × targets) head).

The series is split chronologically: separate ``val_path``/``test_path`` files, or
``split_rows = [train, val, test]`` row counts (the file itself then says which split each
row is in: ``Examples.split_of``; the fractions are unused, and a part of 0 rows is none), or the last ``test_fraction`` of the rows for test and
then the last ``val_fraction`` of the rest for validation (defaults 0.2 and 0.125:
70/10/20). Validation and test parts start ``input_len`` rows early, so their first target
is the split's first row. One scaler over every used column is fitted on the training rows
only. Built-in: ``data.dataset = "etth1"`` with its standard 12/4/4-month split
(``split_rows = [8640, 2880, 2880]`` unless given), all 7 columns as features and ``OT`` as
the target. ``time_column = "auto"`` takes the first column with a usual time name and
warns which; with every column as a feature, a column of strictly increasing integers (a
row index, a year) that is not a target is warned about.

Metrics: ``mae/mse/rmse`` in **standardised units** (as the ETTh1 literature reports
them) and ``*_orig`` in the data's units. Every final evaluation (end of training and
``evaluate``) adds the same errors of two baselines on exactly the same windows:
``naive_*`` (the last input value repeated) and, given ``data.season``,
``seasonal_naive_*`` (the last season of the input repeated); see
:mod:`rnnkit.data.baselines`. An encoded window's targets are (1 + baselines, horizon,
targets): the truth first, then each baseline's forecast. ``data.relative = true`` shifts every window by
its last input row (per column): the model sees the recent change rather than the level
and predicts offsets from the last observed target value, which are added back.
``rnnkit predict RUN_DIR series.csv``: the next ``horizon`` values after the file's last
``input_len`` rows, one row per step, in original units.
"""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import torch
from torch import nn

from rnnkit.data import SequenceDataset, make_windows
from rnnkit.data.baselines import naive_forecasts
from rnnkit.data.scalers import MinMaxScaler, StandardScaler, scaler_from_dict
from rnnkit.data.sources.timeseries import ETTH1_SIZES, load_etth1, monotonic_integer_columns, read_csv_series
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks.base import Artifacts, DataSection, Examples, Task, TaskConfig, check_fraction
from rnnkit.tasks.registry import register
from rnnkit.tasks.regress import time_column_arg
from rnnkit.tasks.splits import chronological_parts
from rnnkit.train import OptimConfig, StepResult, TrainConfig


@dataclass
class ForecastData(DataSection):
    # a built-in series instead of a file ("etth1")
    dataset: Optional[Literal["etth1"]] = None
    # the CSV columns to forecast (at least one)
    target_columns: list[str] = field(default_factory=list)
    feature_columns: Optional[list[str]] = None  # default: every column but the time column (targets included)
    time_column: str = "auto"  # "auto" (the first column named date, time, timestamp, datetime, ds, year, month, week, day, hour, minute, period..., any case; a warning says which), a column name, or "none"
    # rows of history the model reads
    input_len: int = 96
    # steps ahead to forecast
    horizon: int = 24
    stride: int = 1  # rows between training windows
    val_fraction: float = 0.125  # of the rows left after the test part: 10% of the series
    # the last share of the rows held out for test (chronological)
    test_fraction: float = 0.2
    split_rows: Optional[list[int]] = None  # [train, val, test] row counts of data.path in time order (later rows unused; 0: no such part) instead of the fractions; etth1 default [8640, 2880, 2880]
    season: Optional[int] = None  # rows per season (e.g. 24: hourly data, daily cycle), 1..input_len: final metrics add the seasonal-naive baseline seasonal_naive_*
    # scaling fitted on the training rows: "standard" or "minmax"
    scale: Literal["standard", "minmax"] = "standard"
    relative: bool = True  # each window minus its last input row; predictions add that row's targets back

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction(self.test_fraction, "data.test_fraction")
        self.require_positive("input_len", "horizon", "stride")
        if self.season is not None and (isinstance(self.season, bool) or not isinstance(self.season, int)
                                        or self.season < 1):
            raise ConfigError(f"data.season must be an integer >= 1 (rows per season); got {self.season!r}")
        rows = self.split_rows
        if rows is not None and (not isinstance(rows, (list, tuple)) or len(rows) != 3
                                 or any(isinstance(v, bool) or not isinstance(v, int) for v in rows)):
            raise ConfigError(f"data.split_rows must be three row counts [train, val, test]; got {rows!r}")
        if rows is not None and (min(rows) < 0 or rows[0] < 1):
            raise ConfigError(f"data.split_rows must be row counts >= 0 with at least 1 training row; got {list(rows)}")

    def check_combined(self) -> None:
        """The checks between keys, run by ``check_run_settings`` once every override is in
        (``--set`` rebuilds the table one key at a time)."""
        if self.season is not None and self.season > self.input_len:
            raise ConfigError(f"data.season = {self.season} must be <= data.input_len = {self.input_len}: the "
                              f"seasonal-naive baseline repeats the last season of the input rows")
        rows = self.split_rows
        if rows is None:
            return
        for i, key in ((1, "val_path"), (2, "test_path")):
            if rows[i] > 0 and getattr(self, key) is not None:
                raise ConfigError(f"data.split_rows = {list(rows)} and data.{key} both give the "
                                  f"{('validation', 'test')[i - 1]} split; set one of them (or give that part 0 rows)")
        defaults = {f.name: f.default for f in dataclasses.fields(ForecastData)}
        for key in ("val_fraction", "test_fraction"):  # left at their defaults, they are unused
            if getattr(self, key) not in (0.0, defaults[key]):
                raise ConfigError(f"data.split_rows = {list(rows)} gives every split's rows; data.{key} = "
                                  f"{getattr(self, key)} cannot be used with it: remove one of them")


def _forecast_train() -> TrainConfig:
    """Weight decay 0.01 (Adam's L2) by default: on ETTh1's OT with the untuned defaults the test MSE
    went from 3.37 / 3.23 (seeds 0 / 1; the naive last value scores 2.89) to 2.58 / 2.68
    (``benchmarks/defaults.py --only etth1 --set forecast:train.optim.weight_decay=0.01``); the
    generated seasonal set stays far below its naive forecast (0.27 -> 0.34 against 2.78)."""
    return TrainConfig(optim=OptimConfig(weight_decay=0.01))


@dataclass
class ForecastConfig(TaskConfig):
    task: str = "forecast"
    data: ForecastData = field(default_factory=ForecastData)
    model: seq.RegressorModel = field(default_factory=seq.SequenceRegressorConfig)
    train: TrainConfig = field(default_factory=_forecast_train)


class _Prefixed(seq._RenamedRegression):
    """MAE/MSE/RMSE named ``<prefix><metric><suffix>`` (``naive_mse``, ``naive_mse_orig``)."""

    def __init__(self, prefix: str, suffix: str) -> None:
        super().__init__(suffix)
        self.prefix = prefix

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return {f"{self.prefix}{k}": v for k, v in super()._finish(sums).items()}


class ForecastObjective(seq.RegressionObjective):
    """The regression objective on a window's truth (``targets[:, 0]``); when ``final``,
    also the errors of each baseline forecast ``targets[:, k]`` (``baselines[k - 1]``),
    in the same scaled and original units as the model's."""

    def __init__(self, a: np.ndarray, b: np.ndarray, baselines: tuple[str, ...], *, final: bool) -> None:
        super().__init__(a, b)
        self.baselines = baselines if final else ()

    def metrics(self) -> dict[str, Any]:
        out = super().metrics()
        for name in self.baselines:
            out[name] = _Prefixed(f"{name}_", "")
            out[f"{name}_orig"] = _Prefixed(f"{name}_", "_orig")
        return out

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        packed = batch.targets  # (B, 1 + baselines, horizon, targets)
        res = super().__call__(model, dataclasses.replace(batch, targets=packed[:, 0]), state)
        if self.baselines:
            target = packed[:, 0].reshape(len(packed), -1).float()
            a, b = self.a.to(target.device), self.b.to(target.device)
            for k, name in enumerate(self.baselines, 1):
                pred = packed[:, k].reshape(len(packed), -1).float()
                res.updates[name] = (pred, target)
                res.updates[f"{name}_orig"] = (pred * a + b, target * a + b)
        return res


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
        d = self.config.data
        values, names, _ = read_csv_series(source, columns=self._columns(), time_column=time_column_arg(d.time_column))
        self._read_columns = names
        values = values.astype(np.float32)
        examples = Examples(values, values if labelled else None, str(source), list(range(len(values))))
        if labelled and d.split_rows is not None and str(source) == str(d.path):
            return self._split_rows(examples, d.split_rows)
        return examples

    def read_builtin(self, split: str) -> Examples | None:
        """The whole series for ``train``, its rows' parts set by ``data.split_rows`` (default:
        the standard split); validation and test are parts of it, nothing more is read for them."""
        if split != "train":
            return None
        d = self.config.data
        self._series = s = load_etth1(d.path, target=d.target_columns[0] if d.target_columns else "OT")
        self._read_columns = s.columns
        rows = d.split_rows if d.split_rows is not None else list(ETTH1_SIZES)
        return self._split_rows(Examples(s.values, s.values, "etth1", list(range(len(s.values)))), rows)

    def _split_rows(self, examples: Examples, rows: list[int]) -> Examples:
        """The series with each row labelled by its ``data.split_rows`` part (the rows of
        context before the validation and test parts appear once more, with their part)."""
        d = self.config.data
        parts = chronological_parts(len(examples), rows, d.input_len, d.horizon, examples.where)
        out = examples.take(np.concatenate(list(parts.values())))
        out.split_of = [name for name, idx in parts.items() for _ in idx]
        return out

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
        if d.feature_columns is None and d.dataset is None:
            for c in monotonic_integer_columns(train.inputs, columns):
                if c in features and c not in targets:
                    rest = [f for f in features if f != c]
                    warnings.warn(f"{train.where}: column {c!r} holds strictly increasing integers (a row index or "
                                  f"a year?) and is an input feature, so the model reads a value that only grows "
                                  f"with time; if it is the time axis set data.time_column = {c!r}, or leave it out "
                                  f"with data.feature_columns = {rest}", UserWarning, stacklevel=2)
        scaler = StandardScaler() if d.scale == "standard" else MinMaxScaler()
        scaler.fit(train.inputs)
        self._train = train
        return ForecastArtifacts(columns, features, targets, scaler)

    def _cols(self) -> tuple[list[int], list[int]]:
        a = self.artifacts
        return [a.columns.index(c) for c in a.features], [a.columns.index(c) for c in a.targets]

    def encode(self, examples: Examples) -> SequenceDataset:
        d, a = self.config.data, self.artifacts
        if examples.split_of is not None and len(set(examples.split_of)) > 1:  # a whole file read by split_rows
            examples = examples.take(np.unique(examples.lines, return_index=True)[1])  # each row once, in order
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
        base = naive_forecasts(values, d.input_len, d.horizon, stride, target_cols=tc, season=d.season)
        if d.relative:
            last = self._last_targets(x)
            x, y, base = x - x[:, -1:], y - last, {k: v - last for k, v in base.items()}
        return SequenceDataset.from_dense(x, np.stack([y, *(base[k] for k in self._baselines())], axis=1))

    def _baselines(self) -> tuple[str, ...]:
        """The baselines every final evaluation scores, in the order of the packed targets."""
        return ("naive",) if self.config.data.season is None else ("naive", "seasonal_naive")

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
                "metrics": "mae/mse/rmse standardised; *_orig in original units",
                "baselines": ", ".join(f"{k}_*" for k in self._baselines()) + " on the same windows"
                             + (f" (season {d.season} rows)" if d.season is not None else " (set data.season for "
                                                                                          "seasonal_naive_*)")}

    # ------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        a, d = self.artifacts, self.config.data
        return seq.build_many_to_one(self.config.model, out_size=d.horizon * len(a.targets),
                                     input_size=len(a.features), steps=d.input_len)

    def objective(self, *, final: bool = True) -> ForecastObjective:
        a = self.artifacts
        scale, shift = seq.affine_inverse(a.scaler, len(a.columns))
        _, tc = self._cols()
        # outputs are (horizon, targets) flattened row-major: targets vary fastest
        h = self.config.data.horizon
        return ForecastObjective(np.tile(scale[tc], h), np.tile(shift[tc], h), self._baselines(), final=final)

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
