"""Task ``seq2seq``: sentence pairs → :class:`~rnnkit.models.Seq2Seq` with attention.

Read (every split, ``evaluate`` and ``predict`` alike; plain or ``.gz``): a TSV of
``source<TAB>target`` lines (further columns ignored; ``data.swap`` reverses the
direction). Unlabelled (``predict``): the same TSV (its source column is read), or any
file without a tab on its first line, one source per line; blank lines are skipped.
Built in: the Tatoeba English–French pairs (``data.dataset = "fra-eng"``; ``data.path``
is then where they live). In Python: a list of source strings and one of target strings.
Without ``val_path``/``test_path`` a seeded random ``val_fraction``/``test_fraction`` of
the training pairs is held out.

Artifacts (fitted on the training split only): each side's tokenizer (char or word
level, or with ``data.tokenizer = "bpe"`` BPE subwords of ``data.bpe_vocab_size`` learnt
per side, each saved as ``tokenizer-source.json``/``tokenizer-target.json`` beside
``artifacts.json``) and vocabulary; the target vocabulary frames every sentence with
bos/eos. BPE outputs are joined back to text for predictions, and scored as words (the
text re-tokenized as the word level does) for BLEU and the error rates.

Batches: inputs are source ids (B, Ts); targets are ``[bos, y_1..y_n, eos]`` (B, Tt+1)
padded with 0; the decoder reads ``targets[:, :-1]`` and learns ``targets[:, 1:]``.
Training pairs with a side longer than ``data.max_len`` tokens are left out (training
only: every validation and test pair is scored).

Loss: masked token cross-entropy (teacher forcing with ``model.teacher_forcing_ratio``).
Metrics: teacher-forced token accuracy; in evaluation also corpus BLEU and token and
sequence error rates of the decoded outputs — decoded as ``predict`` decodes them
(:func:`decode`: greedy, or beam search with ``decode.beam_size > 1``) and scored
against the reference tokens (a reference word outside the target vocabulary never
matches). ``evaluate`` and the end-of-training lines decode every example; the
per-epoch validation decodes a seeded random sample of ``decode.eval_sample`` examples
(chosen by example index, seeded by ``train.seed``), and its decoded metrics say so:
``bleu_sample``, ``token_error_rate_sample``, ``sequence_error_rate_sample``.

Predict rows: ``{"line", "source", "prediction"}`` (plus ``source_tokens``,
``target_tokens`` and ``attention`` (target × source) with ``decode.attention``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Optional

import numpy as np
import torch
from torch import nn

from rnnkit.data import Batch, SequenceDataset, Vocab, get_tokenizer, tokenizer_from_dict
from rnnkit.data._files import find_in_folder
from rnnkit.data.bpe import BPETokenizer
from rnnkit.data.sources import resolve
from rnnkit.data.tokenize import Tokenizer
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models import Seq2Seq, Seq2SeqConfig
from rnnkit.models.seq2seq import Decoded
from rnnkit.tasks import _pretrained
from rnnkit.tasks._tokens import MEMORY, WhenFed, artifact_part, memory_items, text_lines, unwrap, vocab_part
from rnnkit.tasks.base import Artifacts, DataSection, Examples, Task, TaskConfig, check_fraction
from rnnkit.tasks.registry import register
from rnnkit.train import BLEU, Accuracy, ErrorRate, StepResult

_UNSEEN = "\x00unseen"  # stands for a reference word outside the target vocabulary: matches nothing
_MARK = "\x00"  # an unk subword in BPE text being re-tokenized into words (a punctuation mark of its own)


@dataclass
class PairsData(DataSection):
    dataset: Optional[Literal["fra-eng"]] = None  # a built-in dataset instead of your own file
    swap: bool = False  # read target<TAB>source (e.g. French → English from fra-eng)
    # source tokens: "word" or "char"
    source_level: Literal["char", "word"] = "word"
    # target tokens: "word" or "char"
    target_level: Literal["char", "word"] = "word"
    tokenizer: Literal["level", "bpe"] = "level"  # level: source_level/target_level; bpe: subwords on both sides
    bpe_vocab_size: int = 8000  # with tokenizer="bpe": subwords per side (learnt on the training split)
    # lowercase both sides before tokenizing
    lowercase: bool = True
    min_freq: int = 1  # rarer training tokens become unk (per side)
    max_vocab: Optional[int] = None  # largest vocabulary per side, specials included
    max_len: Optional[int] = None  # training pairs with a longer side (in tokens) are left out
    test_fraction: float = 0.0  # without test_path: this share of the training pairs is the test split
    # pairs per batch
    batch_size: int = 64

    def __post_init__(self) -> None:
        super().__post_init__()
        check_fraction(self.test_fraction, "data.test_fraction")
        self.require_positive("min_freq", "max_len")
        if self.tokenizer not in ("level", "bpe"):
            raise ConfigError(f"data.tokenizer must be 'level' or 'bpe'; got {self.tokenizer!r}")
        if not isinstance(self.bpe_vocab_size, int) or self.bpe_vocab_size < 16:
            raise ConfigError(f"data.bpe_vocab_size must be an integer >= 16; got {self.bpe_vocab_size!r}")
        if self.tokenizer == "bpe":
            for side in ("source_level", "target_level"):
                if getattr(self, side) != "word":
                    raise ConfigError(f"data.{side}={getattr(self, side)!r} conflicts with data.tokenizer='bpe' "
                                      "(BPE subwords replace the char/word level; leave it 'word')")


@dataclass
class DecodeConfig:
    """How targets are generated — in ``predict`` and in evaluation alike."""

    beam_size: int = 1  # 1: greedy
    max_len: int = 50  # longest output, in target tokens
    length_penalty: float = 1.0  # beam ranking by score / length ** length_penalty
    attention: bool = False  # predict rows carry the attention weights
    eval_sample: Optional[int] = 500  # examples decoded per epoch's validation (metrics *_sample); none: all, 0: none

    def __post_init__(self) -> None:
        for name in ("beam_size", "max_len"):
            if getattr(self, name) < 1:
                raise ConfigError(f"decode.{name} must be >= 1; got {getattr(self, name)}")
        if self.length_penalty < 0:
            raise ConfigError(f"decode.length_penalty must be >= 0; got {self.length_penalty}")
        if self.eval_sample is not None and self.eval_sample < 0:
            raise ConfigError(f"decode.eval_sample must be >= 0 or none; got {self.eval_sample}")


@dataclass
class Seq2SeqTaskConfig(TaskConfig):
    task: str = "seq2seq"
    data: PairsData = field(default_factory=PairsData)
    model: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)  # vocabulary sizes and ids come from the data
    decode: DecodeConfig = field(default_factory=DecodeConfig)


@dataclass
class Seq2SeqArtifacts(Artifacts):
    """Each side's vocabulary and tokenizer (the target vocabulary has bos and eos)."""

    source: Vocab
    target: Vocab
    source_tokenizer: Tokenizer
    target_tokenizer: Tokenizer

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source.to_dict(), "target": self.target.to_dict(),
                "tokenizers": {"source": self.source_tokenizer.to_dict(), "target": self.target_tokenizer.to_dict()}}

    def files(self) -> dict[str, str]:
        """Each BPE tokenizer's JSON (``tokenizer-source.json``, ``tokenizer-target.json``)."""
        return {t.file: t.to_json() for t in (self.source_tokenizer, self.target_tokenizer) if isinstance(t, BPETokenizer)}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> Seq2SeqArtifacts:
        source, target = vocab_part(raw, "source", where), vocab_part(raw, "target", where)
        if target.bos_id is None or target.eos_id is None:
            raise CheckpointError(f"{where}: artifacts['target'] must have bos and eos tokens; got {target}")
        tokenizers = artifact_part(raw, "tokenizers", dict, where)
        try:
            tok = [tokenizer_from_dict(artifact_part(tokenizers, side, dict, where, "artifacts['tokenizers']"),
                                       Path(where).parent) for side in ("source", "target")]
        except ConfigError as e:
            raise CheckpointError(f"{where}: artifacts['tokenizers']: {e}") from None
        return cls(source, target, tok[0], tok[1])


# ------------------------------------------------------------------ batches
@dataclass(frozen=True)
class PairBatch(Batch):
    """A :class:`~rnnkit.data.Batch` that also says which examples are in the per-epoch
    validation's decode sample: ``sample`` (B,) bool, or None when there is none."""

    sample: torch.Tensor | None = None

    def to(self, device: torch.device | str, non_blocking: bool = False) -> PairBatch:
        return PairBatch(**{f.name: None if (t := getattr(self, f.name)) is None else
                            t.to(device, non_blocking=non_blocking) for f in fields(self)})


class PairDataset(SequenceDataset):
    """Encoded pairs with the seeded decode sample (``in_sample`` (N,) bool, or None) and
    the longer side of each pair in tokens (``longest``). ``keep`` (set for training,
    see ``data.max_len``) restricts the examples batched to those indices."""

    def __init__(self, inputs: list[np.ndarray], targets: list[np.ndarray] | None, in_sample: np.ndarray | None):
        super().__init__(inputs, targets)
        self.in_sample, self.keep = in_sample, None
        self.longest = np.array([len(s) if targets is None else max(len(s), len(targets[i]) - 2)
                                 for i, s in enumerate(inputs)], dtype=np.int64)

    @property
    def lengths(self) -> np.ndarray:
        return super().lengths if self.keep is None else super().lengths[self.keep]

    def __len__(self) -> int:
        return len(self.lengths)

    def batch(self, indices: np.ndarray | Any) -> PairBatch:
        idx = np.asarray(indices, dtype=np.int64)
        b = super().batch(idx if self.keep is None else self.keep[idx])
        sample = None if self.in_sample is None else torch.from_numpy(self.in_sample[b.indices.numpy()])
        return PairBatch(**{f.name: getattr(b, f.name) for f in fields(b)}, sample=sample)


def decode(model: Seq2Seq, inputs: torch.Tensor, lengths: torch.Tensor, cfg: DecodeConfig) -> Decoded:
    """The configured decoding — the one ``predict`` and evaluation both use."""
    if cfg.beam_size > 1:
        return model.beam_search(inputs, lengths, beam_size=cfg.beam_size, max_len=cfg.max_len,
                                 length_penalty=cfg.length_penalty)
    return model.greedy_decode(inputs, lengths, max_len=cfg.max_len)


def output_ids(decoded: Decoded, eos_id: int) -> list[list[int]]:
    """Each decoded row's ids, cut at its length, without the final eos."""
    rows = [row[:n] for row, n in zip(decoded.tokens.tolist(), decoded.lengths.tolist())]
    return [row[:-1] if row and row[-1] == eos_id else row for row in rows]


class Seq2SeqObjective:
    """Masked token cross-entropy; in evaluation, BLEU and error rates of the decoded
    outputs: of every example (``sample=None``), of none (``0``), or of the examples in
    the batches' seeded ``sample`` (a number: the metric names then end in ``_sample``)."""

    def __init__(self, target: Vocab, cfg: DecodeConfig, sample: int | None, tokenizer: Tokenizer | None = None) -> None:
        self.target, self.cfg, self.sample = target, cfg, sample
        # BPE targets are scored as words (their text re-tokenized as the word level does), so that
        # BLEU and the error rates compare across vocabularies
        self.words = (get_tokenizer("word", lower=tokenizer.lower, punctuation="split", strip_html=False)
                      if isinstance(tokenizer, BPETokenizer) else None)
        self.tokenizer = tokenizer

    def scored(self, tokens: list[str], reference: bool = False) -> list[str]:
        """The units BLEU and the error rates count: the tokens, or the words of BPE subwords.
        An unk token stays one unit: ``<unk>`` in an output; in a reference, one that matches nothing."""
        unk = self.target.tokens[self.target.unk_id] if self.target.unk_id is not None else None
        stand_in = _UNSEEN if reference else unk
        if self.words is None:
            return [stand_in if t == unk else t for t in tokens]
        marked = self.tokenizer.join([_MARK if t == unk else t for t in tokens])
        return [stand_in if w == _MARK else w for w in self.words(marked)]

    def metrics(self) -> dict[str, Any]:
        suffix = "_sample" if self.sample else ""
        return {"accuracy": Accuracy(), "bleu": WhenFed(BLEU(), suffix), "errors": WhenFed(ErrorRate(), suffix)}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        tgt_in, tgt_out = batch.targets[:, :-1], batch.targets[:, 1:]  # (B, Tt) each
        s2s = unwrap(model)
        # through model(...) (the DDP wrapper under DDP): with tgt_out, forward is Seq2Seq.token_loss
        out = model(batch.inputs, tgt_in, batch.lengths, batch.target_lengths - 1, tgt_out=tgt_out)
        updates: dict[str, tuple] = {"accuracy": (out.predictions, out.targets)}
        rows = getattr(batch, "sample", None) if self.sample else None  # (B,) bool, or None: all
        if not s2s.training and self.sample != 0 and (rows is None or bool(rows.any())):
            inputs, lengths, refs = ((batch.inputs, batch.lengths, batch.targets) if rows is None else
                                     (batch.inputs[rows], batch.lengths[rows], batch.targets[rows]))
            hyps = [self.scored(self.target.decode(ids)) for ids in output_ids(decode(s2s, inputs, lengths, self.cfg),
                                                                  self.target.eos_id)]
            ref_tokens = [self.scored(self.target.decode(r), reference=True) for r in refs.tolist()]
            updates["bleu"] = updates["errors"] = (hyps, ref_tokens)
        return StepResult(out.loss, out.targets.new_tensor(out.targets.numel()), updates)


@register
class Seq2SeqTask(Task):
    name = "seq2seq"
    description = "sequence to sequence (translation, transliteration) from TSV pairs with an attention encoder-decoder"
    Config = Seq2SeqTaskConfig
    trains_with_val = True
    artifacts_type = Seq2SeqArtifacts
    builtin_datasets = ("fra-eng",)
    config: Seq2SeqTaskConfig

    def __init__(self, config: Seq2SeqTaskConfig) -> None:
        super().__init__(config)
        self._left_out = 0  # training pairs longer than data.max_len
        self._pretrained: _pretrained.Pretrained | None = None  # read when the artifacts are fitted

    # ------------------------------------------------------------- reading
    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        rows = text_lines(source)
        if not labelled and "\t" not in rows[0][1]:  # one source per line
            return Examples([line for _, line in rows], None, str(source), [n for n, _ in rows])
        sources, targets = [], []
        for n, line in rows:
            cols = line.split("\t")
            if len(cols) < 2:
                raise DataError(f"{source}: line {n}: expected source<TAB>target; found no tab")
            if self.config.data.swap:
                cols[0], cols[1] = cols[1], cols[0]
            for k in (0, 1) if labelled else (0,):
                if not cols[k].strip():
                    raise DataError(f"{source}: line {n}: the {('source', 'target')[k]} column is empty")
            sources.append(cols[0])
            targets.append(cols[1])
        return Examples(sources, targets if labelled else None, str(source), [n for n, _ in rows])

    def read_builtin(self, split: str) -> Examples | None:
        """fra-eng has one file: all of it is the training data (val/test are held out)."""
        if split != "train":
            return None
        path = resolve("fra-eng", self.config.data.path)
        return self.read(find_in_folder(path, ("fra.txt",)) if path.is_dir() else path)

    def from_memory(self, data: Any, targets: Any = None) -> Examples:
        """``data``: source strings; ``targets``: the target string of each."""
        items, outs, positions = memory_items(data, targets, "source strings")
        for name, values in (("data", items), ("targets", outs or [])):
            for k, text in enumerate(values):
                if not isinstance(text, str) or not text.strip():
                    raise DataError(f"{name}[{k}] must be a non-empty string; got {str(text)[:80]!r}")
        return Examples(items, outs, MEMORY, positions)

    # ------------------------------------------------------------- fitting and encoding
    def fit(self, train: Examples) -> Seq2SeqArtifacts:
        d = self.config.data
        if train.targets is None:
            raise DataError(f"{train.where}: the training pairs need targets")
        if d.tokenizer == "bpe":
            tok = [BPETokenizer.train(texts, d.bpe_vocab_size, lower=d.lowercase, file=f"tokenizer-{side}.json")
                   for side, texts in (("source", train.inputs), ("target", train.targets))]
        else:
            tok = [get_tokenizer(level, lower=d.lowercase,
                                 **({} if level == "char" else {"punctuation": "split", "strip_html": False}))
                   for level in (d.source_level, d.target_level)]
        source = Vocab.build((tok[0](s) for s in train.inputs), min_freq=d.min_freq, max_size=d.max_vocab,
                             bos=None, eos=None)
        target = Vocab.build((tok[1](t) for t in train.targets), min_freq=d.min_freq, max_size=d.max_vocab)
        self._pretrained = _pretrained.read_for_vocabs(self, {"source": source, "target": target})
        return Seq2SeqArtifacts(source, target, tok[0], tok[1])

    def encode(self, examples: Examples) -> PairDataset:
        a = self.artifacts
        # never empty: a source is never blank, and every non-space character is part of a token
        inputs = [a.source.encode(a.source_tokenizer(text)) for text in examples.inputs]
        targets = (None if examples.targets is None else
                   [a.target.encode(a.target_tokenizer(t), add_bos=True, add_eos=True) for t in examples.targets])
        k = self.config.decode.eval_sample
        in_sample = None
        if k:  # the per-epoch validation's decode sample: seeded by train.seed, by example index
            in_sample = np.zeros(len(inputs), dtype=bool)
            in_sample[np.random.default_rng(self.config.train.seed).permutation(len(inputs))[:k]] = True
        return PairDataset(inputs, targets, in_sample)

    def loader(self, dataset: Any, *, train: bool) -> Any:
        max_len = self.config.data.max_len
        if train and max_len is not None:
            dataset.keep = np.flatnonzero(dataset.longest <= max_len)
            self._left_out = len(dataset.longest) - len(dataset.keep)
            if not len(dataset.keep):
                raise DataError(f"no training pair fits data.max_len={max_len} (tokens per side)")
        return super().loader(dataset, train=train)

    def info(self) -> dict[str, Any]:
        a, d = self.artifacts, self.config.data
        levels = ("bpe", "bpe") if d.tokenizer == "bpe" else (d.source_level, d.target_level)
        info: dict[str, Any] = {"source tokens": levels[0], "target tokens": levels[1],
                                "source vocabulary": len(a.source), "target vocabulary": len(a.target)}
        if self._left_out:
            info["train pairs left out (longer than data.max_len)"] = self._left_out
        if self._pretrained is not None:
            info.update(self._pretrained.info())
        return info

    # ------------------------------------------------------------- model
    def build_model(self) -> Seq2Seq:
        t = self.artifacts.target
        model = Seq2Seq(replace(self.config.model, src_vocab_size=len(self.artifacts.source), tgt_vocab_size=len(t),
                                pad_id=t.pad_id, bos_id=t.bos_id, eos_id=t.eos_id))
        _pretrained.apply(model.src_embedding, self._pretrained, "source")
        _pretrained.apply(model.tgt_embedding, self._pretrained, "target")
        return model

    def objective(self, *, final: bool = True) -> Seq2SeqObjective:
        dec = self.config.decode
        return Seq2SeqObjective(self.artifacts.target, dec, None if final else dec.eval_sample,
                                self.artifacts.target_tokenizer)

    # ------------------------------------------------------------- prediction
    def predict_batch(self, model: nn.Module, batch: Any) -> list[dict[str, Any]]:
        """Per example: its output ``tokens`` and, with ``decode.attention``, the
        attention rows of those tokens over its source tokens."""
        target = self.artifacts.target
        out = decode(unwrap(model), batch.inputs, batch.lengths, self.config.decode)
        results = []
        for j, (ids, ts) in enumerate(zip(output_ids(out, target.eos_id), batch.lengths.tolist())):
            res: dict[str, Any] = {"tokens": target.decode(ids)}
            if self.config.decode.attention and out.attention is not None:
                kept = [k for k, i in enumerate(ids) if i not in (target.pad_id, target.bos_id)]
                res["attention"] = [[round(w, 4) for w in out.attention[j, k, :ts].tolist()] for k in kept]
            results.append(res)
        return results

    def format_row(self, examples: Examples, i: int, output: dict[str, Any]) -> dict[str, Any]:
        a = self.artifacts
        text = examples.inputs[i]
        row: dict[str, Any] = {"line": examples.lines[i] if examples.lines is not None else i + 1,
                               "source": text, "prediction": a.target_tokenizer.join(output["tokens"])}
        if "attention" in output:
            row.update(source_tokens=a.source_tokenizer(text), target_tokens=output["tokens"],
                       attention=output["attention"])
        return row
