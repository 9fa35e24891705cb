"""Tagging data: CoNLL column files (CoNLL-2003 style) and CoNLL-U.

One token per line, columns separated by whitespace (CoNLL) or tabs (CoNLL-U);
a blank line ends a sentence. ``-DOCSTART-`` lines (CoNLL) and ``#`` comments
(CoNLL-U) are skipped; so are CoNLL-U multiword ranges (``1-2``) and empty
nodes (``8.1``), which are not tokens of the sentence.

Columns are chosen by index (negative counts from the end) or, for CoNLL-U, by
name: ``id form lemma upos xpos feats head deprel deps misc``. Defaults:
CoNLL token 0 / tag -1 (the NER column of CoNLL-2003), CoNLL-U ``form`` / ``upos``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rnnkit.data._files import PathLike, read_text
from rnnkit.data.sources.resolve import resolve
from rnnkit.data._files import find_in_folder
from rnnkit.data.sources.containers import encode_labels
from rnnkit.errors import ConfigError, DataError

__all__ = ["TaggedSentences", "TaggingData", "read_conll", "load_conll", "load_conll2003"]

CONLLU_COLUMNS = ("id", "form", "lemma", "upos", "xpos", "feats", "head", "deprel", "deps", "misc")


@dataclass
class TaggedSentences:
    """Sentences as token lists, with one tag per token.

    ``tags`` holds strings from :func:`read_conll` and int64 id arrays in a
    :class:`TaggingData`. ``lines`` is the line number where each sentence starts.
    """

    tokens: list[list[str]]
    tags: list
    lines: list[int]

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass
class TaggingData:
    """A tagging dataset: splits (val/test may be None) and the tag names (id order)."""

    train: TaggedSentences
    val: TaggedSentences | None
    test: TaggedSentences | None
    tags: list[str]

    @property
    def num_tags(self) -> int:
        return len(self.tags)


def _column(col: int | str, conllu: bool, what: str) -> int:
    if isinstance(col, str):
        if not conllu or col.lower() not in CONLLU_COLUMNS:
            raise ConfigError(
                f"{what} must be a column index{' or one of ' + ', '.join(CONLLU_COLUMNS) if conllu else ''}; got {col!r}"
            )
        return CONLLU_COLUMNS.index(col.lower())
    return col


def read_conll(
    path: PathLike,
    *,
    token_column: int | str | None = None,
    tag_column: int | str | None = None,
    conllu: bool | None = None,
) -> TaggedSentences:
    """Sentences, string tags and start lines from a CoNLL or CoNLL-U file.

    ``conllu=None`` decides by the ``.conllu`` extension.
    """
    p = Path(path)
    if conllu is None:
        conllu = p.name.lower().removesuffix(".gz").endswith(".conllu")
    tok_c = _column(token_column if token_column is not None else ("form" if conllu else 0), conllu, "token_column")
    tag_c = _column(tag_column if tag_column is not None else ("upos" if conllu else -1), conllu, "tag_column")
    need = max(tok_c if tok_c >= 0 else -tok_c - 1, tag_c if tag_c >= 0 else -tag_c - 1) + 1
    text = read_text(p)
    sentences: list[list[str]] = []
    tags: list[list[str]] = []
    starts: list[int] = []
    cur_tok: list[str] = []
    cur_tag: list[str] = []
    start = 0
    width: int | None = None  # every token line of a CoNLL file has the same number of columns
    first_line = 0
    for n, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line.strip():
            if cur_tok:
                sentences.append(cur_tok), tags.append(cur_tag), starts.append(start)
                cur_tok, cur_tag = [], []
            continue
        if conllu:
            if line.startswith("#"):
                continue
            fields = line.split("\t")
            if len(fields) != 10:
                raise DataError(f"{p}: line {n}: a CoNLL-U token line needs 10 tab-separated fields; got {len(fields)}")
            if "-" in fields[0] or "." in fields[0]:
                continue
        else:
            fields = line.split()
            if fields[0] == "-DOCSTART-":
                continue
            if width is None:
                width = len(fields)
                if width < need:
                    raise DataError(
                        f"{p}: line {n}: expected at least {need} columns (token {tok_c}, tag {tag_c}); got {width}"
                    )
                if tag_column is None and tok_c % width == tag_c % width:
                    raise DataError(
                        f"{p}: line {n}: a tagged CoNLL line needs a token column and a tag column (the last); "
                        f"this file has {width} column{'s' if width > 1 else ''}"
                    )
            if len(fields) != width:
                raise DataError(f"{p}: line {n}: expected {width} columns like line {first_line}; got {len(fields)}")
        if not first_line:
            first_line = n
        if not cur_tok:
            start = n
        cur_tok.append(fields[tok_c])
        cur_tag.append(fields[tag_c])
    if cur_tok:
        sentences.append(cur_tok), tags.append(cur_tag), starts.append(start)
    if not sentences:
        raise DataError(f"{p}: no sentences found")
    return TaggedSentences(sentences, tags, starts)


def load_conll(
    train: PathLike,
    val: PathLike | None = None,
    test: PathLike | None = None,
    *,
    token_column: int | str | None = None,
    tag_column: int | str | None = None,
    conllu: bool | None = None,
) -> TaggingData:
    """Read the splits and map tags to ids (sorted training tag names)."""
    opts = dict(token_column=token_column, tag_column=tag_column, conllu=conllu)
    raw = {k: None if v is None else (Path(v), read_conll(v, **opts)) for k, v in (("train", train), ("val", val), ("test", test))}
    names = sorted({t for s in raw["train"][1].tags for t in s})  # type: ignore[index]

    def encode(item: tuple[Path, TaggedSentences] | None) -> TaggedSentences | None:
        if item is None:
            return None
        path, s = item
        flat = [t for tags in s.tags for t in tags]
        # Line of every token: sentence start + position (token lines are consecutive
        # except CoNLL-U multiword ranges, which only makes the line a lower bound).
        lines = [start + i for start, tags in zip(s.lines, s.tags) for i in range(len(tags))]
        ids = encode_labels(flat, names, path=path, lines=lines, what="tag")
        bounds = np.cumsum([len(t) for t in s.tags])[:-1]
        return TaggedSentences(s.tokens, np.split(ids, bounds), s.lines)

    return TaggingData(encode(raw["train"]), encode(raw["val"]), encode(raw["test"]), names)  # type: ignore[arg-type]


def load_conll2003(path: PathLike | None = None, *, download: bool = True) -> TaggingData:
    """CoNLL-2003 English NER (IOB2): train 14041, val 3250, test 3453 sentences; NER tags."""
    folder = resolve("conll2003", path, download=download)
    files = [find_in_folder(folder, (f"{s}.txt",)) for s in ("train", "valid", "test")]
    return load_conll(*files, token_column=0, tag_column=3, conllu=False)
