"""Feature scaling fitted on the training part only, with inverse and JSON save/load.

Statistics are per feature (the last axis) over all other axes, so the same
scaler works on a series (N, F), windows (W, T, F) or a batch (B, T, F).

>>> s = StandardScaler().fit(np.array([[0.0, 10.0], [2.0, 30.0]]))
>>> s.transform(np.array([[1.0, 20.0]])).tolist()
[[0.0, 0.0]]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data._files import PathLike, atomic_write_text, read_text
from rnnkit.errors import ConfigError, DataError, ShapeError

__all__ = ["StandardScaler", "MinMaxScaler", "load_scaler"]

_FORMAT = "rnnkit.scaler"


def _check_finite(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 0:
        raise ShapeError(f"{what} must have at least one axis (..., F); got a scalar")
    bad = ~np.isfinite(x)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{what} contains a non-finite value ({x[pos]}) at index {pos}")
    return x


class _Scaler:
    kind = ""
    _stats: tuple[str, ...] = ()

    def _fitted(self) -> None:
        if getattr(self, self._stats[0]) is None:
            raise ConfigError(f"{type(self).__name__} is not fitted; call fit(train) first")

    def _check_width(self, x: np.ndarray) -> None:
        f = len(getattr(self, self._stats[0]))
        if x.shape[-1] != f:
            raise ShapeError(f"x must have {f} features in its last axis (fitted on {f}); got shape {x.shape}")

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)

    def to_dict(self) -> dict[str, Any]:
        self._fitted()
        d: dict[str, Any] = {"format": _FORMAT, "version": 1, "kind": self.kind}
        d.update({k: getattr(self, k).tolist() for k in self._stats})
        d.update(self._options())
        return d

    def _options(self) -> dict[str, Any]:
        return {}

    def save(self, path: PathLike) -> Path:
        """Write the fitted statistics as JSON (atomically)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), indent=1))

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]


class StandardScaler(_Scaler):
    """``(x - mean) / std`` per feature; a constant feature gets std 1 (it maps to 0)."""

    kind = "standard"
    _stats = ("mean", "std")

    def __init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> StandardScaler:
        """Learn mean and std from ``x`` (..., F) — the training part only."""
        x = _check_finite(x, "x")
        flat = x.reshape(-1, x.shape[-1])
        if flat.shape[0] == 0:
            raise DataError("cannot fit a scaler on 0 rows")
        self.mean = flat.mean(axis=0)
        std = flat.std(axis=0)
        self.std = np.where(std > 0, std, 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        self._fitted()
        x = np.asarray(x)
        self._check_width(x)
        return ((x - self.mean) / self.std).astype(_out_dtype(x))

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        self._fitted()
        x = np.asarray(x)
        self._check_width(x)
        return (x * self.std + self.mean).astype(_out_dtype(x))


class MinMaxScaler(_Scaler):
    """Maps each feature's training [min, max] linearly onto ``feature_range``."""

    kind = "minmax"
    _stats = ("data_min", "data_max")

    def __init__(self, feature_range: tuple[float, float] = (0.0, 1.0)) -> None:
        lo, hi = feature_range
        if not lo < hi:
            raise ConfigError(f"feature_range must be (low, high) with low < high; got {feature_range}")
        self.feature_range = (float(lo), float(hi))
        self.data_min: np.ndarray | None = None
        self.data_max: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> MinMaxScaler:
        """Learn per-feature min and max from ``x`` (..., F) — the training part only."""
        x = _check_finite(x, "x")
        flat = x.reshape(-1, x.shape[-1])
        if flat.shape[0] == 0:
            raise DataError("cannot fit a scaler on 0 rows")
        self.data_min, self.data_max = flat.min(axis=0), flat.max(axis=0)
        return self

    def _scale(self) -> np.ndarray:
        span = self.data_max - self.data_min
        return (self.feature_range[1] - self.feature_range[0]) / np.where(span > 0, span, 1.0)

    def transform(self, x: np.ndarray) -> np.ndarray:
        self._fitted()
        x = np.asarray(x)
        self._check_width(x)
        return ((x - self.data_min) * self._scale() + self.feature_range[0]).astype(_out_dtype(x))

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        self._fitted()
        x = np.asarray(x)
        self._check_width(x)
        return ((x - self.feature_range[0]) / self._scale() + self.data_min).astype(_out_dtype(x))

    def _options(self) -> dict[str, Any]:
        return {"feature_range": list(self.feature_range)}


def _out_dtype(x: np.ndarray) -> np.dtype:
    return x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)


def scaler_from_dict(d: dict[str, Any], source: str = "scaler dict") -> StandardScaler | MinMaxScaler:
    if not isinstance(d, dict) or d.get("format") != _FORMAT:
        raise DataError(f"{source}: not an rnnkit scaler (expected format {_FORMAT!r})")
    try:
        if d["kind"] == "standard":
            s: StandardScaler | MinMaxScaler = StandardScaler()
            s.mean, s.std = np.asarray(d["mean"], np.float64), np.asarray(d["std"], np.float64)
        elif d["kind"] == "minmax":
            s = MinMaxScaler(tuple(d["feature_range"]))
            s.data_min, s.data_max = np.asarray(d["data_min"], np.float64), np.asarray(d["data_max"], np.float64)
        else:
            raise DataError(f"{source}: unknown scaler kind {d['kind']!r}; expected 'standard' or 'minmax'")
    except KeyError as e:
        raise DataError(f"{source}: missing key {e.args[0]!r}") from None
    return s


def load_scaler(path: PathLike) -> StandardScaler | MinMaxScaler:
    """Read a scaler written by ``save``."""
    try:
        d = json.loads(read_text(path))
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg})") from None
    return scaler_from_dict(d, str(path))
