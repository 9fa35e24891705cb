"""Task ``seq2seq``: sentence pairs → :class:`~rnnkit.models.Seq2Seq` with attention.

Data: a TSV of ``source<TAB>target`` lines (further columns ignored), or the built-in
Tatoeba English–French pairs (``data.dataset = "fra-eng"``; ``data.path`` is then where
they live, as for every built-in dataset; ``data.swap`` reverses the direction). Each side has its own tokenizer (char
or word level) and its own vocabulary, fitted on the training pairs only; the target
vocabulary frames every sentence with bos/eos. Without ``val_path``/``test_path`` a
seeded random ``val_fraction``/``test_fraction`` of the pairs is held out.

Batches: inputs are source ids (B, Ts); targets are ``[bos, y_1..y_n, eos]`` (B, Tt+1)
padded with 0; the decoder reads ``targets[:, :-1]`` and learns ``targets[:, 1:]``.

Loss: masked token cross-entropy (teacher forcing with ``model.teacher_forcing_ratio``).
Metrics: teacher-forced token accuracy; in evaluation also corpus BLEU and token and
sequence error rates of greedy decodes, on the first ``decode.eval_batches`` batches
of a pass (decoding is the expensive part).

Predict: one source sentence per input line (blank lines skipped) → the decoded
target string (greedy, or beam search with ``decode.beam_size > 1``), optionally
with the attention weights (target tokens × source tokens).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Optional

import torch
import torch.nn.functional as F
from torch import nn

from rnnkit.data import SequenceDataset, Vocab, get_tokenizer, tokenizer_from_dict
from rnnkit.data.sources import Pairs, load_pairs, load_tatoeba_fra, read_pairs
from rnnkit.errors import ConfigError, DataError
from rnnkit.models import Seq2Seq, Seq2SeqConfig
from rnnkit.tasks._tokens import WhenFed, check_fraction, decode_rows, input_lines, load_vocab, loader, save_vocab, unwrap
from rnnkit.tasks.base import PreparedData, Task
from rnnkit.tasks.registry import register
from rnnkit.train import BLEU, Accuracy, ErrorRate, RunDir, StepResult, TrainConfig

SOURCE_VOCAB = "vocab_source.json"
TARGET_VOCAB = "vocab_target.json"
TOKENIZERS = "tokenizers.json"


@dataclass
class PairsData:
    path: Optional[str] = None  # your TSV source<TAB>target; with data.dataset: where that dataset lives
    val_path: Optional[str] = None  # else val_fraction of the pairs
    test_path: Optional[str] = None  # else test_fraction of the pairs
    dataset: Optional[Literal["fra-eng"]] = None  # a built-in dataset instead of your own file
    swap: bool = False  # read target<TAB>source (e.g. French → English from fra-eng)
    source_level: Literal["char", "word"] = "word"
    target_level: Literal["char", "word"] = "word"
    lowercase: bool = True
    min_freq: int = 1  # rarer training tokens become unk (per side)
    max_vocab: Optional[int] = None  # largest vocabulary per side, specials included
    max_len: Optional[int] = None  # training pairs with a longer side (in tokens) are left out
    val_fraction: float = 0.1
    test_fraction: float = 0.0
    split_seed: int = 0
    batch_size: int = 64

    def __post_init__(self) -> None:
        check_fraction(self.val_fraction, "data.val_fraction")
        check_fraction(self.test_fraction, "data.test_fraction")
        for name in ("min_freq", "batch_size", "max_len"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"data.{name} must be >= 1; got {value}")


@dataclass
class DecodeConfig:
    """How targets are generated: in ``predict`` and for the validation BLEU."""

    beam_size: int = 1  # 1: greedy
    max_len: int = 50  # longest output, in target tokens
    length_penalty: float = 1.0  # beam ranking by score / length ** length_penalty
    attention: bool = False  # predict rows carry the attention weights
    eval_batches: Optional[int] = 10  # batches per evaluation pass decoded for BLEU; none: all, 0: off

    def __post_init__(self) -> None:
        for name in ("beam_size", "max_len"):
            if getattr(self, name) < 1:
                raise ConfigError(f"decode.{name} must be >= 1; got {getattr(self, name)}")
        if self.eval_batches is not None and self.eval_batches < 0:
            raise ConfigError(f"decode.eval_batches must be >= 0 or none; got {self.eval_batches}")


@dataclass
class Seq2SeqTaskConfig:
    task: str = "seq2seq"
    data: PairsData = field(default_factory=PairsData)
    model: Seq2SeqConfig = field(default_factory=Seq2SeqConfig)  # vocabulary sizes and ids come from the data
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    train: TrainConfig = field(default_factory=TrainConfig)


class Seq2SeqObjective:
    """Masked token cross-entropy; in evaluation, greedy decodes for BLEU and error rates."""

    def __init__(self, eos_id: int, decode: DecodeConfig) -> None:
        self.eos_id = eos_id
        self.decode = decode
        self._decoded = 0

    def metrics(self) -> dict[str, Any]:
        self._decoded = 0  # a new pass begins
        return {"accuracy": Accuracy(), "bleu": WhenFed(BLEU()), "errors": WhenFed(ErrorRate())}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        tgt_in, tgt_out = batch.targets[:, :-1], batch.targets[:, 1:]  # (B, Tt) each
        out_lengths = batch.target_lengths - 1
        logits = model(batch.inputs, tgt_in, batch.lengths, out_lengths).logits  # (B, Tt, V)
        real = torch.arange(tgt_out.shape[1], device=tgt_out.device) < out_lengths.unsqueeze(1)
        loss = F.cross_entropy(logits[real].float(), tgt_out[real])
        updates: dict[str, tuple] = {"accuracy": (logits.detach(), tgt_out.masked_fill(~real, -100))}
        s2s = unwrap(model)
        cap = self.decode.eval_batches
        if not s2s.training and (cap is None or self._decoded < cap):
            self._decoded += 1
            decoded = s2s.greedy_decode(batch.inputs, batch.lengths, max_len=self.decode.max_len)
            hyps = decode_rows(decoded.tokens, decoded.lengths, self.eos_id)
            refs = decode_rows(tgt_out, out_lengths, self.eos_id)
            updates["bleu"] = (hyps, refs)
            updates["errors"] = (hyps, refs)
        return StepResult(loss, real.sum(), updates)


@register
class Seq2SeqTask(Task):
    name = "seq2seq"
    description = "sequence to sequence (translation, transliteration) from TSV pairs with an attention encoder-decoder"
    Config = Seq2SeqTaskConfig

    def __init__(self, config: Seq2SeqTaskConfig) -> None:
        super().__init__(config)
        d = config.data
        self.tokenizers = {side: get_tokenizer(level, lower=d.lowercase, **({} if level == "char" else
                                                                          {"punctuation": "split", "strip_html": False}))
                           for side, level in (("source", d.source_level), ("target", d.target_level))}
        self.source: Vocab | None = None
        self.target: Vocab | None = None

    # ------------------------------------------------------------- reading and encoding
    def _read(self, path: str | Path) -> Pairs:
        pairs = read_pairs(path)
        return _swapped(pairs) if self.config.data.swap else pairs

    def _read_splits(self) -> tuple[Pairs, Pairs | None, Pairs | None]:
        d = self.config.data
        if d.path is None and d.dataset is None:
            raise ConfigError('data.path is required (a TSV file of source<TAB>target lines: --data PATH) '
                              'unless data.dataset = "fra-eng"')
        fractions = dict(val_fraction=0.0 if d.val_path else d.val_fraction,
                         test_fraction=0.0 if d.test_path else d.test_fraction, seed=d.split_seed)
        data = load_tatoeba_fra(d.path, **fractions) if d.dataset is not None else load_pairs(d.path, **fractions)
        swap = _swapped if d.swap else (lambda p: p)
        train, val, test = (None if p is None else swap(p) for p in (data.train, data.val, data.test))
        val = self._read(d.val_path) if d.val_path else val
        test = self._read(d.test_path) if d.test_path else test
        return train, val, test  # type: ignore[return-value]

    def _tokens(self, texts: list[str], side: str) -> list[list[str]]:
        tok = self.tokenizers[side]
        return [tok(t) for t in texts]

    def _dataset(self, pairs: Pairs, max_len: int | None = None) -> tuple[SequenceDataset, int]:
        """Encoded pairs (those with a side longer than ``max_len`` left out) and how many were left out."""
        src, tgt = self._tokens(pairs.sources, "source"), self._tokens(pairs.targets, "target")
        keep = [i for i, (s, t) in enumerate(zip(src, tgt))
                if s and t and (max_len is None or (len(s) <= max_len and len(t) <= max_len))]
        dataset = SequenceDataset([self.source.encode(src[i]) for i in keep],
                                  [self.target.encode(tgt[i], add_bos=True, add_eos=True) for i in keep])
        return dataset, len(pairs) - len(keep)

    def _fit(self, train: Pairs, run_dir: RunDir | None) -> None:
        d = self.config.data
        self.source = Vocab.build(self._tokens(train.sources, "source"), min_freq=d.min_freq, max_size=d.max_vocab,
                                  bos=None, eos=None)
        self.target = Vocab.build(self._tokens(train.targets, "target"), min_freq=d.min_freq, max_size=d.max_vocab)
        if run_dir is not None:
            save_vocab(run_dir, SOURCE_VOCAB, self.source)
            save_vocab(run_dir, TARGET_VOCAB, self.target)
            run_dir.save_json(TOKENIZERS, {side: tok.to_dict() for side, tok in self.tokenizers.items()})

    # ------------------------------------------------------------- the Task contract
    def prepare(self, run_dir: RunDir | None) -> PreparedData:
        d = self.config.data
        train, val, test = self._read_splits()
        if self.source is None:
            self._fit(train, run_dir)
        train_set, left_out = self._dataset(train, d.max_len)
        seed = self.config.train.seed
        batches = [loader(train_set, d.batch_size, shuffle=True, seed=seed)]
        info: dict[str, Any] = {"data": d.path or d.dataset, "train pairs": len(train_set)}
        if left_out:
            info["train pairs left out (empty or longer than data.max_len)"] = left_out
        for name, pairs in (("validation", val), ("test", test)):
            if pairs is None:
                batches.append(None)
                continue
            dataset, _ = self._dataset(pairs)
            batches.append(loader(dataset, d.batch_size, shuffle=False))
            info[f"{name} pairs"] = len(dataset)
        info.update({"source tokens": d.source_level, "target tokens": d.target_level,
                     "source vocabulary": len(self.source), "target vocabulary": len(self.target)})
        return PreparedData(batches[0], batches[1], batches[2], info)

    def load_artifacts(self, run_dir: RunDir) -> None:
        self.source = load_vocab(run_dir, SOURCE_VOCAB)
        self.target = load_vocab(run_dir, TARGET_VOCAB)
        saved = run_dir.load_json(TOKENIZERS)
        self.tokenizers = {side: tokenizer_from_dict(saved[side]) for side in ("source", "target")}

    def build_model(self) -> Seq2Seq:
        if self.source is None or self.target is None:
            raise ConfigError("the vocabularies are not known yet: call prepare() or load_artifacts() first")
        t = self.target
        return Seq2Seq(replace(self.config.model, src_vocab_size=len(self.source), tgt_vocab_size=len(t),
                               pad_id=t.pad_id, bos_id=t.bos_id, eos_id=t.eos_id))

    def objective(self) -> Seq2SeqObjective:
        return Seq2SeqObjective(self.target.eos_id, self.config.decode)

    def evaluation_data(self, path: str | Path) -> Any:
        dataset, _ = self._dataset(self._read(path))
        return loader(dataset, self.config.data.batch_size, shuffle=False)

    def predict(self, model: nn.Module, source: str | Path | list[str]) -> list[dict[str, Any]]:
        """One row per non-blank line: ``{"line", "source", "prediction"}`` (plus
        ``source_tokens``, ``target_tokens`` and ``attention`` (target × source) when
        ``decode.attention`` is set), in input order."""
        dec = self.config.decode
        numbered = input_lines(source)
        src_tokens = self._tokens([text for _, text in numbered], "source")
        for (n, _), tokens in zip(numbered, src_tokens):
            if not tokens:
                raise DataError(f"{source if isinstance(source, (str, Path)) else 'input'}: line {n}: "
                                f"no {self.config.data.source_level} tokens to translate")
        dataset = SequenceDataset([self.source.encode(t) for t in src_tokens])
        device = next(model.parameters()).device
        rows: list[dict[str, Any]] = [{} for _ in numbered]
        joiner = "" if self.tokenizers["target"].level == "char" else " "
        model.eval()
        with torch.no_grad():
            for batch in loader(dataset, self.config.data.batch_size, shuffle=False):
                batch = batch.to(device)
                if dec.beam_size > 1:
                    out = model.beam_search(batch.inputs, batch.lengths, beam_size=dec.beam_size, max_len=dec.max_len,
                                            length_penalty=dec.length_penalty)
                else:
                    out = model.greedy_decode(batch.inputs, batch.lengths, max_len=dec.max_len)
                hyps = decode_rows(out.tokens.cpu(), out.lengths.cpu(), self.target.eos_id)
                for j, (i, ids) in enumerate(zip(batch.indices.tolist(), hyps)):
                    tokens = self.target.decode(ids)
                    row: dict[str, Any] = {"line": numbered[i][0], "source": numbered[i][1],
                                           "prediction": joiner.join(tokens)}
                    if dec.attention and out.attention is not None:
                        ts = len(src_tokens[i])
                        row.update(source_tokens=src_tokens[i], target_tokens=tokens,
                                   attention=[[round(w, 4) for w in step[:ts]]
                                              for step in out.attention[j, : len(ids)].cpu().tolist()])
                    rows[i] = row
        return rows


def _swapped(pairs: Pairs) -> Pairs:
    return Pairs(pairs.targets, pairs.sources)
