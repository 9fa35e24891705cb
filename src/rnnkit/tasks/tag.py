"""Task ``tag``: one tag per token (NER, POS) with :class:`~rnnkit.models.SequenceTagger`.

Data: CoNLL column files or CoNLL-U (token and tag columns configurable), or the
built-in CoNLL-2003 (``data.dataset = "conll2003"``; ``data.path`` is then where it lives,
as for every built-in dataset). The word vocabulary (optionally lowercased; rare words → unk), the character
vocabulary (with ``data.char_features``) and the tag set are fitted on the training
part only and saved in the run directory.

Batches: a sentence's inputs are its word ids (T,), or with character features a
(T, 1 + W) array — word id, then the ids of its first W characters padded with 0 —
so one vectorised gather pads words and characters together.

Loss: masked token cross-entropy, or the CRF negative log-likelihood (``model.crf``).
Metrics: token accuracy (argmax of the emissions while training, the decoded tags
in evaluation) and, when the tags look like BIO/IOB2/IOBES, entity-level
precision/recall/F1 (conlleval), computed in evaluation only.

Predict: one sentence of whitespace-separated tokens per input line (blank lines
are skipped), or a ``.conll``/``.conllu`` file; one row per sentence with its
line number, tokens and predicted tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from rnnkit.data import SequenceDataset, Vocab
from rnnkit.data.sources import TaggedSentences, load_conll2003, read_conll
from rnnkit.data.sources.containers import encode_labels
from rnnkit.errors import ConfigError
from rnnkit.models import SequenceTagger, SequenceTaggerConfig
from rnnkit.tasks._tokens import (WhenFed, check_fraction, input_lines, load_vocab, loader, save_vocab, unwrap,
                                  validation_split)
from rnnkit.tasks.base import PreparedData, Task
from rnnkit.tasks.registry import register
from rnnkit.train import Accuracy, EntityF1, RunDir, StepResult, TrainConfig

WORDS_FILE = "vocab.json"
CHARS_FILE = "vocab_chars.json"
TAGS_FILE = "tags.json"
SETTINGS_FILE = "tokenizer.json"

# B-PER, I-LOC, E-MISC, S-ORG (and U- / L- of BILOU); "O" outside
_CHUNK_TAG = re.compile(r"^[BIESUL]-.+$")


@dataclass
class TagData:
    path: Optional[str] = None  # your training file; with data.dataset: where that dataset lives (None: find it)
    val_path: Optional[str] = None  # else val_fraction of the training sentences
    test_path: Optional[str] = None
    dataset: Optional[Literal["conll2003"]] = None  # a built-in dataset instead of your own file
    format: Literal["auto", "conll", "conllu"] = "auto"  # auto: CoNLL-U for *.conllu
    token_column: Union[int, str, None] = None  # None: 0 (CoNLL) / "form" (CoNLL-U)
    tag_column: Union[int, str, None] = None  # None: -1 (CoNLL) / "upos" (CoNLL-U)
    lowercase: bool = False  # lowercase words for the word vocabulary (characters keep case)
    min_freq: int = 1  # rarer training words become unk
    unk_dropout: float = 0.0  # training only: each word id becomes unk with this probability (see TagObjective)
    max_vocab: Optional[int] = None  # largest word vocabulary, specials included
    char_features: bool = False  # feed each word's characters (model.char_encoder, char_* sizes)
    max_word_len: int = 20  # characters per word seen by character features
    val_fraction: float = 0.1
    split_seed: int = 0
    batch_size: int = 32

    def __post_init__(self) -> None:
        check_fraction(self.val_fraction, "data.val_fraction")
        check_fraction(self.unk_dropout, "data.unk_dropout")
        for name in ("min_freq", "max_word_len", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"data.{name} must be >= 1; got {getattr(self, name)}")


@dataclass
class TagConfig:
    task: str = "tag"
    data: TagData = field(default_factory=TagData)
    model: SequenceTaggerConfig = field(default_factory=SequenceTaggerConfig)  # sizes come from the data
    train: TrainConfig = field(default_factory=TrainConfig)


def looks_like_chunks(tags: Sequence[str]) -> bool:
    """True when every tag is ``O`` or prefix-type (``B-PER``) and some are not ``O``."""
    return any(t != "O" for t in tags) and all(t == "O" or _CHUNK_TAG.match(t) for t in tags)


class TagObjective:
    """Per-token loss of the tagger (CE or CRF), token accuracy and entity F1.

    ``unk_dropout``: while training, each real word id becomes ``unk_id`` with this
    probability (word dropout, as Lample et al. 2016 do for singletons), so the unk
    embedding is trained on real contexts and the tagger learns to read unseen words —
    most test entities are unseen — from their characters and context.
    """

    def __init__(self, tags: Sequence[str], entity_f1: bool, unk_dropout: float = 0.0,
                 unk_id: int | None = None) -> None:
        if unk_dropout and unk_id is None:
            raise ConfigError(f"data.unk_dropout={unk_dropout} needs a vocabulary with an unk token; it has none")
        self.tags = list(tags)
        self.entity_f1 = entity_f1
        self.unk_dropout, self.unk_id = unk_dropout, unk_id

    def metrics(self) -> dict[str, Any]:
        m: dict[str, Any] = {"accuracy": Accuracy()}
        if self.entity_f1:
            m["entities"] = WhenFed(EntityF1(self.tags))
        return m

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        words, chars = split_inputs(batch.inputs)
        tagger = unwrap(model)
        real = torch.arange(words.shape[1], device=words.device) < batch.lengths.unsqueeze(1)  # (B, T)
        if tagger.training and self.unk_dropout:
            drop = (torch.rand(words.shape, device=words.device) < self.unk_dropout) & real
            words = words.masked_fill(drop, self.unk_id)
        emissions = model(words, batch.lengths, chars)  # (B, T, C)
        loss = tagger.loss(emissions, batch.targets, batch.lengths)
        if tagger.training:  # the cheap proxy; Viterbi only when evaluating
            pred = emissions.detach().argmax(-1)
        else:
            pred = tagger.decode(emissions, batch.lengths)
        updates: dict[str, tuple] = {"accuracy": (pred, batch.targets.masked_fill(~real, -100))}
        if self.entity_f1 and not tagger.training:
            updates["entities"] = (pred, batch.targets, batch.lengths)
        return StepResult(loss, real.sum(), updates)


def split_inputs(inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Word ids (B, T) and character ids (B, T, W') — W' trimmed to the longest word of the
    batch — from a batch's (B, T) or (B, T, 1 + W) inputs."""
    if inputs.dim() == 2:
        return inputs, None
    chars = inputs[..., 1:]
    width = max(int((chars != 0).sum(-1).max()), 1)
    return inputs[..., 0], chars[..., :width]


@register
class TagTask(Task):
    name = "tag"
    description = "sequence tagging (NER, POS) of CoNLL / CoNLL-U files with a BiLSTM(-CRF) tagger"
    Config = TagConfig

    def __init__(self, config: TagConfig) -> None:
        super().__init__(config)
        self.words: Vocab | None = None
        self.chars: Vocab | None = None
        self.tags: list[str] = []
        self.lowercase = config.data.lowercase
        self.max_word_len = config.data.max_word_len

    # ------------------------------------------------------------- reading and encoding
    def _conll_options(self) -> dict[str, Any]:
        d = self.config.data
        return dict(token_column=d.token_column, tag_column=d.tag_column,
                    conllu={"auto": None, "conll": False, "conllu": True}[d.format])

    def _read_splits(self) -> dict[str, tuple[str, TaggedSentences] | None]:
        """Each split as (where, sentences with string tags); val/test may be None."""
        d = self.config.data
        if d.path is None and d.dataset is None:
            raise ConfigError('data.path is required (a CoNLL or CoNLL-U file: --data PATH) '
                              'unless data.dataset = "conll2003"')
        splits: dict[str, tuple[str, TaggedSentences] | None] = {"train": None, "val": None, "test": None}
        if d.dataset is not None:  # the built-in CoNLL-2003 (data.path: where it lives), tag ids back to names
            data = load_conll2003(d.path)
            for name in splits:
                s = getattr(data, name)
                splits[name] = (f"conll2003 {name}", TaggedSentences(
                    s.tokens, [[data.tags[i] for i in ids.tolist()] for ids in s.tags], s.lines))
        else:
            splits["train"] = (d.path, read_conll(d.path, **self._conll_options()))
        for name, path in (("val", d.val_path), ("test", d.test_path)):
            if path:
                splits[name] = (path, read_conll(path, **self._conll_options()))
        return splits

    def _encode_tags(self, where: str | Path, s: TaggedSentences) -> TaggedSentences:
        """Tag ids under the run's tag set; an unseen tag is a DataError naming file and line."""
        flat = [t for tags in s.tags for t in tags]
        lines = [start + i for start, tags in zip(s.lines, s.tags) for i in range(len(tags))]
        ids = encode_labels(flat, self.tags, path=where, lines=lines, what="tag")
        return TaggedSentences(s.tokens, np.split(ids, np.cumsum([len(t) for t in s.tags])[:-1]), s.lines)

    def _encode_words(self, tokens: Sequence[str]) -> np.ndarray:
        """(T,) word ids, or (T, 1 + W) word and character ids with character features."""
        words = self.words.encode([t.lower() for t in tokens] if self.lowercase else tokens)
        if self.chars is None:
            return words
        W = self.max_word_len
        out = np.zeros((len(tokens), 1 + W), dtype=np.int64)
        out[:, 0] = words
        for i, tok in enumerate(tokens):
            ids = self.chars.encode(list(tok[:W]))
            out[i, 1 : 1 + len(ids)] = ids
        return out

    def _dataset(self, sentences: TaggedSentences) -> SequenceDataset:
        return SequenceDataset([self._encode_words(s) for s in sentences.tokens], list(sentences.tags))

    def _fit(self, train: TaggedSentences, tags: list[str], run_dir: RunDir | None) -> None:
        d = self.config.data
        words = [[t.lower() for t in s] for s in train.tokens] if d.lowercase else train.tokens
        self.words = Vocab.build(words, min_freq=d.min_freq, max_size=d.max_vocab, bos=None, eos=None)
        self.chars = (Vocab.build((list(t) for s in train.tokens for t in s), bos=None, eos=None)
                      if self.config.data.char_features else None)
        self.tags = tags
        if run_dir is not None:
            save_vocab(run_dir, WORDS_FILE, self.words)
            if self.chars is not None:
                save_vocab(run_dir, CHARS_FILE, self.chars)
            run_dir.save_json(TAGS_FILE, {"tags": self.tags})
            run_dir.save_json(SETTINGS_FILE, {"lowercase": self.lowercase, "max_word_len": self.max_word_len})

    # ------------------------------------------------------------- the Task contract
    def prepare(self, run_dir: RunDir | None) -> PreparedData:
        d = self.config.data
        splits = self._read_splits()
        where, train = splits["train"]  # type: ignore[misc]
        val = splits["val"]
        if val is None and d.val_fraction > 0 and len(train) > 1:
            keep, held = validation_split(len(train), d.val_fraction, d.split_seed)
            train, val = _subset(train, keep), (where, _subset(train, held))
        if self.words is None:  # fit on the training part; the tag set is the training file's
            self._fit(train, sorted({t for tags in splits["train"][1].tags for t in tags}), run_dir)  # type: ignore[index]
        seed, bs = self.config.train.seed, d.batch_size
        encoded = {name: None if item is None else self._encode_tags(*item)
                   for name, item in (("train", (where, train)), ("val", val), ("test", splits["test"]))}
        batches = {name: None if s is None else loader(self._dataset(s), bs, shuffle=name == "train", seed=seed)
                   for name, s in encoded.items()}
        info = {"data": d.path or d.dataset, "words": len(self.words),
                "characters": len(self.chars) if self.chars is not None else "none", "tags": len(self.tags),
                "entity F1": looks_like_chunks(self.tags)}
        names = {"train": "train", "val": "validation", "test": "test"}
        info.update({f"{names[k]} sentences": len(s) for k, s in encoded.items() if s is not None})
        return PreparedData(batches["train"], batches["val"], batches["test"], info)

    def load_artifacts(self, run_dir: RunDir) -> None:
        self.words = load_vocab(run_dir, WORDS_FILE)
        self.chars = load_vocab(run_dir, CHARS_FILE) if self.config.data.char_features else None
        self.tags = list(run_dir.load_json(TAGS_FILE)["tags"])
        settings = run_dir.load_json(SETTINGS_FILE)
        self.lowercase, self.max_word_len = bool(settings["lowercase"]), int(settings["max_word_len"])

    def build_model(self) -> SequenceTagger:
        if self.words is None:
            raise ConfigError("the vocabularies are not known yet: call prepare() or load_artifacts() first")
        return SequenceTagger(replace(self.config.model, vocab_size=len(self.words), input_size=None,
                                      num_tags=len(self.tags),
                                      char_vocab_size=len(self.chars) if self.chars is not None else None))

    def objective(self) -> TagObjective:
        return TagObjective(self.tags, looks_like_chunks(self.tags), self.config.data.unk_dropout,
                            self.words.unk_id if self.words is not None else None)

    def evaluation_data(self, path: str | Path) -> Any:
        sentences = self._encode_tags(path, read_conll(path, **self._conll_options()))
        return loader(self._dataset(sentences), self.config.data.batch_size, shuffle=False)

    def predict(self, model: nn.Module, source: str | Path | list[str]) -> list[dict[str, Any]]:
        """One row per sentence: ``{"line", "tokens", "tags"}``, in input order."""
        if isinstance(source, (str, Path)) and Path(source).suffix.lower() in (".conll", ".conllu"):
            s = read_conll(source, **self._conll_options())
            numbered = list(zip(s.lines, s.tokens))
        else:
            numbered = [(n, line.split()) for n, line in input_lines(source)]
        dataset = SequenceDataset([self._encode_words(tokens) for _, tokens in numbered])
        device = next(model.parameters()).device
        tagged: list[list[str]] = [[] for _ in numbered]
        model.eval()
        with torch.no_grad():
            for batch in loader(dataset, self.config.data.batch_size, shuffle=False):
                batch = batch.to(device)
                words, chars = split_inputs(batch.inputs)
                pred = model.predict(words, batch.lengths, chars).cpu().tolist()
                for i, row, n in zip(batch.indices.tolist(), pred, batch.lengths.tolist()):
                    tagged[i] = [self.tags[t] for t in row[:n]]
        return [{"line": n, "tokens": tokens, "tags": tags} for (n, tokens), tags in zip(numbered, tagged)]


def _subset(s: TaggedSentences, idx: np.ndarray) -> TaggedSentences:
    return TaggedSentences([s.tokens[i] for i in idx], [s.tags[i] for i in idx], [s.lines[i] for i in idx])

