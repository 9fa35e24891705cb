"""Vocabulary: token ↔ integer id, built from training data.

Ids are laid out as:

* the special tokens first, in the order pad, unk, bos, eos (each optional) —
  so the padding id is **0** whenever a pad token exists, which is what
  :func:`rnnkit.data.pad_sequences` and the batch collation fill with;
* then the ordinary tokens **ranked by their frequency in the training data**
  (most frequent first, ties in order of first appearance), as
  ``keras.datasets.imdb`` does, so ``max_size`` keeps the most useful words.

>>> v = Vocab.build([["a", "b", "a"], ["c", "a"]])
>>> v.tokens
['<pad>', '<unk>', '<bos>', '<eos>', 'a', 'b', 'c']
>>> v.encode(["a", "zzz"]).tolist()
[4, 1]
>>> v.decode([2, 4, 5, 3, 0])
['a', 'b']
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from rnnkit.data._files import PathLike, atomic_write_text, read_text
from rnnkit.errors import DataError

__all__ = ["Vocab"]

_FORMAT = "rnnkit.vocab"
_SPECIAL_ROLES = ("pad", "unk", "bos", "eos")


class Vocab:
    """A fixed mapping between tokens and ids (see the module docstring for the layout).

    Args:
        tokens: the ordinary tokens in id order (duplicates and specials are errors).
        pad, unk, bos, eos: the special tokens, or ``None`` to leave one out.
            Without ``unk`` an unknown token is a DataError when encoding.
    """

    def __init__(
        self,
        tokens: Sequence[str],
        *,
        pad: str | None = "<pad>",
        unk: str | None = "<unk>",
        bos: str | None = "<bos>",
        eos: str | None = "<eos>",
    ) -> None:
        self.specials: dict[str, str] = {
            role: tok for role, tok in zip(_SPECIAL_ROLES, (pad, unk, bos, eos)) if tok is not None
        }
        self.tokens: list[str] = list(self.specials.values()) + list(tokens)
        self._index: dict[str, int] = {}
        for i, tok in enumerate(self.tokens):
            if not isinstance(tok, str):
                raise DataError(f"vocabulary tokens must be str; got {type(tok).__name__} {tok!r} at id {i}")
            if tok in self._index:
                raise DataError(f"vocabulary token {tok!r} appears twice (ids {self._index[tok]} and {i})")
            self._index[tok] = i
        ids = {role: self._index[tok] for role, tok in self.specials.items()}
        self.pad_id: int | None = ids.get("pad")
        self.unk_id: int | None = ids.get("unk")
        self.bos_id: int | None = ids.get("bos")
        self.eos_id: int | None = ids.get("eos")

    # ------------------------------------------------------------------ build
    @classmethod
    def build(
        cls,
        sequences: Iterable[Iterable[str]],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        pad: str | None = "<pad>",
        unk: str | None = "<unk>",
        bos: str | None = "<bos>",
        eos: str | None = "<eos>",
    ) -> Vocab:
        """Count tokens over ``sequences`` (the training part only) and rank them.

        Args:
            sequences: tokenized training examples.
            min_freq: drop tokens seen fewer times than this.
            max_size: the largest ``len(vocab)``, specials included (so it is the
                embedding table size); the least frequent tokens are dropped.
        """
        counts: Counter[str] = Counter()
        for seq in sequences:
            counts.update(seq)
        return cls.from_counts(counts, min_freq=min_freq, max_size=max_size, pad=pad, unk=unk, bos=bos, eos=eos)

    @classmethod
    def from_counts(
        cls,
        counts: Counter[str] | dict[str, int],
        *,
        min_freq: int = 1,
        max_size: int | None = None,
        pad: str | None = "<pad>",
        unk: str | None = "<unk>",
        bos: str | None = "<bos>",
        eos: str | None = "<eos>",
    ) -> Vocab:
        """Like :meth:`build` from ready token counts (insertion order breaks ties)."""
        if min_freq < 1:
            raise DataError(f"min_freq must be >= 1; got {min_freq}")
        specials = {t for t in (pad, unk, bos, eos) if t is not None}
        if max_size is not None and max_size < len(specials):
            raise DataError(f"max_size must be >= the {len(specials)} special tokens; got {max_size}")
        # sorted() is stable, so equal counts keep their first-appearance order.
        ranked = sorted(
            (t for t, c in counts.items() if c >= min_freq and t not in specials),
            key=lambda t: -counts[t],
        )
        if max_size is not None:
            ranked = ranked[: max_size - len(specials)]
        return cls(ranked, pad=pad, unk=unk, bos=bos, eos=eos)

    # ------------------------------------------------------------------ lookup
    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def __getitem__(self, token: str) -> int:
        return self.token_to_id(token)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.tokens == other.tokens and self.specials == other.specials

    def __repr__(self) -> str:
        return f"Vocab(size={len(self)}, specials={self.specials})"

    def token_to_id(self, token: str) -> int:
        """The id of ``token`` (the unk id if unknown; a DataError when there is no unk)."""
        i = self._index.get(token, self.unk_id)
        if i is None:
            raise DataError(f"token {token!r} is not in the vocabulary and it has no unk token")
        return i

    def id_to_token(self, i: int) -> str:
        if not 0 <= i < len(self.tokens):
            raise DataError(f"id must be in [0, {len(self.tokens)}); got {i}")
        return self.tokens[i]

    # ------------------------------------------------------------------ encode / decode
    def encode(self, tokens: Iterable[str], *, add_bos: bool = False, add_eos: bool = False) -> np.ndarray:
        """Token ids of one example, shape (T,) int64; optionally framed by bos/eos."""
        get, unk = self._index.get, self.unk_id
        tokens = tokens if isinstance(tokens, Sequence) else list(tokens)
        ids = [get(t, unk) for t in tokens]
        if unk is None and None in ids:
            missing = tokens[ids.index(None)]
            raise DataError(f"token {missing!r} is not in the vocabulary and it has no unk token")
        if add_bos:
            ids.insert(0, self._required("bos"))
        if add_eos:
            ids.append(self._required("eos"))
        return np.asarray(ids, dtype=np.int64)

    def encode_many(
        self, sequences: Iterable[Iterable[str]], *, add_bos: bool = False, add_eos: bool = False
    ) -> list[np.ndarray]:
        """:meth:`encode` for each example (done once, before batching)."""
        return [self.encode(s, add_bos=add_bos, add_eos=add_eos) for s in sequences]

    def decode(self, ids: Iterable[int] | np.ndarray, *, skip_specials: bool = True) -> list[str]:
        """Tokens of ``ids``; with ``skip_specials`` pad/bos/eos are dropped (unk is kept).

        Decoding stops at the first eos when ``skip_specials`` is set, as generated
        sequences continue past it.
        """
        out = []
        drop = {self.pad_id, self.bos_id} if skip_specials else set()
        n = len(self.tokens)
        for i in np.asarray(ids, dtype=np.int64).reshape(-1).tolist():
            if not 0 <= i < n:
                raise DataError(f"id must be in [0, {n}); got {i}")
            if skip_specials and i == self.eos_id:
                break
            if i not in drop:
                out.append(self.tokens[i])
        return out

    def _required(self, role: str) -> int:
        i = getattr(self, f"{role}_id")
        if i is None:
            raise DataError(f"this vocabulary has no {role} token; build it with {role}='<{role}>'")
        return i

    # ------------------------------------------------------------------ persistence
    def to_dict(self) -> dict[str, Any]:
        n_special = len(self.specials)
        return {"format": _FORMAT, "version": 1, "specials": dict(self.specials), "tokens": self.tokens[n_special:]}

    @classmethod
    def from_dict(cls, d: dict[str, Any], *, source: str = "vocab dict") -> Vocab:
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            raise DataError(f"{source}: not an rnnkit vocabulary (expected format {_FORMAT!r})")
        specials = d.get("specials", {})
        unknown = set(specials) - set(_SPECIAL_ROLES)
        if unknown:
            raise DataError(f"{source}: unknown special roles {sorted(unknown)}; expected {_SPECIAL_ROLES}")
        return cls(d["tokens"], **{role: specials.get(role) for role in _SPECIAL_ROLES})

    def save(self, path: PathLike) -> Path:
        """Write the vocabulary as JSON (atomically)."""
        return atomic_write_text(path, json.dumps(self.to_dict(), ensure_ascii=False, indent=0))

    @classmethod
    def load(cls, path: PathLike) -> Vocab:
        text = read_text(path)
        try:
            d = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{path}:{e.lineno}:{e.colno}: invalid JSON ({e.msg})") from None
        return cls.from_dict(d, source=str(path))
