"""Byte-pair-encoding subwords (``data.tokenizer = "bpe"``), trained with Hugging Face
``tokenizers`` on the training split only.

The text is NFKC-normalised (and lowercased with ``lower``), split at whitespace with each
word's start marked by ``▁`` (SentencePiece's metaspace), then cut into the learnt
subwords. Every character seen in training is a subword, so a rare word made of known
characters never becomes ``<unk>``; a character never seen in training does. Joining the
tokens back (:meth:`BPETokenizer.join`) gives the normalised text with single spaces.

>>> tok = BPETokenizer.train(["the cat sat on the mat"] * 3, vocab_size=40)
>>> tok("The mat-cat")
['▁the', '▁mat', '<unk>', 'cat']
>>> tok.join(tok("the cats sat"))
'the cats sat'

A run directory keeps the trained tokenizer as its own JSON file beside
``artifacts.json`` (the file ``tokenizers`` writes); ``artifacts.json`` names it
(:meth:`to_dict`) and :func:`rnnkit.data.tokenizer_from_dict` reads it back.
The ``tokenizers`` package is the optional extra ``text``: ``pip install rnnkit[text]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rnnkit.errors import CheckpointError, ConfigError

__all__ = ["BPETokenizer", "UNK", "MARK"]

UNK = "<unk>"  # the subword of a character never seen in training
MARK = "\u2581"  # "▁": a word starts here


def _tokenizers() -> Any:
    try:
        import tokenizers
    except ImportError:
        raise ConfigError(
            "data.tokenizer='bpe' needs the Hugging Face 'tokenizers' package: pip install rnnkit[text]"
        ) from None
    return tokenizers


class BPETokenizer:
    """A trained BPE tokenizer: ``tok(text) -> list[str]`` subwords, ``tok.join(tokens) -> str``.

    Args:
        model: the ``tokenizers.Tokenizer`` (build one with :meth:`train` or :meth:`from_json`).
        lower: whether the text is lowercased first (part of the model; kept for ``to_dict``).
        file: the file name it is saved under in a run directory.
    """

    level = "bpe"

    def __init__(self, model: Any, *, lower: bool, file: str = "tokenizer.json") -> None:
        self.model, self.lower, self.file = model, bool(lower), file

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, *, lower: bool = True, min_frequency: int = 2,
              file: str = "tokenizer.json") -> BPETokenizer:
        """Learn merges on ``texts`` until ``vocab_size`` subwords (``<unk>`` and the alphabet included)."""
        if not isinstance(vocab_size, int) or isinstance(vocab_size, bool) or vocab_size < 2:
            raise ConfigError(f"the BPE vocab_size must be an integer >= 2; got {vocab_size!r}")
        tk = _tokenizers()
        model = tk.Tokenizer(tk.models.BPE(unk_token=UNK))
        norms = [tk.normalizers.NFKC()] + ([tk.normalizers.Lowercase()] if lower else [])
        model.normalizer = tk.normalizers.Sequence(norms)
        model.pre_tokenizer = tk.pre_tokenizers.Metaspace(replacement=MARK, prepend_scheme="always")
        model.decoder = tk.decoders.Metaspace(replacement=MARK, prepend_scheme="always")
        trainer = tk.trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                         special_tokens=[UNK], show_progress=False)
        model.train_from_iterator(texts, trainer)
        return cls(model, lower=lower, file=file)

    def __call__(self, text: str) -> list[str]:
        return self.model.encode(text, add_special_tokens=False).tokens

    def join(self, tokens: list[str]) -> str:
        """The text of ``tokens``: subwords glued, each run of ``▁`` back to one space."""
        return " ".join("".join(tokens).replace(MARK, " ").split())

    @property
    def vocab_size(self) -> int:
        return int(self.model.get_vocab_size())

    # ------------------------------------------------------------------ storage
    def to_json(self) -> str:
        return self.model.to_str()

    @classmethod
    def from_json(cls, text: str, *, lower: bool, file: str = "tokenizer.json", where: str = "tokenizer") -> BPETokenizer:
        tk = _tokenizers()
        try:
            model = tk.Tokenizer.from_str(text)
        except Exception as e:  # tokenizers raises its own Exception type
            raise CheckpointError(f"{where}: not a tokenizers JSON file ({e})") from None
        return cls(model, lower=lower, file=file)

    @classmethod
    def load(cls, folder: str | Path, d: dict[str, Any]) -> BPETokenizer:
        """The tokenizer a :meth:`to_dict` entry names, read from ``folder``."""
        file = d.get("file")
        if not isinstance(file, str) or not file or Path(file).name != file:
            raise CheckpointError(f"a bpe tokenizer entry needs 'file': a file name in the run directory; got {file!r}")
        path = Path(folder) / file
        if not path.is_file():
            raise CheckpointError(f"{path} is missing: the BPE tokenizer of this run (saved beside artifacts.json)")
        return cls.from_json(path.read_text(encoding="utf-8"), lower=bool(d.get("lower", True)), file=file,
                             where=str(path))

    def to_dict(self) -> dict[str, Any]:
        return {"level": "bpe", "lower": self.lower, "vocab_size": self.vocab_size, "file": self.file}

    def __repr__(self) -> str:
        return f"BPETokenizer(vocab_size={self.vocab_size}, lower={self.lower}, file={self.file!r})"
