"""What the token-sequence tasks (``tag``, ``seq2seq``) share: numbered input lines,
in-memory examples checked once, artifact parts read back with clear messages, and
metrics that only speak when they were fed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.data import Vocab
from rnnkit.data._files import read_text
from rnnkit.errors import CheckpointError, DataError
from rnnkit.train import Metric

__all__ = ["MEMORY", "text_lines", "memory_items", "artifact_part", "vocab_part", "WhenFed", "unwrap"]

MEMORY = "data"  # the ``where`` of in-memory examples; their ``lines`` are 1-based item positions


def text_lines(path: str | Path) -> list[tuple[int, str]]:
    """``(line number, text)`` of every non-blank line of a file (plain or ``.gz``)."""
    rows = [(n, line.rstrip("\r")) for n, line in enumerate(read_text(path).split("\n"), 1) if line.strip()]
    if not rows:
        raise DataError(f"{path}: no input lines (only blank lines)")
    return rows


def memory_items(data: Any, targets: Any, what: str) -> tuple[list[Any], list[Any] | None, list[int]]:
    """In-memory ``data`` (and ``targets``) as lists with their 1-based positions.

    Unlabelled, blank strings are skipped (as blank input lines are); labelled, the two
    lists must match one to one.
    """
    if not _is_list(data):
        raise DataError(f"data must be a list of {what}; got {type(data).__name__}")
    items = list(data)
    if targets is None:
        kept = [(i, x) for i, x in enumerate(items, 1) if not (isinstance(x, str) and not x.strip())]
        if not kept:
            raise DataError(f"data holds no {what} (only blank strings)")
        return [x for _, x in kept], None, [i for i, _ in kept]
    if not _is_list(targets) or len(targets) != len(items):
        got = len(targets) if _is_list(targets) else type(targets).__name__
        raise DataError(f"targets must be a list with one entry per item of data ({len(items)}); got {got}")
    if not items:
        raise DataError(f"data holds no {what}")
    return items, list(targets), list(range(1, len(items) + 1))


def _is_list(x: Any) -> bool:
    return hasattr(x, "__len__") and hasattr(x, "__iter__") and not isinstance(x, (str, bytes, dict))


def artifact_part(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str,
                  parent: str = "artifacts") -> Any:
    """``raw[key]``, which must be of ``kind``; else a CheckpointError naming the file and key."""
    if key not in raw:
        raise CheckpointError(f"{where}: {parent} has no {key!r} entry (an incomplete or foreign run directory)")
    value = raw[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise CheckpointError(f"{where}: {parent}[{key!r}] must be {names}; got {str(value)[:80]}")
    return value


def vocab_part(raw: dict[str, Any], key: str, where: str) -> Vocab:
    return Vocab.from_dict(artifact_part(raw, key, dict, where), source=f"{where}: artifacts[{key!r}]")


def unwrap(model: nn.Module) -> nn.Module:
    """The model itself, also when DistributedDataParallel wraps it."""
    return getattr(model, "module", model)


class WhenFed(Metric):
    """Wraps a metric so that a pass in which it got no (non-zero) data reports nothing,
    and its names carry ``suffix`` (``bleu_sample`` for a decoded sample).

    The expensive metrics (entity F1, decoded BLEU) are only updated during evaluation;
    without this, every training epoch would log them as a misleading 0.
    """

    def __init__(self, inner: Metric, suffix: str = "") -> None:
        super().__init__()
        self.inner, self.suffix = inner, suffix
        self._size = inner._size

    def _batch_sums(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.inner._batch_sums(*args, **kwargs)

    def _finish(self, sums: list[float]) -> dict[str, float]:
        return {k + self.suffix: v for k, v in self.inner._finish(sums).items()}

    def compute(self) -> dict[str, float]:
        # all zeros also means "never fed": under DDP all_reduce turns a None state into zeros
        if self.state is None or not bool(self.state.any()):
            return {}
        return super().compute()
