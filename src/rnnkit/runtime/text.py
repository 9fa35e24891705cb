"""Tokenizers, vocabularies and scalers rebuilt from ``artifacts.json`` in plain Python +
numpy — the same rules as :mod:`rnnkit.data.tokenize`, :mod:`rnnkit.data.vocab` and
:mod:`rnnkit.data.scalers` (which live in a package that imports torch).

BPE subwords (``data.tokenizer = "bpe"``, level ``"bpe"``) are read from their own JSON file in
the export folder (``rnnkit export`` copies it beside ``artifacts.json``) with Hugging Face
``tokenizers`` (no torch; the optional extra ``text``), exactly as
:class:`rnnkit.data.bpe.BPETokenizer` encodes and joins them."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import numpy as np

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_WORD = r"\w+(?:['’]\w+)*"
_PATTERNS = {"split": re.compile(rf"{_WORD}|[^\w\s]"), "strip": re.compile(_WORD)}
_SPECIAL_ROLES = ("pad", "unk", "bos", "eos")
MARK = "\u2581"  # "▁": a BPE subword that starts a word (as rnnkit.data.bpe.MARK)
TEXT_HINT = "pip install rnnkit[text] (or pip install tokenizers)"


class RuntimeError_(ValueError):
    """A bad export folder or a bad input (the message says which and what was expected)."""


class BPE:
    """The BPE tokenizer of an export: ``bpe(text) -> list[str]`` subwords and ``bpe.join(tokens)
    -> str``, the same as :class:`rnnkit.data.bpe.BPETokenizer` (``model``: a
    ``tokenizers.Tokenizer``; build one with :meth:`load`)."""

    level = "bpe"

    def __init__(self, model: Any, path: Path | None = None) -> None:
        self.model, self.path = model, path

    @classmethod
    def load(cls, spec: dict[str, Any], folder: str | Path) -> BPE:
        """The tokenizer a ``{"level": "bpe", "file": ...}`` entry names, read from ``folder``."""
        file = spec.get("file")
        if not isinstance(file, str) or not file or Path(file).name != file:
            raise RuntimeError_(f"a bpe tokenizer entry of artifacts.json needs 'file': a file name in the export "
                                f"folder; got {file!r}")
        path = Path(folder) / file
        if not path.is_file():
            raise RuntimeError_(f"{path} is missing: the BPE tokenizer of this export (rnnkit export copies it "
                                "beside artifacts.json; export the run again, or copy it from the run directory)")
        try:
            import tokenizers
        except ImportError:
            raise RuntimeError_(f"{path}: this export's BPE tokenizer (data.tokenizer='bpe') needs the Hugging Face "
                                f"'tokenizers' package, which is not installed: {TEXT_HINT}") from None
        try:
            model = tokenizers.Tokenizer.from_file(str(path))
        except Exception as e:  # tokenizers raises its own Exception type
            raise RuntimeError_(f"{path}: not a tokenizers JSON file (the BPE tokenizer of this export): {e}") from None
        return cls(model, path)

    def __call__(self, text: str) -> list[str]:
        return self.model.encode(text, add_special_tokens=False).tokens

    def join(self, tokens: list[str]) -> str:
        """The text of ``tokens``: subwords glued, each run of ``▁`` back to one space."""
        return " ".join("".join(tokens).replace(MARK, " ").split())

    def __repr__(self) -> str:
        return f"BPE({str(self.path)!r})"


def tokenizer(spec: dict[str, Any], folder: str | Path | None = None) -> Callable[[str], list[str]]:
    """The tokenizer a ``tokenizer`` entry of artifacts.json describes; a ``bpe`` one (a
    :class:`BPE`) is read from its file in ``folder``, the export folder."""
    if spec.get("level") == "bpe":
        if folder is None:
            raise RuntimeError_("a bpe tokenizer is read from its JSON file in the export folder; no folder was given")
        return BPE.load(spec, folder)
    level, lower, strip_html = spec.get("level", "word"), bool(spec.get("lower")), bool(spec.get("strip_html"))
    punctuation = spec.get("punctuation", "split")

    def tokens(text: str) -> list[str]:
        if strip_html:
            text = _BR.sub(" ", text)
        if lower:
            text = text.lower()
        if level == "char":
            return list(text)
        if punctuation == "keep":
            return text.split()
        return _PATTERNS[punctuation].findall(text)

    return tokens


class Vocab:
    """Token ⇄ id as in artifacts.json: the specials first (pad, unk, bos, eos), then the tokens."""

    def __init__(self, spec: dict[str, Any]) -> None:
        specials = spec.get("specials", {})
        named = [(role, specials[role]) for role in _SPECIAL_ROLES if specials.get(role) is not None]
        self.tokens: list[str] = [tok for _, tok in named] + list(spec["tokens"])
        self.index = {tok: i for i, tok in enumerate(self.tokens)}
        ids = {role: i for i, (role, _) in enumerate(named)}
        self.pad_id, self.unk_id = ids.get("pad"), ids.get("unk")
        self.bos_id, self.eos_id = ids.get("bos"), ids.get("eos")

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: str) -> bool:
        return token in self.index

    def encode(self, tokens: list[str]) -> np.ndarray:
        get, unk = self.index.get, self.unk_id
        ids = [get(t, unk) for t in tokens]
        if unk is None and None in ids:
            raise ValueError(f"token {tokens[ids.index(None)]!r} is not in the vocabulary and it has no unk token")
        return np.asarray(ids, dtype=np.int64)

    def decode(self, ids) -> list[str]:
        out, drop = [], {self.pad_id, self.bos_id}
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if i == self.eos_id and i is not None:
                break
            if i in drop:
                continue
            out.append(self.tokens[i])
        return out


class Scaler:
    """``standard`` ((x - mean) / std) or ``minmax`` from a scaler entry of artifacts.json."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.kind = spec["kind"]
        if self.kind == "standard":
            self.a = 1.0 / np.asarray(spec["std"], dtype=np.float64)
            self.b = -np.asarray(spec["mean"], dtype=np.float64) * self.a
            self.mean, self.std = np.asarray(spec["mean"]), np.asarray(spec["std"])
        elif self.kind == "minmax":
            lo, hi = spec.get("feature_range", (0.0, 1.0))
            dmin, dmax = np.asarray(spec["data_min"], np.float64), np.asarray(spec["data_max"], np.float64)
            span = dmax - dmin
            self.scale = (hi - lo) / np.where(span > 0, span, 1.0)
            self.dmin, self.lo = dmin, lo
        else:
            raise ValueError(f"unknown scaler kind {self.kind!r}")

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if self.kind == "standard":
            out = (x - self.mean) / self.std
        else:
            out = (x - self.dmin) * self.scale + self.lo
        return out.astype(x.dtype if x.dtype in (np.float32, np.float64) else np.float64)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if self.kind == "standard":
            out = x * self.std + self.mean
        else:
            out = (x - self.lo) / self.scale + self.dmin
        return out.astype(x.dtype if x.dtype in (np.float32, np.float64) else np.float64)


def scaler(spec: dict[str, Any] | None) -> Scaler | None:
    return None if spec is None else Scaler(spec)
