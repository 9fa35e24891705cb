"""Tokenizers, vocabularies and scalers rebuilt from ``artifacts.json`` in plain Python +
numpy — the same rules as :mod:`rnnkit.data.tokenize`, :mod:`rnnkit.data.vocab` and
:mod:`rnnkit.data.scalers` (which live in a package that imports torch)."""

from __future__ import annotations

import re
from typing import Any, Callable

import numpy as np

_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)
_WORD = r"\w+(?:['’]\w+)*"
_PATTERNS = {"split": re.compile(rf"{_WORD}|[^\w\s]"), "strip": re.compile(_WORD)}
_SPECIAL_ROLES = ("pad", "unk", "bos", "eos")


def tokenizer(spec: dict[str, Any]) -> Callable[[str], list[str]]:
    """The tokenizer a ``tokenizer`` entry of artifacts.json describes."""
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
