"""Task ``lm``: character- or word-level language modelling with truncated BPTT.

The corpus is laid out as ``batch_size`` contiguous streams (:class:`rnnkit.data.LMBatches`);
the Trainer carries the recurrent state from one chunk of ``seq_len`` steps to the next,
detaching it at the boundary, and resets it every epoch. Metrics: mean NLL (nats),
perplexity and bits per token (bits per character at char level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

import torch
from torch import nn
from torch.nn import functional as F

from rnnkit.data import LMBatches, Vocab
from rnnkit.data.sources import encode_text_file, load_text_corpus
from rnnkit.data.tokenize import WordTokenizer
from rnnkit.errors import ConfigError, DataError
from rnnkit.models import LanguageModel, LanguageModelConfig
from rnnkit.tasks.base import PreparedData, Task
from rnnkit.tasks.registry import register
from rnnkit.train import MeanNLL, RunDir, StepResult, TrainConfig, distributed

VOCAB_FILE = "vocab.json"


@dataclass
class LMData:
    path: Optional[str] = None  # UTF-8 text (or .gz); None = the bundled Tiny Shakespeare
    val_path: Optional[str] = None  # separate validation text; else the tail val_fraction of path
    test_path: Optional[str] = None
    level: Literal["char", "word"] = "char"
    lower: bool = False
    val_fraction: float = 0.1
    min_freq: int = 1  # word level
    max_size: Optional[int] = None  # word level, specials included
    batch_size: int = 64  # parallel streams
    seq_len: int = 100  # truncated-BPTT chunk length


@dataclass
class LMGenerate:
    """Defaults of ``rnnkit generate`` (each can be given on the command line)."""

    prime: str = "\n"
    length: int = 500
    temperature: float = 0.8
    top_k: Optional[int] = None
    top_p: Optional[float] = None
    seed: int = 0


@dataclass
class LMConfig:
    task: str = "lm"
    data: LMData = field(default_factory=LMData)
    model: LanguageModelConfig = field(default_factory=LanguageModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    generate: LMGenerate = field(default_factory=LMGenerate)


class LMObjective:
    """Token cross-entropy; the state flows in and out for truncated BPTT."""

    def metrics(self) -> dict[str, Any]:
        return {"nll": MeanNLL()}

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult:
        logits, state = model(batch.inputs, state)  # (B, T, V)
        nll_sum = F.cross_entropy(logits.flatten(0, 1).float(), batch.targets.flatten(), reduction="sum")
        n = batch.targets.numel()
        return StepResult(nll_sum / n, n, {"nll": (nll_sum.detach(), n)}, state)


@register
class LanguageModelTask(Task):
    name = "lm"
    description = "language model (char or word level) trained with truncated BPTT; generates text"
    Config = LMConfig

    def __init__(self, config: LMConfig) -> None:
        super().__init__(config)
        self.vocab: Vocab | None = None

    # ------------------------------------------------------------- data
    def _batches(self, ids) -> LMBatches:
        """Contiguous streams; under DDP each process reads its own shard of the corpus."""
        d = self.config.data
        return LMBatches(ids, d.batch_size, d.seq_len, rank=distributed.rank(), world_size=distributed.world_size())

    def _encode_file(self, path: str | Path):
        d = self.config.data
        return encode_text_file(path, self.vocab, level=d.level, lower=d.lower)

    def prepare(self, run_dir: RunDir | None) -> PreparedData:
        d = self.config.data
        if self.vocab is not None:  # artifacts loaded from a run: reuse the fitted vocabulary
            corpus_ids = self._encode_file(d.path) if d.path else None
            train_ids, val_ids = _split_tail(corpus_ids if corpus_ids is not None else self._bundled_ids(), d)
        else:
            corpus = load_text_corpus(d.path, level=d.level, val_fraction=0.0 if d.val_path else d.val_fraction,
                                      lower=d.lower, min_freq=d.min_freq, max_size=d.max_size)
            self.vocab, train_ids, val_ids = corpus.vocab, corpus.train, corpus.val
        if d.val_path:
            val_ids = self._encode_file(d.val_path)
        if run_dir is not None:
            self.vocab.save(run_dir.path / VOCAB_FILE)
        val = self._batches(val_ids) if len(val_ids) > d.batch_size * 2 else None
        test = self._batches(self._encode_file(d.test_path)) if d.test_path else None
        info = {"corpus": d.path or "bundled Tiny Shakespeare", "level": d.level, "vocabulary": len(self.vocab),
                "train tokens": len(train_ids), "validation tokens": len(val_ids)}
        return PreparedData(self._batches(train_ids), val, test, info)

    def _bundled_ids(self):
        from rnnkit.data.sources import bundled_tinyshakespeare

        return self._encode_file(bundled_tinyshakespeare())

    def load_artifacts(self, run_dir: RunDir) -> None:
        path = run_dir.path / VOCAB_FILE
        if not path.is_file():
            raise DataError(f"{run_dir.path} has no {VOCAB_FILE}: it was not written by an lm run")
        self.vocab = Vocab.load(path)

    # ------------------------------------------------------------- model
    def build_model(self) -> LanguageModel:
        if self.vocab is None:
            raise ConfigError("the vocabulary is not known yet: call prepare() or load_artifacts() first")
        cfg = self.config.model
        cfg.vocab_size = len(self.vocab)
        return LanguageModel(cfg)

    def objective(self) -> LMObjective:
        return LMObjective()

    def evaluation_data(self, path: str | Path) -> LMBatches:
        return self._batches(self._encode_file(path))

    # ------------------------------------------------------------- use
    def encode_prompt(self, text: str) -> torch.Tensor:
        """Token ids (P,) of a prime text; unknown characters are named in a DataError."""
        d = self.config.data
        if d.level == "char":
            text = text.lower() if d.lower else text
            missing = sorted({ch for ch in text if ch not in self.vocab})
            if missing:
                raise DataError(f"--prime has characters the model never saw: {missing!r}")
            tokens = list(text)
        else:
            tokens = WordTokenizer(lower=d.lower, punctuation="split", strip_html=False)(text)
        if not tokens:
            raise DataError("--prime must contain at least one token")
        return torch.as_tensor(self.vocab.encode(tokens), dtype=torch.long)

    def decode(self, ids) -> str:
        tokens = self.vocab.decode([int(i) for i in ids])
        return "".join(tokens) if self.config.data.level == "char" else " ".join(tokens).replace(" <eos> ", "\n")

    def generate(self, model: LanguageModel, prime: str | None = None, length: int | None = None,
                 temperature: float | None = None, top_k: int | None = None, top_p: float | None = None,
                 seed: int | None = None) -> str:
        """The prime followed by ``length`` sampled tokens, as text."""
        g = self.config.generate
        prime = g.prime if prime is None else prime
        ids = self.encode_prompt(prime)
        new = model.generate(ids, g.length if length is None else length,
                             temperature=g.temperature if temperature is None else temperature,
                             top_k=g.top_k if top_k is None else top_k, top_p=g.top_p if top_p is None else top_p,
                             seed=g.seed if seed is None else seed)
        sep = "" if self.config.data.level == "char" else " "
        return prime + sep + self.decode(new[0])

    def predict(self, model: nn.Module, source: str | Path | list[str]) -> list[dict[str, Any]]:
        """Per line: its mean NLL (nats/token), perplexity and bits per token under the model."""
        lines = Path(source).read_text(encoding="utf-8").splitlines() if isinstance(source, (str, Path)) else source
        rows = []
        model.eval()
        with torch.no_grad():
            for line in lines:
                ids = self.encode_prompt(line if self.config.data.level == "word" else line + "\n")
                if len(ids) < 2:
                    rows.append({"text": line, "nll": None, "ppl": None, "bits_per_token": None})
                    continue
                logits, _ = model(ids[None, :-1])
                nll = float(F.cross_entropy(logits[0], ids[1:]))
                rows.append({"text": line, "nll": nll, "ppl": float(torch.tensor(nll).exp()),
                             "bits_per_token": nll / 0.6931471805599453})
        return rows


def _split_tail(ids, d: LMData):
    n_train = len(ids) - (0 if d.val_path else int(len(ids) * d.val_fraction))
    return ids[:n_train], ids[n_train:]
