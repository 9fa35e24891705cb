"""Tokenizers, Vocab, one-hot and pad_sequences."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pytest
import torch

import rnnkit.data.encoding
import rnnkit.data.scalers
import rnnkit.data.tokenize
import rnnkit.data.vocab
from rnnkit.data import (
    CharTokenizer,
    Vocab,
    WordTokenizer,
    clean_html,
    get_tokenizer,
    one_hot,
    pad_sequences,
    tokenizer_from_dict,
    unpad_sequences,
)
from rnnkit.errors import ConfigError, DataError, ShapeError


@pytest.mark.parametrize("module", [rnnkit.data.tokenize, rnnkit.data.vocab, rnnkit.data.encoding, rnnkit.data.scalers])
def test_docstring_examples_run(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_word_tokenizer_options():
    text = "Great film!<br /><br />It's GREAT, really."
    assert WordTokenizer()(text) == ["great", "film", "!", "it's", "great", ",", "really", "."]
    assert WordTokenizer(punctuation="strip")(text) == ["great", "film", "it's", "great", "really"]
    assert WordTokenizer(lower=False, punctuation="keep")(text) == ["Great", "film!", "It's", "GREAT,", "really."]
    assert WordTokenizer(strip_html=False, punctuation="strip")("a<br />b") == ["a", "br", "b"]


def test_char_tokenizer_and_html():
    assert CharTokenizer(lower=True)("Ab c") == ["a", "b", " ", "c"]
    assert clean_html("x<br/>y<BR >z<br>") == "x y z "
    assert CharTokenizer(strip_html=True)("a<br />") == ["a", " "]


def test_tokenizer_dict_round_trip_and_errors():
    tok = WordTokenizer(lower=False, punctuation="strip")
    assert tokenizer_from_dict(json.loads(json.dumps(tok.to_dict()))) == tok
    assert tokenizer_from_dict(CharTokenizer(lower=True).to_dict()) == CharTokenizer(lower=True)
    with pytest.raises(ConfigError, match="punctuation must be 'split', 'strip' or 'keep'; got 'drop'"):
        WordTokenizer(punctuation="drop")
    with pytest.raises(ConfigError, match="level must be 'char' or 'word'; got 'bpe'"):
        get_tokenizer("bpe")
    with pytest.raises(ConfigError, match="needs a 'level' key"):
        tokenizer_from_dict({"lower": True})


def test_vocab_ranks_by_training_frequency_with_specials_first():
    v = Vocab.build([["b", "a", "c", "a"], ["c", "a", "d"]])
    assert v.tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "a", "c", "b", "d"]  # ties: first seen first
    assert (v.pad_id, v.unk_id, v.bos_id, v.eos_id) == (0, 1, 2, 3)
    assert v["a"] == 4 and v["zzz"] == 1 and "c" in v and len(v) == 8


def test_vocab_min_freq_max_size_and_no_specials():
    seqs = [list("aaabbc"), list("ab")]
    assert Vocab.build(seqs, min_freq=2).tokens[4:] == ["a", "b"]
    assert Vocab.build(seqs, max_size=5).tokens == ["<pad>", "<unk>", "<bos>", "<eos>", "a"]
    bare = Vocab.build(seqs, pad=None, unk=None, bos=None, eos=None)
    assert bare.tokens == ["a", "b", "c"] and bare.pad_id is None
    with pytest.raises(DataError, match="token 'z' is not in the vocabulary and it has no unk token"):
        bare.encode(["a", "z"])
    with pytest.raises(DataError, match="no bos token"):
        bare.encode(["a"], add_bos=True)
    with pytest.raises(DataError, match="min_freq must be >= 1; got 0"):
        Vocab.build(seqs, min_freq=0)
    with pytest.raises(DataError, match="appears twice"):
        Vocab(["x", "x"])


def test_vocab_encode_decode_round_trip(tmp_path):
    v = Vocab.build([["the", "cat", "sat"], ["the", "dog"]])
    ids = v.encode(["the", "dog", "sat"], add_bos=True, add_eos=True)
    assert ids.dtype == np.int64 and ids[0] == v.bos_id and ids[-1] == v.eos_id
    assert v.decode(ids) == ["the", "dog", "sat"]
    assert v.decode(np.append(ids, [v["cat"]])) == ["the", "dog", "sat"]  # stops at eos
    assert v.decode(ids, skip_specials=False)[0] == "<bos>"
    assert [a.tolist() for a in v.encode_many([["cat"], ["dog", "the"]])] == [[v["cat"]], [v["dog"], v["the"]]]
    with pytest.raises(DataError, match=r"id must be in \[0, 8\); got 99"):
        v.decode([99])
    path = v.save(tmp_path / "vocab.json")
    assert Vocab.load(path) == v
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_vocab_load_errors(tmp_path):
    bad = tmp_path / "v.json"
    bad.write_text('{"format": "rnnkit.vocab", ')
    with pytest.raises(DataError, match=r"v.json:1:\d+: invalid JSON"):
        Vocab.load(bad)
    bad.write_text('{"format": "other"}')
    with pytest.raises(DataError, match="not an rnnkit vocabulary"):
        Vocab.load(bad)


def test_one_hot_numpy_and_torch():
    ids = np.array([[2, 0], [1, 2], [0, 0]])
    oh = one_hot(ids, 3)
    assert oh.shape == (3, 2, 3) and oh.dtype == np.float32
    np.testing.assert_array_equal(oh.argmax(-1), ids)
    t = one_hot(torch.tensor([4, 0, 6]), 7)
    assert t.shape == (3, 7) and t.dtype == torch.float32 and t[0, 4] == 1 and t.sum() == 3
    with pytest.raises(ShapeError, match=r"ids must be in \[0, 3\) because num_classes=3; got values in \[0, 5\]"):
        one_hot(np.array([0, 5]), 3)
    with pytest.raises(ShapeError, match="ids must be integers"):
        one_hot(np.array([0.5]), 3)


SEQS = [[1, 2, 3, 4, 5], [6], [7, 8, 9]]


@pytest.mark.parametrize(
    "padding,truncating,expected",
    [
        ("pre", "pre", [[2, 3, 4, 5], [0, 0, 0, 6], [0, 7, 8, 9]]),
        ("post", "pre", [[2, 3, 4, 5], [6, 0, 0, 0], [7, 8, 9, 0]]),
        ("pre", "post", [[1, 2, 3, 4], [0, 0, 0, 6], [0, 7, 8, 9]]),
        ("post", "post", [[1, 2, 3, 4], [6, 0, 0, 0], [7, 8, 9, 0]]),
    ],
)
def test_pad_sequences_keras_semantics(padding, truncating, expected):
    assert pad_sequences(SEQS, maxlen=4, padding=padding, truncating=truncating).tolist() == expected


def test_pad_sequences_defaults_value_dtype_features_and_empty():
    out = pad_sequences(SEQS)
    assert out.shape == (3, 5) and out.dtype == np.int64 and out[1].tolist() == [0, 0, 0, 0, 6]
    assert pad_sequences([[1.5], []], maxlen=2, dtype="float32", value=-1).tolist() == [[-1, 1.5], [-1, -1]]
    feats = [np.ones((2, 7)), np.full((3, 7), 2.0)]
    out = pad_sequences(feats, dtype="float32", padding="post")
    assert out.shape == (2, 3, 7) and out[0, 2].sum() == 0 and out[1].sum() == 42
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    with pytest.raises(ShapeError, match=r"sequences\[1\] must have feature shape \(7,\)"):
        pad_sequences([np.ones((2, 7)), np.ones((2, 5))])
    with pytest.raises(ConfigError, match="padding must be 'pre' or 'post'; got 'left'"):
        pad_sequences(SEQS, padding="left")


@pytest.mark.parametrize("padding", ["pre", "post"])
def test_pad_unpad_round_trip(padding):
    rng = np.random.default_rng(3)
    seqs = [rng.integers(1, 50, size=n) for n in (5, 1, 7, 3)]
    padded = pad_sequences(seqs, padding=padding)
    back = unpad_sequences(padded, [len(s) for s in seqs], padding=padding)
    assert all(np.array_equal(a, b) for a, b in zip(seqs, back))
    with pytest.raises(ShapeError, match=r"lengths must be in \[0, 7\]"):
        unpad_sequences(padded, [8, 1, 1, 1])
