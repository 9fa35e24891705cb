"""The small dataclasses sources return: splits plus metadata, never loose tuples.

Class labels are mapped to ids from the **training** split only, in sorted order
(numerically when every label is a number), so ``negative``/``positive`` become
0/1 and UCR labels ``1, 2, 10`` stay in numeric order. A label in a validation
or test split that training never saw is a DataError naming the label, the file
and the line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnnkit.errors import DataError

__all__ = ["TextExamples", "TextClassData", "ArrayExamples", "ArrayClassData", "label_names", "encode_labels"]


def _sort_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def label_names(train_labels: Sequence[str]) -> list[str]:
    """Sorted distinct training labels (numeric order when they are numbers)."""
    distinct = set(train_labels)
    if all(_sort_key(x)[0] == 0 for x in distinct):
        return sorted(distinct, key=_sort_key)
    return sorted(distinct)


def encode_labels(
    labels: Sequence[str], names: Sequence[str], *, path: object, lines: Sequence[int] | None = None, what: str = "label"
) -> np.ndarray:
    """Ids (N,) int64 of ``labels`` under ``names``; an unseen label names file and line."""
    index = {name: i for i, name in enumerate(names)}
    try:
        return np.fromiter((index[x] for x in labels), dtype=np.int64, count=len(labels))
    except KeyError as e:
        bad = e.args[0]
        pos = list(labels).index(bad)
        where = f"line {lines[pos]}" if lines is not None else f"example {pos}"
        raise DataError(
            f"{path}: {where}: {what} {bad!r} never appears in the training data "
            f"(known: {', '.join(map(repr, names[:20]))}{' ...' if len(names) > 20 else ''})"
        ) from None


@dataclass
class TextExamples:
    """Raw texts (N,) and their label ids (N,) int64."""

    texts: list[str]
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class TextClassData:
    """A text classification dataset: splits (val/test may be None) and label names."""

    train: TextExamples
    val: TextExamples | None
    test: TextExamples | None
    labels: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.labels)


@dataclass
class ArrayExamples:
    """Numeric sequences x (N, T, D) float32 and label ids y (N,) int64."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class ArrayClassData:
    """A numeric sequence classification dataset (MNIST rows, UCR, .npz)."""

    train: ArrayExamples
    val: ArrayExamples | None
    test: ArrayExamples | None
    labels: list[str]

    @property
    def num_classes(self) -> int:
        return len(self.labels)
