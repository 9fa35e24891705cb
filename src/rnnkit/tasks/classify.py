"""Task ``classify``: one label per sequence (many-to-one), or the feed-forward baseline.

Inputs, chosen by ``data.format`` (``"auto"``: from the file name):

* text — CSV / TSV / JSONL with a text column and a label column (names configurable),
  tokenized by words or characters; the vocabulary is fitted on the training split only;
  batches are bucketed by length. Built-in: ``data.dataset = "imdb"``.
* numbers — ``.npz`` (``X`` N×T×D, ``y`` N) or a UCR-style TSV (label, then the values;
  any other extension is read as UCR too); features scaled by a scaler fitted on the
  training split (``data.scale``). Built-in: ``data.dataset = "mnist"`` (28 rows × 28 pixels).

A ``.tsv`` whose first line names ``text_column`` and ``label_column`` is a text table,
otherwise a UCR file. Without ``val_path`` a seeded ``val_fraction`` of the training
rows is held out. Metrics: accuracy and macro-F1. Run directory: ``labels.json`` (class
names), ``inputs.json`` (input kind and sizes), ``vocab.json`` + ``tokenizer.json``
(text) or ``scaler.json`` (numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import torch
from torch import nn

from rnnkit.data import SequenceDataset, Vocab, get_tokenizer, tokenizer_from_dict
from rnnkit.data._files import read_text
from rnnkit.data.sources import load_imdb, load_mnist, load_text_classification, read_npz, read_table, read_ucr
from rnnkit.data.sources.containers import encode_labels, label_names
from rnnkit.data.sources.textclass import detect_format
from rnnkit.errors import ConfigError, DataError
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks.base import PreparedData, Task
from rnnkit.tasks.registry import register
from rnnkit.train import RunDir, TrainConfig

LABELS_FILE = "labels.json"
VOCAB_FILE = "vocab.json"
TOKENIZER_FILE = "tokenizer.json"
TEXT_FORMATS = ("csv", "tsv", "jsonl")


@dataclass
class ClassifyData:
    path: Optional[str] = None  # training file (or the built-in dataset's file/folder)
    val_path: Optional[str] = None  # else val_fraction of the training rows is held out
    test_path: Optional[str] = None
    dataset: Optional[Literal["imdb", "mnist"]] = None  # a built-in dataset instead of a file
    format: Literal["auto", "csv", "tsv", "jsonl", "npz", "ucr"] = "auto"
    text_column: str = "text"
    label_column: str = "label"
    split_column: Optional[str] = None  # a column saying train / val / test per row
    tokens: Literal["word", "char"] = "word"
    lower: bool = True
    min_freq: int = 1
    max_vocab: Optional[int] = 20000  # specials included
    max_len: Optional[int] = None  # keep the last max_len tokens of longer texts
    # text only: feed each token's integer id as one float feature per step (B, T, 1) instead of
    # through an embedding -- the classic mistake the imdb-int recipe reproduces (ids are not magnitudes)
    ids_as_features: bool = False
    scale: Literal["standard", "minmax", "none"] = "standard"  # numeric features
    val_fraction: float = 0.1
    split_seed: int = 0
    batch_size: int = 32


@dataclass
class ClassifyConfig:
    task: str = "classify"
    data: ClassifyData = field(default_factory=ClassifyData)
    model: seq.SequenceModelSection = field(default_factory=seq.SequenceModelSection)
    train: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class _Split:
    """Raw inputs of one split: texts (list[str]) or numbers (N, T, D), and label ids (N,)."""

    inputs: Any
    labels: np.ndarray

    def take(self, idx: np.ndarray) -> _Split:
        x = [self.inputs[i] for i in idx] if isinstance(self.inputs, list) else self.inputs[idx]
        return _Split(x, self.labels[idx])


def file_format(path: str | Path, d: ClassifyData) -> str:
    """``csv``/``tsv``/``jsonl`` (text) or ``npz``/``ucr`` (numbers) for ``path``."""
    if d.format != "auto":
        return d.format
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith(".npz"):
        return "npz"
    try:
        fmt = detect_format(path)
    except ConfigError:
        return "ucr"
    if fmt == "tsv":
        first = read_text(path).split("\n", 1)[0].rstrip("\r").split("\t")
        if not {d.text_column, d.label_column} <= set(first):
            return "ucr"
    return fmt


@register
class ClassifyTask(Task):
    name = "classify"
    description = "sequence classification: text (CSV/TSV/JSONL, IMDB) or numbers (npz, UCR TSV, MNIST rows)"
    Config = ClassifyConfig

    def __init__(self, config: ClassifyConfig) -> None:
        super().__init__(config)
        self.labels: list[str] | None = None
        self.kind: str | None = None  # "text" | "numeric"
        self.vocab: Vocab | None = None
        self.tokenizer: Any = None
        self.scaler: seq.Scaler | None = None
        self.steps: int | None = None  # T of numeric inputs
        self.features: int | None = None  # D of numeric inputs

    # ------------------------------------------------------------- reading
    def _read_splits(self) -> tuple[_Split, _Split | None, _Split | None]:
        d = self.config.data
        if d.dataset == "mnist":
            data = load_mnist(d.path)
        elif d.dataset == "imdb":
            data = load_imdb(d.path)
        elif d.path is None:
            raise ConfigError("data.path is required (pass --data PATH) unless data.dataset names a built-in dataset")
        elif file_format(d.path, d) in TEXT_FORMATS:
            data = load_text_classification(d.path, d.val_path, d.test_path, text_column=d.text_column,
                                            label_column=d.label_column, split_column=d.split_column,
                                            format=file_format(d.path, d))
        else:
            return self._read_numeric_files()
        self.labels = list(data.labels)
        self._set_kind(data.train.x if hasattr(data.train, "x") else data.train.texts)
        parts = [_as_split(p) for p in (data.train, data.val, data.test)]
        if d.dataset is not None:  # the built-in loaders know no val/test files: read the user's
            parts[1] = self._read_file(d.val_path) if d.val_path else parts[1]
            parts[2] = self._read_file(d.test_path) if d.test_path else parts[2]
        return parts[0], parts[1], parts[2]  # type: ignore[return-value]

    def _read_numeric_files(self) -> tuple[_Split, _Split | None, _Split | None]:
        d = self.config.data
        x, y, lines = self._read_numeric(d.path)  # type: ignore[arg-type]
        self.labels = label_names(y)
        self._set_kind(x)
        train = _Split(x, encode_labels(y, self.labels, path=d.path, lines=lines))
        val = self._read_file(d.val_path) if d.val_path else None
        test = self._read_file(d.test_path) if d.test_path else None
        return train, val, test

    def _set_kind(self, inputs: Any) -> None:
        kind = "text" if isinstance(inputs, list) else "numeric"
        if self.kind is not None and kind != self.kind:
            raise DataError(f"the training data is {kind} but this run's model was trained on {self.kind} inputs")
        self.kind = kind
        if kind == "numeric":
            self.steps, self.features = int(inputs.shape[1]), int(inputs.shape[2])

    def _read_numeric(self, path: str | Path) -> tuple[np.ndarray, list[str], list[int] | None]:
        return read_npz(path) if file_format(path, self.config.data) == "npz" else read_ucr(path)

    def _read_file(self, path: str | Path) -> _Split:
        """A labelled file in the task's format, labels encoded with the training label set."""
        d = self.config.data
        fmt = file_format(path, d)
        if (fmt in TEXT_FORMATS) != (self.kind == "text"):
            raise DataError(f"{path}: a {fmt} file cannot feed a model trained on {self.kind} inputs")
        if fmt in TEXT_FORMATS:
            t = read_table(path, [d.text_column, d.label_column], format=fmt)
            texts, labels, lines = t.columns[d.text_column], t.columns[d.label_column], t.lines
            return _Split(texts, encode_labels(labels, self.labels, path=path, lines=lines))  # type: ignore[arg-type]
        x, y, lines = self._read_numeric(path)
        self._check_shape(x, path)
        return _Split(x, encode_labels(y, self.labels, path=path, lines=lines))  # type: ignore[arg-type]

    def _check_shape(self, x: np.ndarray, path: str | Path) -> None:
        if self.steps is not None and x.shape[1:] != (self.steps, self.features):
            raise DataError(f"{path}: series must have shape (T, D) = ({self.steps}, {self.features}) "
                            f"as in training; got {x.shape[1:]}")

    # ------------------------------------------------------------- encoding
    def _dataset(self, inputs: Any, labels: np.ndarray | None, tokens: list[list[str]] | None = None) -> SequenceDataset:
        """Encode a split; ``tokens`` are its already tokenized texts, when the caller has them."""
        if self.kind == "text":
            d = self.config.data
            if tokens is None:
                tokens = [self.tokenizer(t) for t in inputs]  # type: ignore[misc]
            ids = [self.vocab.encode(t) for t in tokens]  # type: ignore[union-attr]
            empty = [i for i, a in enumerate(ids) if len(a) == 0]
            for i in empty:  # an empty text still needs one step: the unk token stands for "nothing"
                ids[i] = np.array([self.vocab.unk_id], dtype=np.int64)  # type: ignore[union-attr]
            if d.ids_as_features:
                ids = [a.astype(np.float32)[:, None] for a in ids]  # (T_i, 1): the id as a magnitude
            return SequenceDataset(ids, labels, maxlen=d.max_len)
        x = seq.apply_scaler(self.scaler, inputs)
        return SequenceDataset.from_dense(x, labels)

    def prepare(self, run_dir: RunDir | None) -> PreparedData:
        d = self.config.data
        seq.check_fraction(d.val_fraction, "data.val_fraction")
        seq.check_batch_size(d.batch_size)
        fitted = self.labels is not None and self.kind is not None
        saved_labels = self.labels
        train, val, test = self._read_splits()
        if fitted and self.labels != saved_labels:
            raise DataError(f"the training data's labels {self.labels} differ from the run's {saved_labels}")
        if val is None and d.val_fraction > 0:
            tr, va = seq.random_split(len(train.labels), d.val_fraction, d.split_seed)
            train, val = train.take(tr), train.take(va)
        train_tokens = None if fitted else self._fit(train)
        if run_dir is not None:
            self._save(run_dir)
        train_ds = self._dataset(train.inputs, train.labels, train_tokens)
        loaders = [None if s is None else seq.eval_loader(self._dataset(s.inputs, s.labels), d.batch_size)
                   for s in (val, test)]
        info = {"input": self.kind, "classes": len(self.labels), "train examples": len(train.labels),  # type: ignore[arg-type]
                "validation examples": len(val.labels) if val is not None else 0,
                "test examples": len(test.labels) if test is not None else 0}
        if self.kind == "text":
            info.update(tokens=d.tokens, vocabulary=len(self.vocab))  # type: ignore[arg-type]
        else:
            info.update(steps=self.steps, features=self.features)
        return PreparedData(seq.train_loader(train_ds, d.batch_size, self.config.train.seed), *loaders, info=info)

    def _fit(self, train: _Split) -> list[list[str]] | None:
        """Fit the tokenizer/vocabulary or the scaler on the training part; returns the
        training texts' tokens (so they are tokenized once), or None for numeric input."""
        d = self.config.data
        if self.kind == "text":
            self.tokenizer = get_tokenizer(d.tokens, lower=d.lower)
            tokens = [self.tokenizer(t) for t in train.inputs]
            self.vocab = Vocab.build(tokens, min_freq=d.min_freq, max_size=d.max_vocab, bos=None, eos=None)
            return tokens
        self.scaler = seq.make_scaler(d.scale, "data.scale")
        if self.scaler is not None:
            self.scaler.fit(train.inputs)
        return None

    def _save(self, run_dir: RunDir) -> None:
        run_dir.save_json(LABELS_FILE, {"labels": self.labels})
        run_dir.save_json(seq.INPUTS_FILE, {"kind": self.kind, "steps": self.steps, "features": self.features})
        if self.kind == "text":
            run_dir.save_json(VOCAB_FILE, self.vocab.to_dict())  # type: ignore[union-attr]
            run_dir.save_json(TOKENIZER_FILE, self.tokenizer.to_dict())
        else:
            seq.save_scalers(run_dir, {"features": self.scaler})

    def load_artifacts(self, run_dir: RunDir) -> None:
        self.labels = list(run_dir.load_json(LABELS_FILE)["labels"])
        inputs = run_dir.load_json(seq.INPUTS_FILE)
        self.kind, self.steps, self.features = inputs["kind"], inputs["steps"], inputs["features"]
        if self.kind == "text":
            self.vocab = Vocab.from_dict(run_dir.load_json(VOCAB_FILE), source=str(run_dir.path / VOCAB_FILE))
            self.tokenizer = tokenizer_from_dict(run_dir.load_json(TOKENIZER_FILE))
        else:
            self.scaler = seq.load_scalers(run_dir)["features"]

    # ------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        if self.labels is None:
            raise ConfigError("the labels are not known yet: call prepare() or load_artifacts() first")
        if self.kind == "text" and self.config.data.ids_as_features:
            sizes: dict[str, Any] = {"input_size": 1}
        elif self.kind == "text":
            sizes = {"vocab_size": len(self.vocab)}  # type: ignore[arg-type]
        else:
            sizes = {"input_size": self.features, "steps": self.steps}
        return seq.build_sequence_model(self.config.model, out_size=len(self.labels), classifier=True, **sizes)

    def objective(self) -> seq.ClassificationObjective:
        return seq.ClassificationObjective(len(self.labels))  # type: ignore[arg-type]

    def evaluation_data(self, path: str | Path):
        s = self._read_file(path)
        return seq.eval_loader(self._dataset(s.inputs, s.labels), self.config.data.batch_size)

    # ------------------------------------------------------------- predict
    def _unlabelled_inputs(self, source: str | Path | list[str]) -> tuple[Any, list[str] | None]:
        """Inputs to classify and, for text, the texts themselves (echoed in the rows)."""
        d = self.config.data
        if isinstance(source, list):
            if self.kind != "text":
                raise DataError("raw lines can only be classified by a text model; pass a .npz or UCR file")
            return source, source
        fmt = file_format(source, d)
        if self.kind == "text":
            if fmt in TEXT_FORMATS:
                texts = read_table(source, [d.text_column], format=fmt).columns[d.text_column]
            else:  # plain text: one example per line
                texts = [line for line in read_text(source).splitlines() if line.strip()]
            return texts, texts
        if fmt in TEXT_FORMATS:
            raise DataError(f"{source}: a {fmt} file cannot feed a model trained on numeric inputs")
        if fmt == "npz":
            x = seq.read_npz_arrays(source, y_key=None)[0]
        else:
            x = read_ucr(source)[0]
        self._check_shape(x, source)
        return x, None

    def predict(self, model: nn.Module, source: str | Path | list[str]) -> list[dict[str, Any]]:
        """Per example: the predicted label, its probability and every class probability."""
        inputs, texts = self._unlabelled_inputs(source)
        if len(inputs) == 0:
            raise DataError(f"{source if not isinstance(source, list) else 'input'}: nothing to classify")
        probs = torch.softmax(seq.run_model(model, self._dataset(inputs, None), self.config.data.batch_size), -1)
        best = probs.argmax(-1).tolist()
        rows = []
        for i, (k, p) in enumerate(zip(best, probs.tolist())):
            row: dict[str, Any] = {"text": texts[i]} if texts is not None else {"index": i}
            row.update(label=self.labels[k], probability=p[k])  # type: ignore[index]
            row.update({f"p_{name}": v for name, v in zip(self.labels, p)})  # type: ignore[arg-type]
            rows.append(row)
        return rows


def _as_split(part: Any) -> _Split | None:
    """A source's TextExamples / ArrayExamples as a _Split."""
    if part is None:
        return None
    return _Split(part.texts, part.labels) if hasattr(part, "texts") else _Split(part.x, part.y)
