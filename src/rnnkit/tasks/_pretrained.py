"""``model.pretrained_embeddings`` for the tasks whose model embeds words (classify, tag,
seq2seq: its source and target vocabularies each get the rows of the same file).

When the artifacts are *fitted* (a run starting to train; never when a run is reloaded or
resumed — the trained weights are in the run) the task calls :func:`read_for_vocab`: the
vectors file is read (:mod:`rnnkit.data.embeddings`), matched to the word vocabulary, the
embedding dimension is taken from the file (a different ``model.embedding_dim`` is
refused) and written into the task's config, which the runner saves as ``config.toml`` —
so a reload builds the same model without the file. What was read and the coverage are
said on stderr (unless ``train.quiet``) and returned for the task's ``info()`` (the run's
report). :func:`apply` copies the rows into the built model's embedding.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from torch import nn

from rnnkit.config import freeze
from rnnkit.data import Vocab
from rnnkit.data.embeddings import VocabMatch, WordVectors, copy_into, match_vocab, read_vectors, wanted_words
from rnnkit.errors import ConfigError


@dataclasses.dataclass
class Pretrained:
    vectors: WordVectors
    matches: dict[str, VocabMatch]  # by vocabulary name ("" when the task has one)

    @property
    def match(self) -> VocabMatch:
        return next(iter(self.matches.values()))

    def info(self) -> dict[str, Any]:
        """The report's lines: the file, its format and dimension, and the coverage."""
        v = self.vectors
        out: dict[str, Any] = {"pretrained vectors": f"{v.path} ({v.format}, {v.count} vectors, dimension {v.dim})"}
        for name, match in self.matches.items():
            c = match.coverage()
            out[f"pretrained coverage{f' ({name})' if name else ''}"] = (
                f"exact {c['exact']} ({c['exact %']}%), lowercase {c['lowercase']} ({c['lowercase %']}%), "
                f"missing {c['missing']} ({c['missing %']}%)")
        return out


def read_for_vocab(task: Any, vocab: Vocab) -> Pretrained | None:
    """Read ``task.config.model.pretrained_embeddings`` for ``vocab`` (None when unset);
    sets ``model.embedding_dim`` in ``task.config`` to the file's dimension."""
    return read_for_vocabs(task, {"": vocab})


def read_for_vocabs(task: Any, vocabs: dict[str, Vocab]) -> Pretrained | None:
    """:func:`read_for_vocab` for several vocabularies (by name) read from one pass over the file."""
    m = task.config.model
    path = getattr(m, "pretrained_embeddings", None)
    if path is None:
        return None
    vectors = read_vectors(path, set().union(*(wanted_words(v.tokens) for v in vocabs.values())))
    if m.embedding_dim is not None and m.embedding_dim != vectors.dim:
        raise ConfigError(f"model.embedding_dim={m.embedding_dim}, but model.pretrained_embeddings {path} holds "
                          f"vectors of dimension {vectors.dim}; leave model.embedding_dim unset (it is taken from "
                          f"the file) or set it to {vectors.dim}")
    matches = {name: match_vocab(vectors, v.tokens, v.specials.values()) for name, v in vocabs.items()}
    task.config = freeze(dataclasses.replace(task.config, model=dataclasses.replace(m, embedding_dim=vectors.dim)))
    if not task.config.train.quiet:
        mode = "frozen" if m.freeze_embeddings else "fine-tuned"
        print(f"rnnkit: pretrained embeddings: {vectors.describe()}; {mode}", file=sys.stderr)
        for name, match in matches.items():
            print(f"rnnkit: pretrained embeddings{f' ({name})' if name else ''}: {match.describe()}", file=sys.stderr)
    return Pretrained(vectors, matches)


def apply(embedding: nn.Embedding | None, pretrained: Pretrained | None, vocab: str = "") -> None:
    """Copy the matched vectors of the ``vocab`` vocabulary into ``embedding`` (nothing when
    ``pretrained`` is None)."""
    if pretrained is None:
        return
    if embedding is None:
        raise ConfigError("model.pretrained_embeddings needs a model that embeds word ids; this one has no "
                          "word embedding")
    copy_into(embedding, pretrained.matches[vocab])
