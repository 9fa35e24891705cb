"""``model.pretrained_embeddings`` for the tasks whose model embeds words (classify, tag).

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
    match: VocabMatch

    def info(self) -> dict[str, Any]:
        """The report's lines: the file, its format and dimension, and the coverage."""
        v, c = self.vectors, self.match.coverage()
        return {"pretrained vectors": f"{v.path} ({v.format}, {v.count} vectors, dimension {v.dim})",
                "pretrained coverage": f"exact {c['exact']} ({c['exact %']}%), lowercase {c['lowercase']} "
                                       f"({c['lowercase %']}%), missing {c['missing']} ({c['missing %']}%)"}


def read_for_vocab(task: Any, vocab: Vocab) -> Pretrained | None:
    """Read ``task.config.model.pretrained_embeddings`` for ``vocab`` (None when unset);
    sets ``model.embedding_dim`` in ``task.config`` to the file's dimension."""
    m = task.config.model
    path = getattr(m, "pretrained_embeddings", None)
    if path is None:
        return None
    vectors = read_vectors(path, wanted_words(vocab.tokens))
    if m.embedding_dim is not None and m.embedding_dim != vectors.dim:
        raise ConfigError(f"model.embedding_dim={m.embedding_dim}, but model.pretrained_embeddings {path} holds "
                          f"vectors of dimension {vectors.dim}; leave model.embedding_dim unset (it is taken from "
                          f"the file) or set it to {vectors.dim}")
    match = match_vocab(vectors, vocab.tokens, vocab.specials.values())
    task.config = freeze(dataclasses.replace(task.config, model=dataclasses.replace(m, embedding_dim=vectors.dim)))
    if not task.config.train.quiet:
        mode = "frozen" if m.freeze_embeddings else "fine-tuned"
        print(f"rnnkit: pretrained embeddings: {vectors.describe()}; {mode}", file=sys.stderr)
        print(f"rnnkit: pretrained embeddings: {match.describe()}", file=sys.stderr)
    return Pretrained(vectors, match)


def apply(embedding: nn.Embedding | None, pretrained: Pretrained | None) -> None:
    """Copy the matched vectors into ``embedding`` (nothing when ``pretrained`` is None)."""
    if pretrained is None:
        return
    if embedding is None:
        raise ConfigError("model.pretrained_embeddings needs a model that embeds word ids; this one has no "
                          "word embedding")
    copy_into(embedding, pretrained.match)
