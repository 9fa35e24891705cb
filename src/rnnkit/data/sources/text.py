"""Plain-text corpora for language models, char or word level, streamed when large.

The corpus becomes one token-id array and a :class:`~rnnkit.data.Vocab`:

* **char** level: every Unicode character is a token; no special tokens, so
  Tiny Shakespeare has exactly its 65 symbols. Encoding is vectorised (code
  points via UTF-32, then a ``searchsorted`` lookup).
* **word** level: :class:`~rnnkit.data.WordTokenizer` per line, an ``<eos>``
  after each line (as word-level LMs on PTB/WikiText do); specials pad, unk, eos;
  ``min_freq``/``max_size`` send rare words to ``<unk>``.

The vocabulary counts the whole corpus (so every symbol of the validation tail
has an id, as char-rnn and nanoGPT do) and ranks by frequency. The first
``1 - val_fraction`` of the tokens is training data, the rest validation.

Files larger than ``stream_bytes`` (or with ``memmap=True``) are read in chunks
twice — once to count, once to encode straight into an ``np.memmap`` ``.npy``
file in the cache (``$RNNKIT_CACHE/corpora``), which later runs reuse. Memory
then stays at one chunk plus the vocabulary whatever the file size.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from rnnkit.data._files import PathLike, atomic_write_text, iter_text_chunks, require_file
from rnnkit.data.sources.resolve import cache_dir
from rnnkit.data.tokenize import WordTokenizer
from rnnkit.data.vocab import Vocab
from rnnkit.errors import ConfigError, DataError

__all__ = ["TextCorpus", "load_text_corpus", "encode_text_file", "bundled_tinyshakespeare"]

_STREAM_BYTES = 64 << 20


@dataclass
class TextCorpus:
    """Token ids of a corpus split in two, and its vocabulary.

    ``train``/``val`` are 1-D integer arrays (possibly read-only memmaps; ``val``
    may be empty when ``val_fraction=0``).
    """

    train: np.ndarray
    val: np.ndarray
    vocab: Vocab
    level: str
    path: Path


def bundled_tinyshakespeare() -> Path:
    """The Tiny Shakespeare copy shipped inside the package (works when installed)."""
    ref = importlib.resources.files("rnnkit") / "assets" / "tinyshakespeare.txt"
    with importlib.resources.as_file(ref) as p:
        return Path(p)


def load_text_corpus(
    path: PathLike | None = None,
    *,
    level: Literal["char", "word"] = "char",
    val_fraction: float = 0.1,
    lower: bool = False,
    min_freq: int = 1,
    max_size: int | None = None,
    memmap: bool | None = None,
    stream_bytes: int = _STREAM_BYTES,
) -> TextCorpus:
    """Encode a UTF-8 text file (plain or ``.gz``) for language modelling.

    Args:
        path: the file; ``None`` or ``"tinyshakespeare"`` → the bundled Tiny Shakespeare.
        level: ``"char"`` or ``"word"``.
        val_fraction: the tail share held out for validation.
        lower: lowercase the text first.
        min_freq, max_size: word level only (see :meth:`Vocab.build`).
        memmap: force (True) or forbid (False) the streaming memmap path;
            ``None`` streams files above ``stream_bytes``.
    """
    if level not in ("char", "word"):
        raise ConfigError(f"level must be 'char' or 'word'; got {level!r}")
    if not 0 <= val_fraction < 1:
        raise ConfigError(f"val_fraction must be in [0, 1); got {val_fraction}")
    p = bundled_tinyshakespeare() if path is None or str(path) == "tinyshakespeare" else Path(path)
    require_file(p)
    stream = memmap if memmap is not None else p.stat().st_size > stream_bytes
    if level == "char":
        counts = _count_chars(p, lower)
        vocab = Vocab.from_counts(counts, pad=None, unk=None, bos=None, eos=None)
    else:
        tok = WordTokenizer(lower=lower, punctuation="split", strip_html=False)
        counts = Counter()
        for _, chunk in iter_text_chunks(p):
            for line in chunk.splitlines():
                counts.update(tok(line))
                counts["<eos>"] += 1
        vocab = Vocab.from_counts(counts, min_freq=min_freq, max_size=max_size, pad="<pad>", unk="<unk>", bos=None, eos="<eos>")
    ids = _encode_to_memmap(p, vocab, level, lower) if stream else np.concatenate(list(_encode_chunks(p, vocab, level, lower)))
    if len(ids) < 2:
        raise DataError(f"{p}: a language model needs at least 2 tokens; got {len(ids)}")
    n_train = len(ids) - int(len(ids) * val_fraction)
    return TextCorpus(ids[:n_train], ids[n_train:], vocab, level, p)


def encode_text_file(path: PathLike, vocab: Vocab, *, level: Literal["char", "word"] = "char", lower: bool = False) -> np.ndarray:
    """Encode another file (validation, test) with an existing corpus vocabulary → 1-D int64 ids.

    Word level maps unseen words to ``<unk>``; char level has no ``<unk>``, so an unseen
    character is a :class:`DataError` naming it.
    """
    p = Path(path)
    require_file(p)
    ids = np.concatenate([np.zeros(0, dtype=np.int64), *_encode_chunks(p, vocab, level, lower)])
    if len(ids) < 2:
        raise DataError(f"{p}: a language model needs at least 2 tokens; got {len(ids)}")
    return ids


def _count_chars(p: Path, lower: bool) -> Counter[str]:
    totals: dict[int, int] = {}
    for _, chunk in iter_text_chunks(p):
        cps = np.frombuffer((chunk.lower() if lower else chunk).encode("utf-32-le"), dtype=np.uint32)
        uniq, cnt = np.unique(cps, return_counts=True)
        for u, c in zip(uniq.tolist(), cnt.tolist()):
            totals[u] = totals.get(u, 0) + c
    # Ranked by count; ties by code point, so the order never depends on chunking.
    return Counter({chr(u): totals[u] for u in sorted(totals, key=lambda u: (-totals[u], u))})


def _encode_chunks(p: Path, vocab: Vocab, level: str, lower: bool):
    if level == "char":
        symbols = np.array([ord(t) for t in vocab.tokens], dtype=np.uint32)
        order = np.argsort(symbols)
        sorted_symbols = symbols[order]
        for _, chunk in iter_text_chunks(p):
            cps = np.frombuffer((chunk.lower() if lower else chunk).encode("utf-32-le"), dtype=np.uint32)
            pos = np.minimum(np.searchsorted(sorted_symbols, cps), len(sorted_symbols) - 1)
            unknown = sorted_symbols[pos] != cps
            if unknown.any():  # a char vocabulary has no <unk>: refuse rather than mis-encode
                bad = chr(int(cps[np.argmax(unknown)]))
                raise DataError(f"{p}: character {bad!r} is not in the vocabulary of {len(vocab)} characters")
            yield order[pos].astype(np.int64)
    else:
        tok = WordTokenizer(lower=lower, punctuation="split", strip_html=False)
        get, unk, eos = vocab._index.get, vocab.unk_id, vocab.eos_id
        for _, chunk in iter_text_chunks(p):
            out: list[int] = []
            for line in chunk.splitlines():
                out.extend(get(t, unk) for t in tok(line))
                out.append(eos)
            yield np.asarray(out, dtype=np.int64)


def _encode_to_memmap(p: Path, vocab: Vocab, level: str, lower: bool) -> np.ndarray:
    st = p.stat()
    key = hashlib.sha256(
        json.dumps([str(p.resolve()), st.st_size, st.st_mtime_ns, level, lower, vocab.tokens[:1000], len(vocab)]).encode()
    ).hexdigest()[:24]
    folder = cache_dir() / "corpora"
    target = folder / f"{key}.npy"
    if target.is_file():
        return np.load(target, mmap_mode="r")
    folder.mkdir(parents=True, exist_ok=True)
    dtype = np.int32 if len(vocab) < 2**31 else np.int64
    # Count tokens first so the memmap has its final size; a crash leaves only a .tmp file.
    total = sum(len(a) for a in _encode_chunks(p, vocab, level, lower))
    tmp = folder / f".{key}.{os.getpid()}.tmp.npy"
    try:
        arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=dtype, shape=(total,))
        pos = 0
        for a in _encode_chunks(p, vocab, level, lower):
            arr[pos : pos + len(a)] = a
            pos += len(a)
        arr.flush()
        del arr
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    atomic_write_text(folder / f"{key}.vocab.json", json.dumps(vocab.to_dict()))
    return np.load(target, mmap_mode="r")
