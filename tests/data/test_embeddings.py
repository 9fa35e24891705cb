"""rnnkit.data.embeddings: the GloVe / word2vec / fastText text readers (plain and .gz),
the vocabulary match (exact, then lowercase) and the copy into an nn.Embedding, on small
vectors files made here; every error names the file and the line."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from torch import nn

from rnnkit.data import Vocab
from rnnkit.data.embeddings import copy_into, match_vocab, read_vectors, wanted_words
from rnnkit.errors import DataError

ROWS = {"the": [0.1, 0.2, 0.3], "Paris": [1.0, -1.0, 0.5], "rome": [2.0, 2.5, -3.0], "1999": [0.0, 0.0, 1.0]}


def body() -> str:
    return "".join(f"{w} {' '.join(str(v) for v in vec)}\n" for w, vec in ROWS.items())


def write(path, text: str, gz: bool = False):
    if gz:
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("fmt, name, header", [("glove", "g.txt", ""), ("word2vec", "w.txt", "4 3\n"),
                                               ("fasttext", "f.vec", "4 3\n")])
def test_each_format_plain_and_gz(tmp_path, fmt, name, header, gz):
    path = write(tmp_path / (name + (".gz" if gz else "")), header + body(), gz)
    v = read_vectors(path)
    assert (v.format, v.dim, v.count, v.duplicates) == (fmt, 3, 4, 0)
    assert set(v.vectors) == set(ROWS)
    for w, vec in ROWS.items():
        np.testing.assert_allclose(v.vectors[w], vec, rtol=1e-6)
    assert f"{fmt} text format, 4 vectors of dimension 3" in v.describe()


def test_only_wanted_words_are_kept_but_every_line_is_counted(tmp_path):
    v = read_vectors(write(tmp_path / "g.txt", body()), wanted={"the", "nothere"})
    assert set(v.vectors) == {"the"} and v.count == 4


def test_match_exact_then_lowercase_and_coverage(tmp_path):
    v = read_vectors(write(tmp_path / "g.txt", body()))
    vocab = Vocab(["the", "Paris", "Rome", "ROME", "unseen"], bos=None, eos=None)  # <pad>, <unk> first
    m = match_vocab(v, vocab.tokens, vocab.specials.values())
    assert (m.exact, m.lowercase, m.missing, m.total) == (2, 2, 1, 5)
    assert m.ids.tolist() == [vocab["the"], vocab["Paris"], vocab["Rome"], vocab["ROME"]]
    np.testing.assert_allclose(m.rows[2], ROWS["rome"])
    c = m.coverage()
    assert (c["exact %"], c["lowercase %"], c["missing %"]) == (40.0, 40.0, 20.0)
    assert "4 of 5 words have a vector: 2 exact (40.0%), 2 by their lowercase form (40.0%), 1 missing" in m.describe()
    assert wanted_words(["Rome"]) == {"Rome", "rome"}


def test_copy_into_keeps_unmatched_rows():
    torch.manual_seed(0)
    vocab = Vocab(["the", "unseen"], bos=None, eos=None)
    from rnnkit.data.embeddings import VocabMatch, WordVectors

    v = WordVectors("mem", "glove", 3, 1, {"the": np.array([1.0, 2.0, 3.0], dtype=np.float32)})
    m = match_vocab(v, vocab.tokens, vocab.specials.values())
    emb = nn.Embedding(len(vocab), 3)
    before = emb.weight.detach().clone()
    copy_into(emb, m)
    assert emb.weight[vocab["the"]].tolist() == [1.0, 2.0, 3.0]
    keep = [i for i in range(len(vocab)) if i != vocab["the"]]
    assert torch.equal(emb.weight[keep], before[keep])
    with pytest.raises(DataError, match="the word vectors have dimension 3, the embedding 4"):
        copy_into(nn.Embedding(len(vocab), 4), m)
    assert isinstance(m, VocabMatch)


def test_repeated_words_keep_the_first_vector(tmp_path):
    v = read_vectors(write(tmp_path / "g.txt", body() + "the 9 9 9\n"))
    assert v.duplicates == 1 and v.vectors["the"].tolist() == pytest.approx(ROWS["the"])
    assert "1 repeated words (first vector kept)" in v.describe()


@pytest.mark.parametrize("text, message", [
    ("the 0.1 0.2 0.3\nParis 1 2\n", r"g.txt: line 2: expected a word and 3 numbers \(the dimension given by line 1\); "
                                     r"got 2 fields after the word"),
    ("the 0.1 0.2 0.3\nParis 1 2 3 4\n", r"g.txt: line 2: expected a word and 3 numbers .*got 4 fields"),
    ("the 0.1 0.2 0.3\nParis 1 x 3\n", r"g.txt: line 2: 'x' is not a number"),
    ("the 0.1 nan 0.3\n", r"g.txt: line 1: the vector holds a non-finite value"),
    ("2 3\nthe 0.1 0.2 0.3\nParis 1 2\n", r"g.txt: line 3: expected a word and 3 numbers \(the dimension given by line 1\)"),
    ("3 3\nthe 0.1 0.2 0.3\n", r"g.txt: line 1: the header says 3 vectors, but the file holds 1"),
    ("2 3\n", r"g.txt: the header says 2 vectors of dimension 3, but no vector follows"),
    ("2 0\n", r"g.txt: line 1: the header says dimension 0"),
    ("lonely\n", r"g.txt: line 1: expected a header 'count dim' \(word2vec/fastText\) or a word followed by its vector"),
    ("\n\n", r"g.txt is empty \(no lines\)"),
])
def test_bad_files_name_file_and_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_vectors(write(tmp_path / "g.txt", text))


def test_missing_empty_and_bad_gzip_files(tmp_path):
    with pytest.raises(DataError, match=r"word vectors file not found: .*nope.txt"):
        read_vectors(tmp_path / "nope.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty.txt is empty"):
        read_vectors(tmp_path / "empty.txt")
    (tmp_path / "bad.txt.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(DataError, match=r"bad.txt.gz: truncated or corrupt gzip file"):
        read_vectors(tmp_path / "bad.txt.gz")
    (tmp_path / "latin.txt").write_bytes("the 1 2\ncaf\xe9 1 2\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin.txt:2:4: not valid UTF-8"):
        read_vectors(tmp_path / "latin.txt")
