"""Tokenizers: text → list of string tokens, char or word level (BPE subwords: :mod:`rnnkit.data.bpe`).

A tokenizer is a small frozen dataclass: calling it on a string returns the
tokens, ``to_dict()``/``tokenizer_from_dict()`` store it beside the vocabulary in
a run directory so prediction tokenizes exactly as training did.

>>> WordTokenizer()("Great film!<br /><br />Loved it.")
['great', 'film', '!', 'loved', 'it', '.']
>>> WordTokenizer(punctuation="strip")("Don't stop.")
["don't", 'stop']
>>> CharTokenizer()("Hi!")
['H', 'i', '!']
"""

from __future__ import annotations

import re
from pathlib import Path
from dataclasses import asdict, dataclass
from typing import Any, Literal

from rnnkit.data.bpe import BPETokenizer
from rnnkit.errors import ConfigError

__all__ = ["CharTokenizer", "WordTokenizer", "Tokenizer", "clean_html", "get_tokenizer", "tokenizer_from_dict"]

# Reviews (IMDB) carry literal line-break tags; other tags are rare enough that
# removing all of them would risk eating real text such as "a <b> c".
_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
# A word keeps inner apostrophes ("don't", "o'clock") as Keras' Tokenizer does.
_WORD = r"\w+(?:['’]\w+)*"
_PATTERNS = {
    "split": re.compile(rf"{_WORD}|[^\w\s]"),  # punctuation marks become their own tokens
    "strip": re.compile(_WORD),  # punctuation is dropped
}

Punctuation = Literal["split", "strip", "keep"]


def clean_html(text: str) -> str:
    """Replace HTML line breaks (``<br />``, ``<br>``, ``<BR/>``) by a space."""
    return _BR.sub(" ", text)


@dataclass(frozen=True)
class CharTokenizer:
    """Every Unicode character is a token (newlines and spaces included).

    Args:
        lower: lowercase the text first.
        strip_html: replace ``<br />`` tags by a space first.
    """

    lower: bool = False
    strip_html: bool = False
    level: Literal["char"] = "char"

    def __call__(self, text: str) -> list[str]:
        if self.strip_html:
            text = clean_html(text)
        if self.lower:
            text = text.lower()
        return list(text)

    def join(self, tokens: list[str]) -> str:
        """The text of ``tokens`` (a prediction): glued."""
        return "".join(tokens)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WordTokenizer:
    """Words are runs of letters/digits (with inner apostrophes).

    Args:
        lower: lowercase the text first (default on, as for review classification).
        punctuation: ``"split"`` makes each punctuation mark a token, ``"strip"`` drops
            them, ``"keep"`` splits on whitespace only (punctuation stays attached).
        strip_html: replace ``<br />`` tags by a space first (default on).
    """

    lower: bool = True
    punctuation: Punctuation = "split"
    strip_html: bool = True
    level: Literal["word"] = "word"

    def __post_init__(self) -> None:
        if self.punctuation not in ("split", "strip", "keep"):
            raise ConfigError(
                f"punctuation must be 'split', 'strip' or 'keep'; got {self.punctuation!r}"
            )

    def __call__(self, text: str) -> list[str]:
        if self.strip_html:
            text = clean_html(text)
        if self.lower:
            text = text.lower()
        if self.punctuation == "keep":
            return text.split()
        return _PATTERNS[self.punctuation].findall(text)

    def join(self, tokens: list[str]) -> str:
        """The text of ``tokens`` (a prediction): space-separated."""
        return " ".join(tokens)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Tokenizer = CharTokenizer | WordTokenizer | BPETokenizer


def get_tokenizer(level: str, **options: Any) -> Tokenizer:
    """A tokenizer by level name: ``"char"`` or ``"word"``, with its options."""
    if level == "char":
        cls: type = CharTokenizer
    elif level == "word":
        cls = WordTokenizer
    else:
        raise ConfigError(f"tokenizer level must be 'char' or 'word'; got {level!r}")
    try:
        return cls(**options)
    except TypeError as e:
        raise ConfigError(f"bad option for the {level} tokenizer: {e}") from None


def tokenizer_from_dict(d: dict[str, Any], folder: str | Path | None = None) -> Tokenizer:
    """Rebuild a tokenizer from :meth:`to_dict` output; a ``bpe`` one reads its JSON file
    from ``folder`` (the run directory)."""
    d = dict(d)
    level = d.pop("level", None)
    if level is None:
        raise ConfigError(f"tokenizer dict needs a 'level' key; got keys {sorted(d)}")
    if level == "bpe":
        if folder is None:
            raise ConfigError("a bpe tokenizer is read from its run directory's JSON file; no folder was given")
        return BPETokenizer.load(folder, d)
    return get_tokenizer(level, **d)
