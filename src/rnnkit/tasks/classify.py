"""Task ``classify``: one label per sequence (many-to-one), or the feed-forward baseline.

Inputs, by ``data.format`` (``"auto"``: from the file name, plain or ``.gz``):

* text — CSV / TSV / JSONL with a text column and a label column (names configurable;
  ``split_column`` may say each row's split), tokenized by words or characters; the
  vocabulary is fitted on the training split only. Built-in: ``data.dataset = "imdb"``.
  Unlabelled input for ``predict`` may also be plain text, one example per line.
* numbers — ``.npz`` (``X`` N×T×D, ``y`` N, optional ``lengths`` N), UCR-style TSV (label,
  then the values: univariate), sktime/UEA ``.ts`` or long-format CSV (``id, time,
  features..., label``), variable lengths kept (rnnkit.data.sources.sequences); features
  scaled by a scaler fitted on the training split (``data.scale``); gaps per ``data.missing``.
  Built-in: ``data.dataset = "mnist"`` (28 rows × 28 pixels). From Python also an
  (N, T, D) array or a list of variable-length (T_i, D) arrays.

``data.format = "auto"`` detects the format from the name and the first line
(rnnkit.data.sources.detect; docs/data-formats.md) and says what it tried when nothing
fits. Metrics: accuracy and macro-F1. Predict rows: the label, its
probability and every class probability.
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
from rnnkit.data.sources import load_imdb, load_mnist, read_table
from rnnkit.data.sources.containers import encode_labels, label_names
from rnnkit.data.sources.detect import detect_input_format
from rnnkit.data.sources.sequences import NUMERIC_FORMATS, read_sequences
from rnnkit.data.sources.textclass import _SPLIT_NAMES
from rnnkit.errors import CheckpointError, DataError
from rnnkit.models.sequence_classifier import SequenceClassifierConfig
from rnnkit.tasks import _pretrained
from rnnkit.tasks import _sequences as seq
from rnnkit.tasks.base import Artifacts, DataSection, Examples, Task, TaskConfig
from rnnkit.tasks.registry import register

TEXT_FORMATS = ("csv", "tsv", "jsonl")


@dataclass
class ClassifyData(DataSection):
    dataset: Optional[Literal["imdb", "mnist"]] = None  # a built-in dataset instead of a file
    # the input format: "auto" (from the name and first line; docs/data-formats.md), text tables csv / tsv / jsonl,
    # numbers npz / ucr (univariate TSV) / ts (sktime .ts) / long-csv (one row per step: id, time, features, label)
    format: Literal["auto", "csv", "tsv", "jsonl", "npz", "ucr", "ts", "long-csv"] = "auto"
    # text tables: the column holding the text
    text_column: str = "text"
    # the column holding the label
    label_column: str = "label"
    split_column: Optional[str] = None  # a column saying train / val / test per row
    # text tokens: "word" or "char"
    tokens: Literal["word", "char"] = "word"
    # lowercase text before tokenizing
    lower: bool = True
    # tokens seen fewer times in training become <unk>
    min_freq: int = 1
    max_vocab: Optional[int] = 20000  # specials included
    max_len: Optional[int] = None  # keep the last max_len tokens of longer texts
    # text only: feed each token's integer id as one float feature per step (B, T, 1) instead of
    # through an embedding -- the classic mistake the imdb-int recipe reproduces (ids are not magnitudes)
    ids_as_features: bool = False
    scale: Literal["standard", "minmax", "none"] = "standard"  # numeric features
    id_column: str = "auto"  # long-csv: the sequence id column ("auto": the one named id, series_id, sample_id, ...)
    time_column: str = "auto"  # long-csv: orders the rows of an id ("auto": time, t, step, date, ...; "none": file order)
    feature_columns: Optional[list[str]] = None  # long-csv: the inputs (default every column but id, time, label)
    missing: Literal["error", "interpolate"] = "error"  # numeric gaps (?, NaN, empty): refuse, or fill linearly

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("min_freq", "max_vocab", "max_len")


@dataclass
class ClassifyConfig(TaskConfig):
    task: str = "classify"
    data: ClassifyData = field(default_factory=ClassifyData)
    model: seq.ClassifierModel = field(default_factory=seq.SequenceClassifierConfig)


@dataclass
class ClassifyArtifacts(Artifacts):
    """Class names and, per input kind, the vocabulary and tokenizer (text) or the scaler
    and the input width (numbers; ``steps`` = T when every training sequence has it)."""

    labels: list[str]
    kind: str  # "text" | "numeric"
    vocab: Optional[Vocab] = None
    tokenizer: Any = None
    scaler: Optional[seq.Scaler] = None
    features: Optional[int] = None
    steps: Optional[int] = None

    def to_dict(self) -> dict[str, Any]:
        return {"labels": self.labels, "kind": self.kind,
                "vocab": self.vocab.to_dict() if self.vocab is not None else None,
                "tokenizer": self.tokenizer.to_dict() if self.tokenizer is not None else None,
                "scaler": seq.scaler_to_dict(self.scaler), "features": self.features, "steps": self.steps}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> ClassifyArtifacts:
        labels, kind = seq.field(raw, "labels", list, where), seq.field(raw, "kind", str, where)
        if kind not in ("text", "numeric"):
            raise CheckpointError(f"{where}: 'kind' must be 'text' or 'numeric'; got {kind!r}")
        if kind == "text":
            return cls([str(x) for x in labels], kind, Vocab.from_dict(seq.field(raw, "vocab", dict, where), source=where),
                       tokenizer_from_dict(seq.field(raw, "tokenizer", dict, where)))
        steps = raw.get("steps")
        return cls([str(x) for x in labels], kind, scaler=seq.scaler_from(raw.get("scaler"), where),
                   features=seq.field(raw, "features", int, where), steps=steps if isinstance(steps, int) else None)


def file_format(path: str | Path, d: ClassifyData, *, lines_ok: bool = False) -> str:
    """``csv``/``tsv``/``jsonl`` (text), ``npz``/``ucr``/``ts``/``long-csv`` (numbers) or ``lines``
    (plain text, with ``lines_ok``): ``data.format``, or detected (rnnkit.data.sources.detect)."""
    if d.format != "auto":
        return d.format
    return detect_input_format(path, (*TEXT_FORMATS, *NUMERIC_FORMATS), text_column=d.text_column,
                               id_column=d.id_column, lines_ok=lines_ok)


@register
class ClassifyTask(Task):
    name = "classify"
    description = "sequence classification: text (CSV/TSV/JSONL, IMDB) or numbers (npz, UCR TSV, MNIST rows)"
    Config = ClassifyConfig
    trains_with_val = True
    artifacts_type = ClassifyArtifacts
    builtin_datasets = ("imdb", "mnist")
    # the best epoch by validation accuracy, not loss: an overconfident epoch can raise the loss while the
    # accuracy still climbs (imdb, 3,000 reviews: the val_loss pick lost up to 0.11 accuracy; docs/tasks/classify.md)
    monitor = "val_accuracy"

    # ------------------------------------------------------------- reading
    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        d = self.config.data
        fmt = file_format(source, d, lines_ok=not labelled and (not self.fitted or self.artifacts.kind == "text"))
        if fmt in TEXT_FORMATS:
            cols = [d.text_column] + ([d.label_column] if labelled else []) + \
                   ([d.split_column] if labelled and d.split_column else [])
            t = read_table(source, cols, format=fmt)
            split_of = None
            if labelled and d.split_column:
                split_of = [self._split_name(s, source, n) for s, n in zip(t.columns[d.split_column], t.lines)]
            return Examples(t.columns[d.text_column], t.columns[d.label_column] if labelled else None,
                            str(source), t.lines, split_of)
        if fmt == "lines":
            lines = [(n, s) for n, s in enumerate(read_text(source).splitlines(), 1) if s.strip()]
            if not lines:
                raise DataError(f"{source}: no text to classify (only blank lines)")
            return Examples([s for _, s in lines], None, str(source), [n for n, _ in lines])
        f = read_sequences(source, fmt, target="class", labelled=labelled, label_columns=[d.label_column],
                           id_column=d.id_column, time_column=d.time_column, feature_columns=d.feature_columns,
                           missing=d.missing)
        return Examples(f.inputs, f.targets, str(source), f.lines)

    @staticmethod
    def _split_name(value: str, source: Any, line: int) -> str:
        key = _SPLIT_NAMES.get(value.strip().lower())
        if key is None:
            raise DataError(f"{source}: line {line}: the split column must be one of {sorted(_SPLIT_NAMES)}; "
                            f"got {value!r}")
        return key

    def read_builtin(self, split: str) -> Examples | None:
        d = self.config.data
        if not hasattr(self, "_builtin"):
            self._builtin = load_mnist(d.path) if d.dataset == "mnist" else load_imdb(d.path)
        part = getattr(self._builtin, split)
        if part is None:
            return None
        labels = [self._builtin.labels[i] for i in part.labels.tolist()] if hasattr(part, "texts") else \
                 [self._builtin.labels[i] for i in part.y.tolist()]
        inputs = part.texts if hasattr(part, "texts") else list(part.x)
        return Examples(inputs, labels, f"{d.dataset} {split}")

    def from_memory(self, data: Any, targets: Any = None) -> Examples:
        d = self.config.data
        if hasattr(data, "columns") and hasattr(data, "iloc"):  # a pandas DataFrame, columns as in the config
            missing = [c for c in (d.text_column, d.label_column) if c not in data.columns and
                       (c == d.text_column or targets is None)]
            if missing:
                raise DataError(f"data: the DataFrame has no column {missing[0]!r} (data.text_column / "
                                f"data.label_column); its columns: {list(data.columns)}")
            texts = [str(t) for t in data[d.text_column].tolist()]
            if targets is None and d.label_column in data.columns:
                targets = data[d.label_column].tolist()
            return Examples(texts, None if targets is None else [str(t) for t in targets], "DataFrame")
        if isinstance(data, (list, tuple)) and data and all(isinstance(t, str) for t in data):
            inputs: Any = list(data)
        else:
            inputs = seq.as_sequences(data, "data")
        if targets is not None and len(targets) != len(inputs):
            raise DataError(f"targets must hold one label per example ({len(inputs)}); got {len(targets)}")
        return Examples(inputs, None if targets is None else [str(t) for t in list(targets)], "data")

    # ------------------------------------------------------------- fitting and encoding
    def fit(self, train: Examples) -> ClassifyArtifacts:
        d = self.config.data
        labels = label_names(train.targets)
        if len(labels) < 2:
            raise DataError(f"{train.where}: the training data has a single class ({labels[0]!r}); "
                            f"a classifier needs at least two")
        if _is_text(train):
            tokenizer = get_tokenizer(d.tokens, lower=d.lower)
            self._train_tokens = (train, [tokenizer(t) for t in train.inputs])  # tokenized once for encode()
            vocab = Vocab.build(self._train_tokens[1], min_freq=d.min_freq, max_size=d.max_vocab, bos=None, eos=None)
            self._pretrained = _pretrained.read_for_vocab(self, vocab)  # model.pretrained_embeddings
            return ClassifyArtifacts(labels, "text", vocab, tokenizer)
        return ClassifyArtifacts(labels, "numeric", scaler=seq.fit_scaler(d.scale, train.inputs),
                                 features=int(train.inputs[0].shape[1]), steps=seq.fixed_steps(train.inputs))

    def encode(self, examples: Examples) -> SequenceDataset:
        a, d = self.artifacts, self.config.data
        kind = "text" if _is_text(examples) else "numeric"
        if kind != a.kind:
            raise DataError(f"{examples.where}: {kind} inputs cannot feed a model trained on {a.kind} inputs")
        def labels() -> np.ndarray | None:  # after the input checks: a wrong shape is the first thing to say
            return None if examples.targets is None else encode_labels(examples.targets, a.labels,
                                                                        path=examples.where, lines=examples.lines)

        if kind == "numeric":
            seqs = examples.inputs
            if seqs and seqs[0].shape[1] != a.features:
                raise DataError(f"{examples.where}: sequences must have D = {a.features} features as in training; "
                                f"got {seqs[0].shape[1]}")
            if a.steps is not None and self._needs_fixed_steps() and any(len(s) != a.steps for s in seqs):
                raise DataError(f"{examples.where}: this model reads exactly T = {a.steps} steps; got lengths "
                                f"{sorted({len(s) for s in seqs})[:5]}")
            return SequenceDataset(seq.scale(a.scaler, seqs), labels())
        cached = getattr(self, "_train_tokens", None)
        tokens = cached[1] if cached is not None and cached[0] is examples else [a.tokenizer(t) for t in examples.inputs]
        ids = [a.vocab.encode(t) if t else np.array([a.vocab.unk_id], dtype=np.int64) for t in tokens]
        if d.ids_as_features:
            ids = [x.astype(np.float32)[:, None] for x in ids]  # (T_i, 1): the id as a magnitude
        return SequenceDataset(ids, labels(), maxlen=d.max_len)

    def _needs_fixed_steps(self) -> bool:
        m = self.config.model
        return isinstance(m, seq.FeedForwardConfig) or m.pooling == "flatten"

    def info(self) -> dict[str, Any]:
        a = self.artifacts
        out: dict[str, Any] = {"input": a.kind, "classes": len(a.labels)}
        if a.kind == "text":
            out.update(tokens=self.config.data.tokens, vocabulary=len(a.vocab))
            if getattr(self, "_pretrained", None) is not None:
                out.update(self._pretrained.info())
        else:
            out.update(steps=a.steps if a.steps is not None else "variable", features=a.features)
        m = self.config.model
        if isinstance(m, SequenceClassifierConfig):  # the fields left at none, as the input kind fills them
            text = a.kind == "text" and not self.config.data.ids_as_features
            chosen = m.input_defaults(text)
            if chosen:
                out["model defaults"] = (", ".join(f"{k}={v}" for k, v in chosen.items()) +
                                         f" (left at none: the defaults for {'token' if text else 'feature'} inputs)")
        return out

    # ------------------------------------------------------------- model
    def build_model(self) -> nn.Module:
        a = self.artifacts
        if a.kind == "text" and self.config.data.ids_as_features:
            sizes: dict[str, Any] = {"input_size": 1}
        elif a.kind == "text":
            sizes = {"vocab_size": len(a.vocab)}
        else:
            sizes = {"input_size": a.features, "steps": a.steps}
        model = seq.build_many_to_one(self.config.model, out_size=len(a.labels), **sizes)
        if getattr(self, "_pretrained", None) is not None:  # read when the artifacts were fitted (training)
            _pretrained.apply(model.encoder.embedding, self._pretrained)
        return model

    def objective(self, *, final: bool = True) -> seq.ClassificationObjective:
        return seq.ClassificationObjective(len(self.artifacts.labels))

    # ------------------------------------------------------------- prediction
    def predict_batch(self, model: nn.Module, batch: Any) -> list[Any]:
        return torch.softmax(model(batch.inputs, batch.lengths).float(), -1).cpu().tolist()

    def format_row(self, examples: Examples, i: int, output: Any) -> dict[str, Any]:
        labels = self.artifacts.labels
        k = int(np.argmax(output))
        row: dict[str, Any] = {"text": examples.inputs[i]} if self.artifacts.kind == "text" else {"index": i}
        row.update(label=labels[k], probability=output[k])
        row.update({f"p_{name}": p for name, p in zip(labels, output)})
        return row


def _is_text(examples: Examples) -> bool:
    return bool(examples.inputs) and isinstance(examples.inputs[0], str)
