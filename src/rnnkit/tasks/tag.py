"""Task ``tag``: one tag per token (NER, POS) with :class:`~rnnkit.models.SequenceTagger`.

Read (every split, ``evaluate`` and ``predict`` alike; plain or ``.gz``): CoNLL column
files or CoNLL-U — ``data.format``, else the name (``*.conllu`` → CoNLL-U, ``*.conll`` →
CoNLL), else CoNLL for labelled data and, for ``predict``, plain text with one sentence
of whitespace-separated tokens per line (blank lines skipped). Unlabelled CoNLL input
needs only the token column. Built in: CoNLL-2003 (``data.dataset = "conll2003"``;
``data.path`` is then where it lives). In Python: token lists (or sentences as strings)
and tag lists.

Artifacts (fitted on the training split only): the word vocabulary (optionally
lowercased; rare words → unk), the character vocabulary (``data.char_features``), the
tag set. A tag of a validation/test file missing from the training data is an error
naming file and line.

Batches: a sentence's inputs are its word ids (T,), or with character features a
(T, 1 + W) array — word id, then the ids of its first W characters padded with 0 —
so one vectorised gather pads words and characters together.

Model: ``[model] kind = "rnn"`` (:class:`~rnnkit.models.SequenceTagger`) or ``"transformer"``
(:class:`~rnnkit.models.transformer.TransformerTagger`: the encoder baseline, word ids only — no
character features).

Loss: masked token cross-entropy, or the CRF negative log-likelihood (``model.crf``).
Metrics: token accuracy (argmax of the emissions while training, the Viterbi-decoded
tags in evaluation) and, when the tags look like BIO/IOB2/IOBES, entity-level
precision/recall/F1 (conlleval), computed in evaluation only.

Predict rows: ``{"line", "tokens", "tags"}`` per sentence (``line``: where it starts).
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
from rnnkit.data._files import find_in_folder
from rnnkit.data.sources import read_conll, resolve
from rnnkit.errors import ConfigError, DataError
from rnnkit.models import SequenceTagger, SequenceTaggerConfig
from rnnkit.models.transformer import TransformerTagger, TransformerTaggerConfig
from rnnkit.tag_schemes import SCHEMES, to_iob2, to_iobes
from rnnkit.tasks import _pretrained
from rnnkit.tasks._tokens import MEMORY, WhenFed, artifact_part, memory_items, text_lines, unwrap, vocab_part
from rnnkit.tasks.base import Artifacts, DataSection, Examples, Task, TaskConfig, check_fraction
from rnnkit.tasks.registry import register
from rnnkit.train import Accuracy, EntityF1, StepResult

# B-PER, I-LOC, E-MISC, S-ORG (and U- / L- of BILOU); "O" outside
_CHUNK_TAG = re.compile(r"^[BIESUL]-.+$")
_CONLL2003_FILES = {"train": "train.txt", "val": "valid.txt", "test": "test.txt"}


@dataclass
class TagData(DataSection):
    dataset: Optional[Literal["conll2003"]] = None  # a built-in dataset instead of your own file
    format: Literal["auto", "conll", "conllu"] = "auto"  # auto: by name (*.conllu, *.conll), see the module doc
    token_column: Union[int, str, None] = None  # None: 0 (CoNLL) / "form" (CoNLL-U)
    tag_column: Union[int, str, None] = None  # None: -1 (CoNLL) / "upos" (CoNLL-U)
    lowercase: bool = False  # lowercase words for the word vocabulary (characters keep case)
    min_freq: int = 1  # rarer training words become unk
    # training only: each word id becomes unk with this probability (see TagObjective), so the
    # model learns to tag words it has not seen from their context and characters
    unk_dropout: float = 0.15
    max_vocab: Optional[int] = None  # largest word vocabulary, specials included
    # feed each word's characters (model.char_encoder, char_* sizes); none: on for the RNN tagger,
    # off for model.kind = "transformer" (it reads word ids only)
    char_features: Optional[bool] = None
    max_word_len: int = 20  # characters per word seen by character features
    # chunk tags (B-PER, I-PER, O): "file" learns them as the file writes them; "iobes" learns them as IOBES
    # (S- for a one-word entity, E- for the last word of a longer one) and writes predictions back as IOB2
    tag_scheme: Literal["file", "iobes"] = "file"

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction(self.unk_dropout, "data.unk_dropout")
        self.require_positive("min_freq", "max_word_len")


@dataclass
class TagConfig(TaskConfig):
    task: str = "tag"
    data: TagData = field(default_factory=TagData)
    model: Union[SequenceTaggerConfig, TransformerTaggerConfig] = field(default_factory=SequenceTaggerConfig)  # sizes come from the data


@dataclass
class TagArtifacts(Artifacts):
    """The word vocabulary, the character vocabulary (None: no character features), the
    tag names (id order; IOBES names with ``scheme = "iobes"``) and how words were normalised."""

    words: Vocab
    chars: Vocab | None
    tags: list[str]
    lowercase: bool
    max_word_len: int
    scheme: str = "file"  # data.tag_scheme the model learnt; "iobes": predictions are written back as IOB2

    def to_dict(self) -> dict[str, Any]:
        return {"words": self.words.to_dict(), "chars": None if self.chars is None else self.chars.to_dict(),
                "tags": self.tags, "lowercase": self.lowercase, "max_word_len": self.max_word_len,
                "tag_scheme": self.scheme}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> TagArtifacts:
        tags = artifact_part(raw, "tags", list, where)
        if not tags or not all(isinstance(t, str) for t in tags):
            raise DataError(f"{where}: artifacts['tags'] must be a non-empty list of tag names; got {str(tags)[:80]}")
        chars = artifact_part(raw, "chars", (dict, type(None)), where)
        scheme = raw.get("tag_scheme", "file")  # runs saved before data.tag_scheme learnt the file's tags
        if scheme not in SCHEMES:
            raise DataError(f"{where}: artifacts['tag_scheme'] must be one of {', '.join(map(repr, SCHEMES))}; "
                            f"got {scheme!r}")
        return cls(vocab_part(raw, "words", where), None if chars is None else vocab_part(raw, "chars", where),
                   tags, artifact_part(raw, "lowercase", bool, where), artifact_part(raw, "max_word_len", int, where),
                   scheme)


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
    trains_with_val = True
    artifacts_type = TagArtifacts
    builtin_datasets = ("conll2003",)
    config: TagConfig

    def __init__(self, config: TagConfig) -> None:
        super().__init__(config)
        self._file_tags: set[str] = set()  # the training file's tags, validation part included
        self._pretrained: _pretrained.Pretrained | None = None  # read when the artifacts are fitted

    # ------------------------------------------------------------- reading
    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        d = self.config.data
        name = Path(source).name.lower().removesuffix(".gz")
        fmt = d.format if d.format != "auto" else (
            "conllu" if name.endswith(".conllu") else "conll" if labelled or name.endswith(".conll") else "text")
        if fmt == "text":
            rows = text_lines(source)
            return Examples([line.split() for _, line in rows], None, str(source), [n for n, _ in rows])
        conllu = fmt == "conllu"
        token_column = d.token_column if d.token_column is not None else ("form" if conllu else 0)
        # unlabelled input needs only its token column: read that column as the "tags" too
        s = read_conll(source, token_column=token_column, tag_column=d.tag_column if labelled else token_column,
                       conllu=conllu)
        return Examples(s.tokens, s.tags if labelled else None, str(source), s.lines)

    def read_builtin(self, split: str) -> Examples:
        path = find_in_folder(resolve("conll2003", self.config.data.path), (_CONLL2003_FILES[split],))
        s = read_conll(path, token_column=0, tag_column=3, conllu=False)
        return Examples(s.tokens, s.tags, str(path), s.lines)

    def from_memory(self, data: Any, targets: Any = None) -> Examples:
        """``data``: sentences as token lists (or strings, split on whitespace);
        ``targets``: one tag list per sentence, as long as it."""
        items, tags, positions = memory_items(data, targets, "sentences (token lists)")
        sentences = [x.split() if isinstance(x, str) else list(x) for x in items]
        for k, tokens in enumerate(sentences):
            if not tokens or not all(isinstance(t, str) for t in tokens):
                raise DataError(f"data[{positions[k] - 1}] must be a non-empty list of str tokens; "
                                f"got {str(items[k])[:80]}")
            if tags is not None and (len(tags[k]) != len(tokens) or not all(isinstance(t, str) for t in tags[k])):
                raise DataError(f"targets[{k}] must hold one str tag per token ({len(tokens)}); "
                                f"got {str(tags[k])[:80]}")
        return Examples(sentences, None if tags is None else [list(t) for t in tags], MEMORY, positions)

    def holdout(self, examples: Examples, fraction: float, seed: int) -> tuple[Examples, Examples]:
        """As for every task; the tag set stays the whole training file's, so a rare tag
        that falls only in the held-out part is still known."""
        self._file_tags = {t for tags in examples.targets or () for t in tags}
        return super().holdout(examples, fraction, seed)

    # ------------------------------------------------------------- fitting and encoding
    def fit(self, train: Examples) -> TagArtifacts:
        d = self.config.data
        if train.targets is None:
            raise DataError(f"{train.where}: the training sentences need tags")
        tags = sorted({t for tags in train.targets for t in tags} | self._file_tags)
        seen = sorted({t for tags in train.targets for t in tags})
        if len(seen) < 2:
            raise DataError(f"{train.where}: the training data has a single tag ({seen[0] if seen else 'none'!r}); "
                            "a tagger needs at least two tags to learn (is the tag column missing?)")
        if d.tag_scheme == "iobes":
            if not looks_like_chunks(tags):
                raise ConfigError(f"data.tag_scheme = 'iobes' needs chunk tags such as B-PER, I-PER and O; the "
                                  f"training tags of {train.where} are {', '.join(map(repr, tags[:8]))}"
                                  f"{' ...' if len(tags) > 8 else ''}")
            types = {t.partition("-")[2] for t in tags if t != "O"}  # every prefix of every type the file has
            tags = sorted({f"{p}-{t}" for t in types for p in "BIES"} | ({"O"} & set(tags)))
        words = [[t.lower() for t in s] for s in train.inputs] if d.lowercase else train.inputs
        chars = (Vocab.build((list(t) for s in train.inputs for t in s), bos=None, eos=None)
                 if self.uses_chars() else None)
        vocab = Vocab.build(words, min_freq=d.min_freq, max_size=d.max_vocab, bos=None, eos=None)
        self._pretrained = _pretrained.read_for_vocab(self, vocab)  # model.pretrained_embeddings
        return TagArtifacts(vocab, chars, tags, d.lowercase, d.max_word_len, d.tag_scheme)

    def _encode_words(self, tokens: Sequence[str]) -> np.ndarray:
        """(T,) word ids, or (T, 1 + W) word and character ids with character features."""
        a = self.artifacts
        words = a.words.encode([t.lower() for t in tokens] if a.lowercase else tokens)
        if a.chars is None:
            return words
        out = np.zeros((len(tokens), 1 + a.max_word_len), dtype=np.int64)
        out[:, 0] = words
        for i, tok in enumerate(tokens):
            ids = a.chars.encode(list(tok[: a.max_word_len]))
            out[i, 1 : 1 + len(ids)] = ids
        return out

    def _encode_tags(self, examples: Examples) -> list[np.ndarray]:
        """Tag ids under the run's tag set (IOBES with ``data.tag_scheme = "iobes"``); an unseen
        tag is a DataError naming file and line (and the tag as the file writes it)."""
        names = self.artifacts.tags
        index = {t: i for i, t in enumerate(names)}
        out = []
        for k, file_tags in enumerate(examples.targets):
            tags = to_iobes(file_tags) if self.artifacts.scheme == "iobes" else file_tags
            unseen = [j for j, t in enumerate(tags) if t not in index]
            if unseen:
                j = unseen[0]
                start = examples.lines[k] if examples.lines is not None else k + 1
                at = f"targets[{start - 1}][{j}]" if examples.where == MEMORY else f"line {start + j}"
                raise DataError(f"{examples.where}: {at}: tag {file_tags[j]!r} never appears in the training data "
                                f"(known: {', '.join(map(repr, names[:20]))}{' ...' if len(names) > 20 else ''})")
            out.append(np.fromiter((index[t] for t in tags), dtype=np.int64, count=len(tags)))
        return out

    def encode(self, examples: Examples) -> SequenceDataset:
        return SequenceDataset([self._encode_words(s) for s in examples.inputs],
                               None if examples.targets is None else self._encode_tags(examples))

    def info(self) -> dict[str, Any]:
        a = self.artifacts
        scheme = {"tag scheme": "IOBES (data.tag_scheme; predictions written as IOB2, token accuracy counts "
                                "IOBES tags)"} if a.scheme == "iobes" else {}
        return {"words": len(a.words), "characters": len(a.chars) if a.chars is not None else "none",
                "tags": len(a.tags), **scheme, "entity F1": looks_like_chunks(a.tags),
                **(self._pretrained.info() if self._pretrained is not None else {})}

    def uses_chars(self) -> bool:
        """``data.char_features``, its none resolved by the model kind (the RNN tagger reads characters)."""
        d = self.config.data
        return d.char_features if d.char_features is not None else not isinstance(self.config.model,
                                                                                     TransformerTaggerConfig)

    # ------------------------------------------------------------- model
    def build_model(self) -> SequenceTagger | TransformerTagger:
        a = self.artifacts
        if isinstance(self.config.model, TransformerTaggerConfig):
            if a.chars is not None:
                raise ConfigError("data.char_features = true needs model.kind = 'rnn' (the transformer tagger "
                                  "reads word ids only); got model.kind = 'transformer'")
            return TransformerTagger(replace(self.config.model, vocab_size=len(a.words), input_size=None,
                                             num_tags=len(a.tags)))
        model = SequenceTagger(replace(self.config.model, vocab_size=len(a.words), input_size=None,
                                       num_tags=len(a.tags),
                                       char_vocab_size=len(a.chars) if a.chars is not None else None))
        _pretrained.apply(model.encoder.embedding, self._pretrained)
        return model

    def objective(self, *, final: bool = True) -> TagObjective:
        """The same either way: evaluation always Viterbi-decodes every sentence."""
        a = self.artifacts
        return TagObjective(a.tags, looks_like_chunks(a.tags), self.config.data.unk_dropout, a.words.unk_id)

    # ------------------------------------------------------------- prediction
    def predict_batch(self, model: nn.Module, batch: Any) -> list[list[str]]:
        words, chars = split_inputs(batch.inputs)
        pred = unwrap(model).predict(words, batch.lengths, chars).tolist()
        tags, iobes = self.artifacts.tags, self.artifacts.scheme == "iobes"
        rows = [[tags[t] for t in row[:n]] for row, n in zip(pred, batch.lengths.tolist())]
        return [to_iob2(r) for r in rows] if iobes else rows

    def format_row(self, examples: Examples, i: int, output: list[str]) -> dict[str, Any]:
        line = examples.lines[i] if examples.lines is not None else i + 1
        return {"line": line, "tokens": list(examples.inputs[i]), "tags": output}
