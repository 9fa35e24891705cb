"""What the many-to-one tasks (classify, regress, forecast) share: the ``[model]`` section,
building a recurrent model or the feed-forward baseline from it, deterministic splits,
loaders, scaler persistence, the regression objective and prediction loops.

Shapes: B batch, T time, D input features, C classes, K predicted values per example.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.data import SequenceDataset, make_loader
from rnnkit.data._files import require_file
from rnnkit.data.scalers import MinMaxScaler, StandardScaler, scaler_from_dict
from rnnkit.errors import ConfigError, DataError
from rnnkit.models import (
    FeedForward,
    FeedForwardConfig,
    SequenceClassifier,
    SequenceClassifierConfig,
    SequenceRegressor,
    SequenceRegressorConfig,
)
from rnnkit.train import Regression, RunDir, StepResult

Scaler = StandardScaler | MinMaxScaler
INPUTS_FILE = "inputs.json"
SCALER_FILE = "scaler.json"


@dataclass
class SequenceModelSection:
    """The ``[model]`` table of classify/regress/forecast recipes.

    ``kind = "rnn"``: SequenceClassifier / SequenceRegressor (embedding or features →
    Recurrent → pooling → linear head). ``kind = "feedforward"``: the one-to-one
    baseline (a bag of embeddings for text, the flattened (T·D) sequence for numbers).
    Input, vocabulary and output sizes come from the data, never from the recipe.
    """

    kind: Literal["rnn", "feedforward"] = "rnn"
    cell: Literal["rnn", "lstm", "gru"] = "lstm"
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    dropout: float = 0.0
    embedding_dim: int = 64  # token inputs only
    pooling: Literal["last", "mean", "max", "attention", "flatten"] = "last"  # flatten: fixed-length numbers only
    attention_size: Optional[int] = None
    backend: Literal["auto", "fused", "unrolled"] = "auto"
    hidden_sizes: list[int] = field(default_factory=lambda: [128])  # feedforward only
    activation: Literal["relu", "tanh", "gelu", "sigmoid"] = "relu"  # feedforward only


def build_sequence_model(m: SequenceModelSection, *, out_size: int, classifier: bool,
                         vocab_size: int | None = None, input_size: int | None = None,
                         steps: int | None = None) -> nn.Module:
    """The model ``m`` describes, sized by the data.

    Args:
        out_size: C classes (``classifier``) or K regression outputs.
        vocab_size: token inputs (B, T) — or ``input_size``: features (B, T, D).
        steps: the fixed T of numeric inputs (the feed-forward baseline flattens T·D).
    """
    if m.kind == "feedforward":
        if vocab_size is None and steps is None:
            raise ConfigError("model.kind='feedforward' needs fixed-length numeric inputs or token ids")
        return FeedForward(FeedForwardConfig(
            input_size=None if vocab_size is not None else steps * input_size,  # type: ignore[operator]
            vocab_size=vocab_size, embedding_dim=m.embedding_dim, hidden_sizes=tuple(m.hidden_sizes),
            output_size=out_size, activation=m.activation, dropout=m.dropout))
    if m.pooling == "flatten" and steps is None:
        raise ConfigError("model.pooling='flatten' needs fixed-length numeric inputs (a linear layer over all T "
                          "steps); use last, mean, max or attention for token inputs")
    common = dict(vocab_size=vocab_size, input_size=input_size if vocab_size is None else None,
                  embedding_dim=m.embedding_dim, cell=m.cell, hidden_size=m.hidden_size, num_layers=m.num_layers,
                  bidirectional=m.bidirectional, dropout=m.dropout, backend=m.backend, pooling=m.pooling,
                  attention_size=m.attention_size, max_len=steps if m.pooling == "flatten" else None)
    if classifier:
        return SequenceClassifier(SequenceClassifierConfig(num_classes=out_size, **common))
    return SequenceRegressor(SequenceRegressorConfig(num_targets=out_size, **common))


# ------------------------------------------------------------------ splits and loaders
def check_fraction(value: float, key: str) -> None:
    if not 0.0 <= value < 1.0:
        raise ConfigError(f"{key} must be in [0, 1); got {value}")


def random_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and validation indices: a seeded permutation, the last ``fraction`` held out."""
    n_val = int(round(n * fraction))
    if fraction > 0 and n_val == 0 and n > 1:
        n_val = 1
    if n_val >= n:
        raise DataError(f"cannot hold out a validation fraction of {fraction} from {n} examples")
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[: n - n_val]), np.sort(order[n - n_val :])


def train_loader(ds: SequenceDataset, batch_size: int, seed: int):
    """Shuffled, length-bucketed batches; re-iterable with ``set_epoch`` (exact resume)."""
    return make_loader(ds, batch_size, shuffle=True, seed=seed)


def eval_loader(ds: SequenceDataset, batch_size: int):
    """Batches in a fixed order (sorted by length within pools; ``Batch.indices`` restores file order)."""
    return make_loader(ds, batch_size, shuffle=False)


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ConfigError(f"data.batch_size must be >= 1; got {batch_size}")


# ------------------------------------------------------------------ files
def read_npz_arrays(path: str | Path, *, x_key: str = "X", y_key: str | None = "y") -> tuple[np.ndarray, np.ndarray | None]:
    """x (N, T, D) float32 and the raw ``y`` (N, ...) of an ``.npz`` file (``y_key=None``: x only).

    Unlike :func:`rnnkit.data.sources.read_npz` (class labels), ``y`` keeps its numbers.
    """
    p = require_file(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            for k in (x_key, y_key):
                if k is not None and k not in z:
                    raise DataError(f"{p}: unknown array {k!r}; the file has {list(z.keys())}")
            x, y = z[x_key], (z[y_key] if y_key is not None else None)
    except (OSError, ValueError) as e:
        if isinstance(e, DataError):
            raise
        raise DataError(f"{p}: not a readable .npz file ({e})") from None
    x = x[:, :, None] if x.ndim == 2 else x
    if x.ndim != 3 or not np.issubdtype(x.dtype, np.number):
        raise DataError(f"{p}: {x_key} must be numbers of shape (N, T, D) or (N, T); got {x.dtype} {x.shape}")
    _check_finite(x, f"{p}: {x_key}")
    if y is not None:
        if y.shape[:1] != x.shape[:1] or not np.issubdtype(y.dtype, np.number):
            raise DataError(f"{p}: {y_key} must be numbers of shape ({x.shape[0]},) or ({x.shape[0]}, K) "
                            f"to match {x_key}; got {y.dtype} {y.shape}")
        _check_finite(y, f"{p}: {y_key}")
    return x.astype(np.float32), y


def _check_finite(a: np.ndarray, what: str) -> None:
    bad = ~np.isfinite(a)
    if bad.any():
        pos = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(f"{what}{list(pos)} is not finite ({a[pos]})")


# ------------------------------------------------------------------ scalers
def make_scaler(kind: str, key: str) -> Scaler | None:
    if kind == "none":
        return None
    if kind == "standard":
        return StandardScaler()
    if kind == "minmax":
        return MinMaxScaler()
    raise ConfigError(f"{key} must be 'standard', 'minmax' or 'none'; got {kind!r}")


def save_scalers(run_dir: RunDir, scalers: dict[str, Scaler | None]) -> None:
    run_dir.save_json(SCALER_FILE, {k: (s.to_dict() if s is not None else None) for k, s in scalers.items()})


def load_scalers(run_dir: RunDir) -> dict[str, Scaler | None]:
    raw = run_dir.load_json(SCALER_FILE)
    where = str(run_dir.path / SCALER_FILE)
    return {k: (scaler_from_dict(v, where) if v is not None else None) for k, v in raw.items()}


def affine_inverse(scaler: Scaler | None, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``(a, b)`` (width,) with ``original = a * scaled + b`` per column (identity without a scaler).

    Both scalers are per-feature affine maps, so two inverse transforms recover them.
    """
    if scaler is None:
        return np.ones(width), np.zeros(width)
    b = scaler.inverse_transform(np.zeros((1, width)))[0]
    return scaler.inverse_transform(np.ones((1, width)))[0] - b, b


def apply_scaler(scaler: Scaler | None, x: np.ndarray) -> np.ndarray:
    return x.astype(np.float32) if scaler is None else scaler.transform(x).astype(np.float32)


# ------------------------------------------------------------------ objectives
class _RenamedRegression(Regression):
    """MAE/MSE/RMSE under names with a suffix (e.g. ``mae_orig``)."""

    def __init__(self, suffix: str) -> None:
        super().__init__()
        self.suffix = suffix

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return {f"{k}{self.suffix}": v for k, v in super()._finish(sums).items()}


class RegressionObjective:
    """MSE (or ``loss="mae"``: mean absolute error) on (scaled) targets. Metrics ``mae/mse/rmse`` in the units the model is trained
    in (standardised when the target is scaled) and ``mae_orig/mse_orig/rmse_orig`` in
    the data's original units, via ``original = a * scaled + b`` per output (K,)."""

    def __init__(self, a: np.ndarray, b: np.ndarray, loss: str = "mse") -> None:
        if loss not in ("mse", "mae"):
            raise ConfigError(f"loss must be 'mse' or 'mae'; got {loss!r}")
        self.loss = F.mse_loss if loss == "mse" else F.l1_loss
        self.a = torch.as_tensor(np.asarray(a, dtype=np.float32))
        self.b = torch.as_tensor(np.asarray(b, dtype=np.float32))

    def metrics(self) -> dict[str, Any]:
        return {"scaled": Regression(), "orig": _RenamedRegression("_orig")}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        pred = model(batch.inputs, batch.lengths).float()  # (B, K)
        target = batch.targets.reshape(pred.shape).float()
        a, b = self.a.to(pred.device), self.b.to(pred.device)
        loss = self.loss(pred, target)
        pd, tg = pred.detach(), target
        return StepResult(loss, len(pred), {"scaled": (pd, tg), "orig": (pd * a + b, tg * a + b)})


class ClassificationObjective:
    """Cross-entropy on logits (B, C); accuracy and macro-F1."""

    def __init__(self, num_classes: int) -> None:
        self.num_classes = num_classes

    def metrics(self) -> dict[str, Any]:
        from rnnkit.train import Accuracy, MacroF1

        return {"accuracy": Accuracy(), "macro_f1": MacroF1(self.num_classes)}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        logits = model(batch.inputs, batch.lengths).float()
        loss = F.cross_entropy(logits, batch.targets)
        d = logits.detach()
        return StepResult(loss, len(logits), {"accuracy": (d, batch.targets), "macro_f1": (d, batch.targets)})


def run_model(model: nn.Module, ds: SequenceDataset, batch_size: int) -> torch.Tensor:
    """Model outputs (N, K) for every example of ``ds``, in dataset order."""
    model.eval()
    device = next(model.parameters()).device
    out: torch.Tensor | None = None
    with torch.no_grad():
        for batch in eval_loader(ds, batch_size):
            pred = model(batch.inputs.to(device), batch.lengths.to(device)).float().cpu()
            if out is None:
                out = torch.empty(len(ds), *pred.shape[1:])
            out[batch.indices] = pred
    assert out is not None
    return out
