"""Chunk tag schemes (NER-style ``B-PER``/``I-PER``/``O`` tags), torch-free: the task and the
serving runtime share it.

* :func:`entity_spans` — the chunks of a tag sequence as conlleval reads them (BIO/IOB2, IOB1 or IOBES);
* :func:`to_iobes` — the same chunks written as IOBES: ``S-`` for a one-word chunk, ``B-`` … ``I-`` …
  ``E-`` for a longer one (the tagging scheme of Lample et al. 2016);
* :func:`to_iob2` — the same chunks written as IOB2 (``B-`` starts every chunk, ``I-`` continues it).

Both conversions keep the chunks exactly: ``entity_spans(to_iobes(t)) == entity_spans(t)``, and so
for ``to_iob2``, whatever the input (an ill-formed predicted sequence included: its chunks are
read by conlleval's rules first).
"""

from __future__ import annotations

from typing import Sequence

__all__ = ["SCHEMES", "entity_spans", "to_iobes", "to_iob2"]

SCHEMES = ("file", "iobes")  # data.tag_scheme: the file's tags as they are, or IOBES


def _split_tag(tag: str) -> tuple[str, str]:
    """``"B-PER"`` → ``("B", "PER")``; ``"O"`` → ``("O", "")``."""
    if tag == "O" or tag == "":
        return "O", ""
    prefix, _, etype = tag.partition("-")
    if not etype:  # a bare type with no prefix counts as inside
        return "I", prefix
    return prefix, etype


def entity_spans(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """Chunks of a BIO/IOB2 (or IOB1/IOBES) tag sequence as ``(start, end_exclusive, type)``.

    Chunk boundaries follow conlleval: a chunk starts at ``B``/``S``, at an ``I``/``E``
    after ``O`` or after ``E``/``S``, and wherever the type changes; so a stray
    ``I-PER`` after ``O`` starts a PER chunk.
    """
    spans: set[tuple[int, int, str]] = set()
    start = None
    prev_tag, prev_type = "O", ""
    for i, raw in enumerate(list(tags) + ["O"]):
        tag, etype = _split_tag(raw)
        end = (
            prev_tag in ("E", "S")
            or (prev_tag in ("B", "I") and tag in ("B", "S", "O"))
            or (prev_tag != "O" and prev_type != etype)
        )
        begin = (
            tag in ("B", "S")
            or (prev_tag in ("E", "S", "O") and tag in ("E", "I"))
            or (tag != "O" and prev_type != etype)
        )
        if end and start is not None:
            spans.add((start, i, prev_type))
            start = None
        if begin:
            start = i
        prev_tag, prev_type = tag, etype
    return spans


def _write(tags: Sequence[str], single: str, first: str, last: str) -> list[str]:
    out = ["O"] * len(tags)
    for start, end, etype in entity_spans(tags):
        if end - start == 1:
            out[start] = f"{single}-{etype}"
            continue
        out[start] = f"{first}-{etype}"
        for i in range(start + 1, end - 1):
            out[i] = f"I-{etype}"
        out[end - 1] = f"{last}-{etype}"
    return out


def to_iobes(tags: Sequence[str]) -> list[str]:
    """``tags`` (any chunk scheme) rewritten as IOBES, chunk for chunk."""
    return _write(tags, "S", "B", "E")


def to_iob2(tags: Sequence[str]) -> list[str]:
    """``tags`` (any chunk scheme, IOBES included) rewritten as IOB2, chunk for chunk."""
    return _write(tags, "B", "B", "I")
