"""Task ``lm``: character- or word-level language modelling with truncated BPTT.

The examples are the lines of a UTF-8 text (plain or ``.gz``; the bundled Tiny
Shakespeare when no ``data.path`` is given), each with its line break — so the lines,
joined, are the text itself. Validation is the *tail* ``val_fraction`` of the corpus
(cut at the same character as char-rnn and nanoGPT do), not a random sample of lines.

* **training** reads the split as one token stream laid out as ``batch_size``
  contiguous rows (:class:`rnnkit.data.LMBatches`); the Trainer carries the recurrent
  state from one chunk of ``seq_len`` steps to the next and detaches it in between;
* **validation, test, evaluate and predict** score every token of the split exactly
  once, line by line: each line is one example, read after up to ``eval_context``
  tokens of the text before it (fed, not scored). Lines are independent of each other,
  so they are length-bucketed and sharded like any dataset, and ``evaluate`` is exactly
  the token-weighted mean of the ``predict`` rows. The very first token of a text has
  nothing before it and is not scored.

Tokens: characters (``data.level = "char"``) keep each line's line break as a token of its
own; words (``"word"``) and BPE subwords (``data.tokenizer = "bpe"``) are the tokens of each
line *without* its line break, followed by ``<eos>``: the line end is the ``<eos>`` token only
(no subword holds a line break), in training, scoring and primes alike, and generated text
writes one line break per ``<eos>``. BPE runs trained before that convention (their
subwords hold line breaks) are still read as they were trained: see :func:`subword_breaks`.

Model: ``[model] kind = "rnn"`` (:class:`~rnnkit.models.LanguageModel`) or ``"transformer"``
(:class:`~rnnkit.models.TransformerLanguageModel`, causal decoder-only; it trains on independent
``seq_len`` windows — no state is carried between chunks — and generates with a key/value cache).

Metrics: mean NLL (nats per token), perplexity and bits per token (``bpc``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Optional, Union

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.data import LMBatches, SequenceDataset, Vocab
from rnnkit.data._files import read_text
from rnnkit.data.sources import bundled_tinyshakespeare
from rnnkit.data.bpe import MARK, BPETokenizer
from rnnkit.data.tokenize import WordTokenizer
from rnnkit.errors import CheckpointError, ConfigError, DataError
from rnnkit.models import LanguageModel, LanguageModelConfig, TransformerLanguageModel, TransformerLanguageModelConfig
from rnnkit.tasks.base import Artifacts, DataSection, Examples, Task, TaskConfig, check_fraction
from rnnkit.tasks.registry import register
from rnnkit.train import MeanNLL, StepResult

__all__ = ["LMData", "LMGenerate", "LMConfig", "LMArtifacts", "LanguageModelTask", "token_nll"]

IGNORE = -100  # target of a step that is fed but not scored (context, padding)
LN2 = float(np.log(2.0))


@dataclass
class LMData(DataSection):
    """``path``: the corpus (UTF-8 text or ``.gz``); without it the built-in ``dataset``
    (the bundled Tiny Shakespeare). ``val_path``/``test_path``: separate texts; without
    ``val_path`` the tail ``val_fraction`` of the corpus is validation data."""

    dataset: Optional[Literal["tinyshakespeare"]] = "tinyshakespeare"  # read when path is not given
    # tokens: "char" or "word"
    level: Literal["char", "word"] = "char"
    # level: data.level; bpe: subwords learnt on the training text (each line's without its
    # line break: <eos> ends a line)
    tokenizer: Literal["level", "bpe"] = "level"
    bpe_vocab_size: int = 2000  # with tokenizer="bpe": subwords (learnt on the training split)
    # lowercase the corpus before tokenizing
    lower: bool = False
    min_freq: int = 1  # word level
    max_size: Optional[int] = None  # word level, specials included
    batch_size: int = 64  # parallel streams in training; lines per batch when scoring
    seq_len: int = 100  # truncated-BPTT chunk length
    eval_context: int = 64  # tokens of preceding text each scored line is read after
    # while training, each stream's carried state restarts from zero with this probability per
    # batch, so the model also learns to read from a cold start, as generation and scoring begin
    state_reset: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.require_positive("seq_len", "min_freq")
        check_fraction(self.state_reset, "data.state_reset")
        if self.eval_context < 0:
            raise ConfigError(f"data.eval_context must be >= 0; got {self.eval_context}")
        if self.tokenizer not in ("level", "bpe"):
            raise ConfigError(f"data.tokenizer must be 'level' or 'bpe'; got {self.tokenizer!r}")
        if not isinstance(self.bpe_vocab_size, int) or self.bpe_vocab_size < 16:
            raise ConfigError(f"data.bpe_vocab_size must be an integer >= 16; got {self.bpe_vocab_size!r}")
        if self.max_size is not None and self.max_size < 4:
            raise ConfigError(f"data.max_size must be >= 4 (the special tokens and one word) or none; "
                              f"got {self.max_size}")


@dataclass
class LMGenerate:
    """Defaults of ``rnnkit generate`` (each can be given on the command line)."""

    # text to start from
    prime: str = "\n"
    # tokens to generate
    length: int = 500
    # sampling temperature: 0 is argmax, higher is more varied
    temperature: float = 0.8
    # sample only from the k most likely tokens (none: all)
    top_k: Optional[int] = None
    # sample from the fewest tokens whose probabilities reach p (nucleus; none: all)
    top_p: Optional[float] = None
    # random seed of the sampling
    seed: int = 0

    def __post_init__(self) -> None:
        if self.length < 1:
            raise ConfigError(f"generate.length must be >= 1; got {self.length}")


@dataclass
class LMConfig(TaskConfig):
    task: str = "lm"
    data: LMData = field(default_factory=LMData)
    model: Union[LanguageModelConfig, TransformerLanguageModelConfig] = field(default_factory=LanguageModelConfig)
    generate: LMGenerate = field(default_factory=LMGenerate)


@dataclass
class LMArtifacts(Artifacts):
    """The vocabulary fitted on the training text, and how text was turned into tokens."""

    vocab: Vocab
    level: str  # "char", "word" or "bpe"
    lower: bool
    bpe: Optional[BPETokenizer] = field(default=None, kw_only=True)  # level "bpe": saved as tokenizer.json

    @property
    def subword_breaks(self) -> bool:
        """A BPE run whose subwords hold line breaks (trained before they were left out): read
        as it was trained (:func:`subword_breaks`)."""
        return self.bpe is not None and subword_breaks(self.vocab.tokens)

    def to_dict(self) -> dict[str, Any]:
        out = {"level": self.level, "lower": self.lower, "vocab": self.vocab.to_dict()}
        return out if self.bpe is None else {**out, "tokenizer": self.bpe.to_dict()}

    def files(self) -> dict[str, str]:
        return {} if self.bpe is None else {self.bpe.file: self.bpe.to_json()}

    @classmethod
    def from_dict(cls, raw: dict[str, Any], where: str) -> LMArtifacts:
        if raw.get("level") != "bpe":
            return cls(*text_artifacts(raw, where))
        entry = raw.get("tokenizer")
        if not isinstance(entry, dict):
            raise CheckpointError(f"{where}: artifacts with level 'bpe' need a 'tokenizer' entry; got {str(entry)[:80]}")
        bpe = BPETokenizer.load(Path(where).parent, entry)
        return cls(*text_artifacts({**raw, "level": "word"}, where)[:1], "bpe", bpe.lower, bpe=bpe)


def text_artifacts(raw: dict[str, Any], where: str) -> tuple[Vocab, str, bool]:
    """``vocab``, ``level`` and ``lower`` of a text task's artifacts dict; anything
    malformed is a CheckpointError naming ``where`` and the key."""
    level, lower = raw.get("level"), raw.get("lower")
    if level not in ("char", "word"):
        raise CheckpointError(f"{where}: artifacts key 'level' must be 'char' or 'word'; got {level!r}")
    if not isinstance(lower, bool):
        raise CheckpointError(f"{where}: artifacts key 'lower' must be true or false; got {lower!r}")
    return load_vocab(raw.get("vocab"), where), level, lower


def load_vocab(raw: Any, where: str, key: str = "vocab") -> Vocab:
    """A :class:`Vocab` from its dict; anything malformed is a CheckpointError naming ``where``."""
    if not isinstance(raw, dict) or not isinstance(raw.get("tokens"), list):
        raise CheckpointError(f"{where}: artifacts key {key!r} must be a vocabulary "
                              f"({{\"format\": \"rnnkit.vocab\", \"tokens\": [...]}}); got {str(raw)[:80]}")
    try:
        return Vocab.from_dict(raw, source=f"{where}: {key}")
    except (DataError, TypeError, AttributeError) as exc:
        raise CheckpointError(f"{where}: artifacts key {key!r} is not a valid vocabulary: {exc}") from None


def token_nll(model: nn.Module, batch: Any, *args: Any, state: Any = None) -> tuple[torch.Tensor, torch.Tensor, Any]:
    """Summed NLL (B,) and scored-token counts (B,) of a batch whose per-step targets are
    ``IGNORE`` where nothing is scored; ``args`` go to the model after the ids (a condition)."""
    logits, state = model(batch.inputs, *args, state, lengths=batch.lengths)  # (B, T, V)
    targets = batch.targets
    nll = F.cross_entropy(logits.flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE, reduction="none")
    return nll.view_as(targets).sum(1), (targets != IGNORE).sum(1), state  # (B,), (B,)


def reset_streams(state: Any, p: float) -> Any:
    """``state`` (a tensor or tuple of tensors (layers, B, H)) with each of the B streams zeroed
    with probability ``p`` (the same streams in every tensor)."""
    first = state[0] if isinstance(state, (tuple, list)) else state
    keep = (torch.rand(first.shape[1], device=first.device) >= p).to(first.dtype).view(1, -1, 1)
    return type(state)(t * keep for t in state) if isinstance(state, (tuple, list)) else state * keep


class TokenObjective:
    """Token cross-entropy, weighted by tokens. Stream batches (no ``indices``: LMBatches)
    carry the state for truncated BPTT; batches of independent examples start from none."""

    def __init__(self, condition: bool = False, state_reset: float = 0.0) -> None:
        self.condition, self.state_reset = condition, state_reset

    def metrics(self) -> dict[str, Any]:
        return {"nll": MeanNLL()}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        # stream batches carry the state, unless the model says it does not (the transformer's windows)
        stream = batch.indices is None and getattr(getattr(model, "module", model), "carries_state", True)
        args = (batch.condition,) if self.condition else ()
        if stream and state is not None and self.state_reset and model.training:
            state = reset_streams(state, self.state_reset)
        nll, n, state = token_nll(model, batch, *args, state=state if stream else None)
        nll_sum, n_sum = nll.sum(), n.sum()
        return StepResult(nll_sum / n_sum.clamp(min=1), n_sum, {"nll": (nll_sum.detach(), n_sum)},
                          state if stream else None)


@dataclass
class LMText:
    """A split encoded once: the token stream ``ids`` (N,) and where each example's tokens
    end, ``ends`` (lines,); training batches the stream, scoring batches the lines."""

    ids: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.ends)


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` with their line breaks (``"".join`` gives ``text`` back)."""
    return text.splitlines(keepends=True)


def line_text(line: str) -> str:
    """``line`` without its line break (any that :meth:`str.splitlines` ends a line with)."""
    body = line.splitlines()
    return body[0] if body else ""


def ends_line(text: str) -> bool:
    """Whether ``text`` ends with a line break (as :meth:`str.splitlines` sees one)."""
    return text[-1:].splitlines() == [""]


def subword_breaks(tokens: Any) -> bool:
    """Whether a BPE vocabulary has subwords holding line breaks: a run trained before BPE lines
    were tokenized without their line breaks. Such a run is read as it was trained (each line
    with its line break, then ``<eos>``), so its scores are unchanged; its primes are encoded
    the same way, and the writer writes one line break per line end either way."""
    return any(line_text(t) != t for t in tokens)


def bpe_prime(text: str, bpe: Callable[[str], list[str]], keep_breaks: bool = False) -> list[str]:
    """The subwords of a BPE prime, split into lines as the training text is: each line's subwords
    (without its line break, unless ``keep_breaks``: a run trained before that), and ``<eos>``
    after every line that ends with a line break."""
    tokens: list[str] = []
    for line in split_lines(text):
        body = line_text(line)
        tokens += bpe(line if keep_breaks else body)
        if body != line:
            tokens.append("<eos>")
    return tokens


def row_scores(nll: torch.Tensor, n: torch.Tensor) -> list[tuple[float, int]]:
    return list(zip(nll.tolist(), n.tolist()))


def score_row(nll_sum: float, n: int) -> dict[str, Any]:
    """The NLL columns of a predict row: per token, perplexity, bits, and the token count."""
    if n == 0:
        return {"nll": None, "ppl": None, "bits_per_token": None, "tokens": 0}
    nll = nll_sum / n
    return {"nll": nll, "ppl": float(np.exp(nll)), "bits_per_token": nll / LN2, "tokens": n}


@register
class LanguageModelTask(Task):
    name = "lm"
    description = "language model (char or word level) trained with truncated BPTT; generates text"
    Config = LMConfig
    artifacts_type = LMArtifacts
    builtin_datasets = ("tinyshakespeare",)

    # ------------------------------------------------------------- reading
    def read(self, source: str | Path, *, labelled: bool = True) -> Examples:
        text = read_text(source)
        if not text:
            raise DataError(f"{source}: the text is empty")
        return Examples(split_lines(text), None, str(source), None)

    def read_builtin(self, split: str) -> Examples | None:
        """The corpus (``data.path``, else the bundled Tiny Shakespeare) for ``train``; the
        other splits are its tail or their own files."""
        if split != "train":
            return None
        return self.read(self.config.data.path or bundled_tinyshakespeare())

    def from_memory(self, data: Any, targets: Any = None) -> Examples:
        if isinstance(data, str):
            data = [data]
        if not isinstance(data, (list, tuple)) or not all(isinstance(s, str) for s in data) or not data:
            raise DataError(f"an lm task takes a text or a list of texts; got {type(data).__name__}")
        return Examples(split_lines("".join(s if s.endswith("\n") else s + "\n" for s in data)), None, "input")

    def holdout(self, examples: Examples, fraction: float, seed: int) -> tuple[Examples, Examples]:
        """(kept, held out): the tail ``fraction`` of the characters, cut where it falls
        (a line cut in two continues as the first validation line)."""
        lines = list(examples.inputs)
        sizes = np.fromiter((len(s) for s in lines), dtype=np.int64, count=len(lines))
        total = int(sizes.sum())
        cut = total - int(total * fraction)
        if not 0 < cut < total:
            raise DataError(f"{examples.where}: cannot hold out the last {fraction} of {total} characters "
                            f"and keep some for training")
        ends = np.cumsum(sizes)
        k = int(np.searchsorted(ends, cut, side="left"))  # the line the cut falls in
        offset = cut - (int(ends[k - 1]) if k else 0)
        head, tail = lines[k][:offset], lines[k][offset:]
        kept, held = lines[:k] + ([head] if head else []), ([tail] if tail else []) + lines[k + 1 :]
        return Examples(kept, None, examples.where), Examples(held, None, f"{examples.where} (tail)")

    # ------------------------------------------------------------- fitting and encoding
    def fit(self, train: Examples) -> LMArtifacts:
        d = self.config.data
        if d.tokenizer == "bpe":
            lines = [line_text(s) for s in train.inputs]  # the line end is <eos>, never part of a subword
            bpe = BPETokenizer.train(lines, d.bpe_vocab_size, lower=d.lower)
            counts = Counter(t for line in lines for t in bpe(line))
            vocab = Vocab.from_counts(counts, pad="<pad>", unk="<unk>", bos=None, eos="<eos>")
            return LMArtifacts(vocab, "bpe", d.lower, bpe=bpe)
        if d.level == "char":
            counts = Counter("".join(train.inputs).lower() if d.lower else "".join(train.inputs))
            ranked = Counter({c: counts[c] for c in sorted(counts, key=lambda c: (-counts[c], ord(c)))})
            vocab = Vocab.from_counts(ranked, pad=None, unk=None, bos=None, eos=None)
        else:
            counts = Counter()
            for tokens in self._word_lines(train.inputs, d.lower):
                counts.update(tokens)
            vocab = Vocab.from_counts(counts, min_freq=d.min_freq, max_size=d.max_size, pad="<pad>", unk="<unk>",
                                      bos=None, eos="<eos>")
        return LMArtifacts(vocab, d.level, d.lower)

    @staticmethod
    def _word_lines(lines: Any, lower: bool, bpe: BPETokenizer | None = None, keep_breaks: bool = False) -> Any:
        """Each line's tokens and ``<eos>``: its words (whitespace, the line break included, is
        dropped), or the BPE subwords of the line without its line break (with it: ``keep_breaks``,
        a run trained before that convention)."""
        if bpe is not None:
            return ([*bpe(line if keep_breaks else line_text(line)), "<eos>"] for line in lines)
        tok = WordTokenizer(lower=lower, punctuation="split", strip_html=False)
        return ([*tok(line), "<eos>"] for line in lines)

    def encode(self, examples: Examples) -> LMText:
        a = self.artifacts
        lines = [s.lower() for s in examples.inputs] if a.lower else list(examples.inputs)
        if a.level == "char":
            ids, sizes = self._char_ids("".join(lines), examples.where), [len(s) for s in lines]
        else:
            per_line = [a.vocab.encode(t) for t in self._word_lines(examples.inputs, a.lower, a.bpe, a.subword_breaks)]
            ids, sizes = np.concatenate(per_line).astype(np.int64), [len(t) for t in per_line]
        return LMText(ids, np.cumsum(np.asarray(sizes, dtype=np.int64)))

    def _char_ids(self, text: str, where: str) -> np.ndarray:
        vocab = self.artifacts.vocab
        symbols = np.array([ord(t) for t in vocab.tokens], dtype=np.uint32)
        order = np.argsort(symbols)
        cps = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        pos = np.minimum(np.searchsorted(symbols[order], cps), len(symbols) - 1)
        unknown = symbols[order][pos] != cps
        if unknown.any():  # a char vocabulary has no <unk>: refuse rather than mis-encode
            missing = sorted({chr(c) for c in cps[unknown].tolist()})
            raise DataError(f"{where}: characters the model never saw in training: {missing[:20]!r}")
        return order[pos].astype(np.int64)

    def loader(self, dataset: LMText, *, train: bool) -> Any:
        if train:
            return self._streams(dataset.ids)
        return super().loader(self._lines(dataset), train=False)

    def _streams(self, ids: np.ndarray) -> LMBatches:
        """Contiguous streams for truncated BPTT, unsharded: under DDP the Trainer calls
        ``LMBatches.shard``, which gives each process a contiguous part of the corpus."""
        d = self.config.data
        return LMBatches(ids, d.batch_size, d.seq_len)

    def _lines(self, text: LMText) -> SequenceDataset:
        """One example per line: inputs are up to ``eval_context`` tokens before the line and
        the line's own inputs; the targets score the line's tokens only."""
        ids, ends, ctx = text.ids, text.ends, self.config.data.eval_context
        starts = np.concatenate(([0], ends[:-1]))
        inputs, targets = [], []
        for s, e in zip(starts.tolist(), ends.tolist()):
            s = max(s, 1)  # the first token of the text is not predicted
            if e <= s:  # nothing to score (a one-token first line): one step fed, none scored
                inputs.append(ids[:1])
                targets.append(np.array([IGNORE]))
                continue
            a = max(0, s - 1 - ctx)
            inputs.append(ids[a : e - 1])
            targets.append(np.concatenate((np.full(s - 1 - a, IGNORE), ids[s:e])))
        return SequenceDataset(inputs, targets, target_pad=IGNORE)

    def info(self) -> dict[str, Any]:
        return {"level": self.artifacts.level, "vocabulary": len(self.artifacts.vocab)}

    # ------------------------------------------------------------- model
    def build_model(self) -> LanguageModel | TransformerLanguageModel:
        m = self.config.model.replace(vocab_size=len(self.artifacts.vocab))
        return TransformerLanguageModel(m) if isinstance(m, TransformerLanguageModelConfig) else LanguageModel(m)

    def objective(self, *, final: bool = True) -> TokenObjective:
        return TokenObjective(state_reset=self.config.data.state_reset)

    # ------------------------------------------------------------- prediction
    def predict_batch(self, model: nn.Module, batch: Any) -> list[tuple[float, int]]:
        nll, n, _ = token_nll(model, batch)
        return row_scores(nll, n)

    def format_row(self, examples: Examples, i: int, output: tuple[float, int]) -> dict[str, Any]:
        """The line (without its line break), its mean NLL in nats per token, perplexity,
        bits per token and the number of tokens scored."""
        return {"text": examples.inputs[i].rstrip("\r\n"), **score_row(*output)}

    # ------------------------------------------------------------- generation
    def encode_prompt(self, text: str) -> torch.Tensor:
        """Token ids (P,) of a prime text; unknown characters are named in a DataError."""
        a = self.artifacts
        if a.level == "char":
            text = text.lower() if a.lower else text
            missing = sorted({ch for ch in text if ch not in a.vocab})
            if missing:
                raise DataError(f"--prime has characters the model never saw: {missing!r}")
            tokens = list(text)
        elif a.bpe is not None:  # each line's subwords and <eos> at its line break, as the training text
            tokens = bpe_prime(text, a.bpe, a.subword_breaks)
        else:  # words, and <eos> at each line break, as the training text was encoded
            lines = text.split("\n")
            tok = WordTokenizer(lower=a.lower, punctuation="split", strip_html=False)
            tokens = [t for i, line in enumerate(lines)
                      for t in [*tok(line), *(["<eos>"] if i < len(lines) - 1 else [])]]
        if not tokens:
            raise DataError("--prime must contain at least one token")
        return torch.as_tensor(a.vocab.encode(tokens), dtype=torch.long)

    def decode(self, ids: Any, line_start: bool = True) -> str:
        writer = TextWriter(self.artifacts.vocab, self.artifacts.level, line_start)
        return "".join(writer(int(i)) for i in ids)

    def generate(self, model: LanguageModel, prime: str | None = None, length: int | None = None,
                 temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None, on_text: Callable[[str], None] | None = None) -> str:
        """The prime followed by ``length`` sampled tokens, as text (unset arguments: ``[generate]``).
        ``on_text`` receives the text piece by piece as it is written (the CLI streams it)."""
        g = self.config.generate
        prime = g.prime if prime is None else prime
        ids = self.encode_prompt(prime).to(next(model.parameters()).device)
        head = prime + ("" if self.artifacts.level in ("char", "bpe") or prime.endswith("\n") else " ")
        # BPE: the first subword's word mark is the space after the prime, unless a line starts there
        start = self.artifacts.level != "bpe" or not prime or ends_line(prime)
        writer = TextWriter(self.artifacts.vocab, self.artifacts.level, start)
        if on_text is not None:
            on_text(head)
        new = model.generate(ids, g.length if length is None else length,
                             temperature=g.temperature if temperature is None else temperature,
                             top_k=g.top_k if top_k is None else top_k, top_p=g.top_p if top_p is None else top_p,
                             seed=g.seed if seed is None else seed,
                             on_token=None if on_text is None else lambda tok: on_text(writer(int(tok[0]))))
        return head + self.decode(new[0], start)


class TextWriter:
    """Token ids to text one at a time: characters as they are; words separated by spaces,
    BPE subwords glued, ``<eos>`` as a line break (so ``"".join`` of the pieces is the decoded
    text). One line break per line end: a subword that ends with one (a BPE run trained before
    line breaks were left out of subwords) has written it, so the ``<eos>`` after it writes nothing."""

    def __init__(self, vocab: Vocab, level: str, line_start: bool = True) -> None:
        self.vocab, self.level, self.line_start = vocab, level, line_start
        self.broken = False  # the last piece written was a subword ending with a line break

    def __call__(self, token_id: int) -> str:
        token = self.vocab.decode([token_id], skip_specials=False)[0]
        if self.level == "char":
            return token
        if token_id == self.vocab.eos_id:  # a line break: the text goes on (the corpus is many lines)
            piece = "" if self.broken else "\n"
            self.line_start, self.broken = True, False
            return piece
        if token_id == self.vocab.pad_id:
            return ""
        if self.level == "bpe":  # subwords glued; a word's first one starts with "▁" (a space)
            piece = token.replace(MARK, " ")
            piece = piece.lstrip(" ") if self.line_start else piece
            self.broken = self.line_start = ends_line(piece)
            return piece
        piece = token if self.line_start else " " + token
        self.line_start = False
        return piece
