"""Task ``generate``: one-to-many — a label or a feature vector in, a text out.

A :class:`rnnkit.models.ConditionalGenerator` (``[model] kind = "rnn"``) or
:class:`rnnkit.models.TransformerGenerator` (``kind = "transformer"``: the causal decoder-only
transformer, the condition as a token before the text and/or added to every token's input)
learns to write the text of each row of a
CSV/TSV/JSONL table (``data.text_column``) given its condition: a label
(``data.condition_column``, e.g. a review's sentiment) or, with
``data.condition_columns``, a vector of numbers. The built-in ``data.dataset = "imdb"``
gives IMDB reviews conditioned on their sentiment.

Each text becomes ``<bos> tokens[:max_len]`` (char or word level), followed by ``<eos>``
when the text ends there; the model is trained by teacher forcing on the token
cross-entropy, weighted by tokens, every example independent of the others. ``evaluate``
reports the mean NLL per token (with perplexity and bits per token) over a whole split —
exactly the token-weighted mean of the ``predict`` rows, which give each row's NLL of
its text given its condition. :meth:`GenerateTask.generate` writes a text for a
condition, with optional contrastive guidance away from another one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from rnnkit.data import SequenceDataset, Vocab, get_tokenizer
from rnnkit.data.sources import load_imdb, read_table
from rnnkit.data.sources.containers import encode_labels, label_names
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models import (ConditionalGenerator, ConditionalGeneratorConfig, TransformerGenerator,
                           TransformerGeneratorConfig)
from rnnkit.tasks.base import DataSection, Examples, Task, TaskConfig
from rnnkit.tasks.lm import LMArtifacts, LMGenerate, TokenObjective, row_scores, score_row, text_artifacts, token_nll
from rnnkit.tasks.registry import register

__all__ = ["GenerateData", "GenerateDefaults", "GenerateConfig", "GenerateArtifacts", "GenerateTask"]


@dataclass
class GenerateData(DataSection):
    """A table with a text column and a condition: one label column, or numeric
    ``condition_columns`` (then the condition is their vector)."""

    dataset: Optional[Literal["imdb"]] = None  # built-in; data.path then says where it lives
    format: Optional[Literal["csv", "tsv", "jsonl"]] = None  # None: from the file name
    # the column holding the text to write
    text_column: str = "text"
    # the label column the text is written from
    condition_column: str = "label"
    condition_columns: list[str] = field(default_factory=list)  # numeric columns: a vector condition
    # text tokens: "word" or "char"
    level: Literal["char", "word"] = "word"
    # lowercase text before tokenizing
    lower: bool = True
    # tokens seen fewer times in training become <unk>
    min_freq: int = 1
    max_size: Optional[int] = None  # the vocabulary's size, specials included
    max_len: Optional[int] = None  # tokens of each text the model learns (its opening)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("min_freq", "max_len")
        if self.max_size is not None and self.max_size < 5:
            raise ConfigError(f"data.max_size must be >= 5 (the 4 special tokens and one more) or none; "
                              f"got {self.max_size}")
        if self.dataset is not None and self.condition_columns:
            raise ConfigError(f"data.condition_columns does not apply to data.dataset={self.dataset!r} "
                              "(its condition is the label)")


@dataclass
class GenerateDefaults(LMGenerate):
    """Defaults of :meth:`GenerateTask.generate`: the language model's, and the condition.
    ``condition``/``away_from``: a label, or numbers ``"0.5,1,-2"`` for a vector
    condition; ``condition`` None is the first label."""

    # text the generated text starts from
    prime: str = ""
    # tokens to generate
    length: int = 40
    # the condition: a label, or numbers "0.5,1,-2" for a vector (none: the first label)
    condition: Optional[str] = None
    guidance: float = 0.0  # contrastive guidance away from away_from (0: none)
    away_from: Optional[str] = None  # None with two labels: the other one

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.guidance >= 0:
            raise ConfigError(f"generate.guidance must be >= 0; got {self.guidance}")


@dataclass
class GenerateConfig(TaskConfig):
    task: str = "generate"
    data: GenerateData = field(default_factory=GenerateData)
    model: Union[ConditionalGeneratorConfig, TransformerGeneratorConfig] = field(
        default_factory=ConditionalGeneratorConfig)
    generate: GenerateDefaults = field(default_factory=GenerateDefaults)


@dataclass
class GenerateArtifacts(LMArtifacts):
    """The language model's artifacts and the conditions: label names, or the vector's columns."""

    labels: Optional[list[str]] = None
    columns: Optional[list[str]] = None

    @property
    def condition_size(self) -> int:
        return len(self.labels) if self.labels is not None else len(self.columns or ())

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        return {**out, "labels": self.labels} if self.labels is not None else {**out, "columns": self.columns}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> GenerateArtifacts:
        names = [k for k in ("labels", "columns") if k in raw]
        if len(names) != 1:
            raise CheckpointError(f"{where}: the artifacts need exactly one of 'labels' (label conditions) or "
                                  f"'columns' (vector conditions); got keys {sorted(raw)}")
        value = raw[names[0]]
        if not isinstance(value, list) or not value or not all(isinstance(x, str) for x in value):
            raise CheckpointError(f"{where}: artifacts key {names[0]!r} must be a non-empty list of names; "
                                  f"got {str(value)[:80]}")
        return cls(*text_artifacts(raw, where), **{names[0]: value})


@dataclass(frozen=True)
class ConditionedBatch:
    """A padded batch of texts (``inputs``/``targets`` (B, T), ``lengths`` (B,)) and the
    condition of each: labels (B,) or vectors (B, D)."""

    inputs: torch.Tensor
    lengths: torch.Tensor
    targets: torch.Tensor
    condition: torch.Tensor
    indices: torch.Tensor

    def to(self, device: torch.device | str, non_blocking: bool = False) -> ConditionedBatch:
        return ConditionedBatch(*(getattr(self, f.name).to(device, non_blocking=non_blocking) for f in fields(self)))

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


class ConditionedDataset:
    """A :class:`SequenceDataset` of token sequences and one condition per example."""

    def __init__(self, sequences: SequenceDataset, condition: torch.Tensor) -> None:
        self.sequences, self.condition = sequences, condition

    @property
    def lengths(self) -> np.ndarray:
        return self.sequences.lengths

    def __len__(self) -> int:
        return len(self.sequences)

    def __getitem__(self, i: int) -> ConditionedBatch:
        return self.__getitems__([i])

    def __getitems__(self, indices: Sequence[int]) -> ConditionedBatch:
        b = self.sequences.batch(indices)
        return ConditionedBatch(b.inputs, b.lengths, b.targets, self.condition[b.indices], b.indices)


@register
class GenerateTask(Task):
    name = "generate"
    description = "one-to-many: a text written from a label or a feature vector (conditional language model)"
    Config = GenerateConfig
    trains_with_val = True
    artifacts_type = GenerateArtifacts
    builtin_datasets = ("imdb",)

    def __init__(self, config: GenerateConfig) -> None:
        super().__init__(config)
        self._imdb: Any = None

    # ------------------------------------------------------------- reading
    @property
    def vector(self) -> bool:
        return bool(self.config.data.condition_columns)

    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        """Texts and their conditions: predict needs the condition too, so ``labelled`` changes nothing."""
        d = self.config.data
        conds = d.condition_columns or [d.condition_column]
        table = read_table(source, [d.text_column, *conds], format=d.format)
        texts = table.columns[d.text_column]
        if not self.vector:
            return Examples(texts, table.columns[d.condition_column], str(table.path), table.lines)
        values = np.zeros((len(texts), len(conds)), dtype=np.float32)
        for j, name in enumerate(conds):
            for i, (v, line) in enumerate(zip(table.columns[name], table.lines)):
                try:
                    values[i, j] = float(v)
                except ValueError:
                    raise DataError(f"{table.path}: line {line}: column {name!r} must be a number; got {v!r}") from None
        return Examples(texts, values, str(table.path), table.lines)

    def read_builtin(self, split: str) -> Examples | None:
        if self._imdb is None:
            self._imdb = load_imdb(self.config.data.path)
        part = {"train": self._imdb.train, "test": self._imdb.test}.get(split)
        if part is None:
            return None
        return Examples(part.texts, [self._imdb.labels[k] for k in part.labels.tolist()], f"imdb {split}")

    def from_memory(self, data: Any, targets: Any = None) -> Examples:
        if not isinstance(data, (list, tuple)) or not all(isinstance(s, str) for s in data):
            raise DataError(f"a generate task takes a list of texts and their conditions; got {type(data).__name__}")
        if targets is None or len(targets) != len(data):
            raise DataError(f"a generate task needs one condition per text: {len(data)} texts, "
                            f"{'no' if targets is None else len(targets)} conditions")
        conds = np.asarray(targets, dtype=np.float32) if self.vector else [str(t) for t in targets]
        return Examples(list(data), conds, "input")

    # ------------------------------------------------------------- fitting and encoding
    def _tokens(self, texts: Sequence[str], level: str, lower: bool) -> list[list[str]]:
        tok = get_tokenizer(level, lower=lower) if level == "word" else get_tokenizer("char", lower=lower)
        cut = self.config.data.max_len
        return [tok(t)[: None if cut is None else cut + 1] for t in texts]  # one past max_len: did it end?

    def fit(self, train: Examples) -> GenerateArtifacts:
        d = self.config.data
        tokens = self._tokens(train.inputs, d.level, d.lower)
        vocab = Vocab.build((t[: d.max_len] for t in tokens), min_freq=d.min_freq, max_size=d.max_size)
        if self.vector:
            return GenerateArtifacts(vocab, d.level, d.lower, columns=list(d.condition_columns))
        return GenerateArtifacts(vocab, d.level, d.lower, labels=label_names(list(train.targets)))

    def encode(self, examples: Examples) -> ConditionedDataset:
        a, cut = self.artifacts, self.config.data.max_len
        rows = [a.vocab.encode(t[:cut], add_bos=True, add_eos=cut is None or len(t) <= cut)
                for t in self._tokens(examples.inputs, a.level, a.lower)]
        return ConditionedDataset(SequenceDataset([r[:-1] for r in rows], [r[1:] for r in rows]),
                                  self._conditions(examples))

    def _conditions(self, examples: Examples) -> torch.Tensor:
        a = self.artifacts
        if examples.targets is None:
            raise DataError(f"{examples.where}: every text needs its condition")
        if a.labels is not None:
            ids = encode_labels([str(x) for x in examples.targets], a.labels, path=examples.where,
                                lines=examples.lines, what="condition")
            return torch.from_numpy(ids)
        values = np.asarray(examples.targets, dtype=np.float32)
        if values.shape != (len(examples), a.condition_size):
            raise DataError(f"{examples.where}: conditions must have shape ({len(examples)}, {a.condition_size}) "
                            f"for columns {a.columns}; got {values.shape}")
        return torch.from_numpy(values)

    def info(self) -> dict[str, Any]:
        a = self.artifacts
        return {"level": a.level, "vocabulary": len(a.vocab),
                "conditions": ", ".join(a.labels) if a.labels is not None else f"vector of {a.columns}"}

    # ------------------------------------------------------------- model
    def build_model(self) -> ConditionalGenerator | TransformerGenerator:
        a = self.artifacts
        m = self.config.model.replace(
            vocab_size=len(a.vocab), condition="label" if a.labels is not None else "vector",
            condition_size=a.condition_size, bos_id=a.vocab.bos_id)
        return TransformerGenerator(m) if isinstance(m, TransformerGeneratorConfig) else ConditionalGenerator(m)

    def objective(self, *, final: bool = True) -> TokenObjective:
        return TokenObjective(condition=True)

    # ------------------------------------------------------------- prediction
    def predict_batch(self, model: nn.Module, batch: ConditionedBatch) -> list[tuple[float, int]]:
        nll, n, _ = token_nll(model, batch, batch.condition)
        return row_scores(nll, n)

    def format_row(self, examples: Examples, i: int, output: tuple[float, int]) -> dict[str, Any]:
        """The text, its condition, its NLL per token given the condition (nats), perplexity,
        bits per token and the number of tokens scored (``<eos>`` included)."""
        cond = examples.targets[i]
        cond = [float(x) for x in cond] if self.vector else cond
        return {"text": examples.inputs[i], "condition": cond, **score_row(*output)}

    # ------------------------------------------------------------- generation
    def condition_tensor(self, condition: Any, what: str = "condition") -> torch.Tensor:
        """(1,) label id or (1, D) vector of a label name / numbers (a list or ``"0.5,1"``)."""
        a = self.artifacts
        if a.labels is not None:
            if str(condition) not in a.labels:
                raise DataError(f"{what} {condition!r} is not one of the training labels {a.labels}")
            return torch.tensor([a.labels.index(str(condition))])
        try:
            values = [float(x) for x in (condition.split(",") if isinstance(condition, str) else condition)]
        except (TypeError, ValueError):
            raise DataError(f"{what} must be {len(a.columns or ())} numbers for columns {a.columns}; "
                            f"got {condition!r}") from None
        if len(values) != a.condition_size:
            raise DataError(f"{what} must be {a.condition_size} numbers for columns {a.columns}; got {len(values)}")
        return torch.tensor([values], dtype=torch.float32)

    def generate(self, model: ConditionalGenerator | TransformerGenerator, condition: Any = None, prime: str | None = None,
                 length: int | None = None, temperature: float | None = None, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None, guidance: float | None = None,
                 away_from: Any = None, on_text: Callable[[str], None] | None = None) -> str:
        """A text written for ``condition`` (a label, or numbers for a vector condition),
        after ``prime``; ``guidance`` > 0 steers away from ``away_from`` (by default, with two
        labels, the other one). Unset arguments come from ``[generate]``."""
        g, a = self.config.generate, self.artifacts
        condition = g.condition if condition is None else condition
        if condition is None:
            if a.labels is None:
                raise DataError(f"a vector condition is needed: {a.condition_size} numbers for columns {a.columns}")
            condition = a.labels[0]
        guidance = g.guidance if guidance is None else guidance
        away_from = g.away_from if away_from is None else away_from
        if guidance and away_from is None:
            if a.labels is None or len(a.labels) != 2:
                raise ConfigError(f"guidance={guidance} needs away_from, the condition to steer away from")
            away_from = next(x for x in a.labels if x != str(condition))
        device = next(model.parameters()).device
        cond = self.condition_tensor(condition).to(device)
        away = self.condition_tensor(away_from, "away_from").to(device) if guidance else None
        prime = g.prime if prime is None else prime
        tokens = self._tokens([prime], a.level, a.lower)[0] if prime else []
        prime_ids = torch.as_tensor(a.vocab.encode(tokens, add_bos=True), device=device).unsqueeze(0)
        sep = "" if a.level == "char" else " "
        written, ended = [bool(tokens)], [False]  # text written so far (a word then needs a space); eos seen

        def stream(tok: torch.Tensor) -> None:  # the text piece by piece: equal to the joined result
            assert on_text is not None
            i = int(tok[0])
            ended[0] = ended[0] or i == a.vocab.eos_id  # the text ends at eos, as decode() ends it
            words = [] if ended[0] else a.vocab.decode([i])  # pad/bos are dropped
            if words:
                on_text((sep if written[0] else "") + words[0])
                written[0] = True

        if on_text is not None and tokens:
            on_text(sep.join(tokens))
        new = model.generate(cond, g.length if length is None else length, prime_ids,
                             temperature=g.temperature if temperature is None else temperature,
                             top_k=g.top_k if top_k is None else top_k, top_p=g.top_p if top_p is None else top_p,
                             seed=g.seed if seed is None else seed, guidance=guidance, away_from=away,
                             on_token=None if on_text is None else stream)
        return sep.join(tokens + a.vocab.decode(new[0].tolist()))
