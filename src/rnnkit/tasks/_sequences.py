"""What the many-to-one tasks (classify, regress, forecast) share: building the model
their ``[model]`` table describes (a recurrent model, the feed-forward or the transformer baseline),
numeric inputs (dense or variable-length), scalers, objectives and the artifacts
parts they save.

Shapes: B batch, T time, D input features, C classes, K predicted values per example.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Sequence, Union

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.data.scalers import MinMaxScaler, StandardScaler, scaler_from_dict
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models import (
    FeedForward,
    FeedForwardConfig,
    SequenceClassifier,
    SequenceClassifierConfig,
    SequenceRegressor,
    SequenceRegressorConfig,
)
from rnnkit.models.transformer import (
    TransformerClassifier,
    TransformerClassifierConfig,
    TransformerRegressor,
    TransformerRegressorConfig,
)
from rnnkit.train import Accuracy, MacroF1, Regression, StepResult

Scaler = Union[StandardScaler, MinMaxScaler]
ClassifierModel = Union[SequenceClassifierConfig, FeedForwardConfig, TransformerClassifierConfig]
RegressorModel = Union[SequenceRegressorConfig, FeedForwardConfig, TransformerRegressorConfig]


# ------------------------------------------------------------------ model
def build_many_to_one(m: Any, *, out_size: int, vocab_size: int | None = None, input_size: int | None = None,
                      steps: int | None = None) -> nn.Module:
    """The model ``m`` (the task's ``[model]`` config) describes, sized by the data.

    Args:
        out_size: C classes or K regression outputs.
        vocab_size: token inputs (B, T) — or ``input_size``: features (B, T, D).
        steps: the fixed T of numeric inputs, None when lengths vary (the feed-forward
            baseline and ``pooling = "flatten"`` need it).
    """
    if isinstance(m, FeedForwardConfig):
        if vocab_size is not None:
            return FeedForward(dataclasses.replace(m, vocab_size=vocab_size, input_size=None, output_size=out_size))
        if steps is None or input_size is None:
            raise ConfigError("model.kind = 'feedforward' flattens fixed-length numeric inputs (T·D); these "
                              "sequences vary in length — use model.kind = 'rnn' or token inputs")
        return FeedForward(dataclasses.replace(m, vocab_size=None, input_size=steps * input_size, output_size=out_size))
    if isinstance(m, (TransformerClassifierConfig, TransformerRegressorConfig)):
        tsizes = dict(vocab_size=vocab_size, input_size=None if vocab_size is not None else input_size)
        if isinstance(m, TransformerClassifierConfig):
            return TransformerClassifier(dataclasses.replace(m, num_classes=out_size, **tsizes))
        return TransformerRegressor(dataclasses.replace(m, num_targets=out_size, **tsizes))
    if m.pooling == "flatten" and steps is None:
        raise ConfigError("model.pooling = 'flatten' needs fixed-length numeric inputs (a linear layer over all T "
                          "steps); use last, mean, max or attention")
    sizes = dict(vocab_size=vocab_size, input_size=None if vocab_size is not None else input_size,
                 max_len=steps if m.pooling == "flatten" else None)
    if isinstance(m, SequenceClassifierConfig):
        return SequenceClassifier(dataclasses.replace(m, num_classes=out_size, **sizes))
    return SequenceRegressor(dataclasses.replace(m, num_targets=out_size, **sizes))


# ------------------------------------------------------------------ numeric inputs
def as_sequences(x: Any, what: str) -> list[np.ndarray]:
    """Numeric sequences as a list of (T_i, D) float32 arrays, from an (N, T, D) or (N, T)
    array or a list of (T_i, D) / (T_i,) arrays; non-finite values are a DataError."""
    items = list(x) if isinstance(x, np.ndarray) else x
    if isinstance(x, np.ndarray) and x.ndim not in (2, 3):
        raise DataError(f"{what} must have shape (N, T, D) or (N, T); got {x.shape}")
    out = []
    for i, a in enumerate(items):
        a = np.asarray(a)
        if a.ndim == 1:
            a = a[:, None]
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.number) or len(a) == 0:
            raise DataError(f"{what}[{i}] must be a non-empty numeric array (T, D) or (T,); got {a.dtype} {a.shape}")
        check_finite(a, f"{what}[{i}]")
        out.append(a.astype(np.float32))
    widths = {a.shape[1] for a in out}
    if len(widths) > 1:
        raise DataError(f"{what}: every sequence must have the same number of features D; got {sorted(widths)}")
    return out


def fixed_steps(seqs: Sequence[np.ndarray]) -> int | None:
    """T when every sequence has T steps, else None."""
    steps = {len(a) for a in seqs}
    return steps.pop() if len(steps) == 1 else None


def check_finite(a: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{what}{list(pos)} is not finite ({a[pos]})")


# ------------------------------------------------------------------ scalers
def make_scaler(kind: str) -> Scaler | None:
    return {"none": None, "standard": StandardScaler(), "minmax": MinMaxScaler()}[kind]


def fit_scaler(kind: str, seqs: Sequence[np.ndarray] | np.ndarray) -> Scaler | None:
    """A scaler of ``kind`` fitted on every step of ``seqs`` (per feature)."""
    scaler = make_scaler(kind)
    if scaler is not None:
        scaler.fit(np.concatenate(list(seqs)) if not isinstance(seqs, np.ndarray) else seqs)
    return scaler


def scale(scaler: Scaler | None, seqs: list[np.ndarray]) -> list[np.ndarray]:
    """Each (T_i, D) sequence scaled (a copy as float32)."""
    if scaler is None:
        return [a.astype(np.float32) for a in seqs]
    return [scaler.transform(a).astype(np.float32) for a in seqs]


def scaler_to_dict(scaler: Scaler | None) -> dict[str, Any] | None:
    return None if scaler is None else scaler.to_dict()


def scaler_from(raw: Any, where: str) -> Scaler | None:
    return None if raw is None else scaler_from_dict(raw, where)


def affine_inverse(scaler: Scaler | None, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` (width,) with ``original = a * scaled + b`` per column (identity without a scaler)."""
    if scaler is None:
        return np.ones(width), np.zeros(width)
    b = scaler.inverse_transform(np.zeros((1, width)))[0]
    return scaler.inverse_transform(np.ones((1, width)))[0] - b, b


def field(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``raw[key]`` of the expected type, or a CheckpointError naming the file and key."""
    if key not in raw or not isinstance(raw[key], kind):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise CheckpointError(f"{where}: {key!r} must be {names}; got {raw.get(key, '(missing)')!r}")
    return raw[key]


# ------------------------------------------------------------------ objectives
class _RenamedRegression(Regression):
    """MAE/MSE/RMSE under names with a suffix (e.g. ``mae_orig``)."""

    def __init__(self, suffix: str) -> None:
        super().__init__()
        self.suffix = suffix

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return {f"{k}{self.suffix}": v for k, v in super()._finish(sums).items()}


class RegressionObjective:
    """MSE (or ``loss="mae"``) on (scaled) targets. Metrics ``mae/mse/rmse`` in the units
    the model learns (standardised when the target is scaled) and ``*_orig`` in the data's
    units, via ``original = a * scaled + b`` per output (K,)."""

    def __init__(self, a: np.ndarray, b: np.ndarray, loss: str = "mse") -> None:
        self.loss = F.mse_loss if loss == "mse" else F.l1_loss
        self.a = torch.as_tensor(np.asarray(a, dtype=np.float32))
        self.b = torch.as_tensor(np.asarray(b, dtype=np.float32))

    def metrics(self) -> dict[str, Any]:
        return {"scaled": Regression(), "orig": _RenamedRegression("_orig")}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        pred = model(batch.inputs, batch.lengths).float()  # (B, K)
        target = batch.targets.reshape(pred.shape).float()
        a, b = self.a.to(pred.device), self.b.to(pred.device)
        pd = pred.detach()
        return StepResult(self.loss(pred, target), len(pred),
                          {"scaled": (pd, target), "orig": (pd * a + b, target * a + b)})


class ClassificationObjective:
    """Cross-entropy on logits (B, C); accuracy and macro-F1."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def metrics(self) -> dict[str, Any]:
        return {"accuracy": Accuracy(), "macro_f1": MacroF1(self.num_classes)}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        logits = model(batch.inputs, batch.lengths).float()
        d = logits.detach()
        return StepResult(F.cross_entropy(logits, batch.targets), len(logits),
                          {"accuracy": (d, batch.targets), "macro_f1": (d, batch.targets)})
