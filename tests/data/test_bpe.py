"""BPE subwords (rnnkit.data.bpe): round trip, rare words from known subwords, storage."""

from __future__ import annotations

import builtins

import pytest

from rnnkit.data import tokenizer_from_dict
from rnnkit.data.bpe import UNK, BPETokenizer
from rnnkit.errors import CheckpointError, ConfigError

TEXTS = ["the cat sat on the mat", "the dog ate the hat", "a cat and a dog sat", "The Mat is flat."] * 5


def test_round_trip_and_rare_words_need_no_unk():
    tok = BPETokenizer.train(TEXTS, vocab_size=60)
    for text in ("the cat sat on the mat", "a dog and a hat"):
        assert tok.join(tok(text)) == text
    assert tok.join(tok("  The   MAT ")) == "the mat"  # lowercased, spaces collapsed
    rare = tok("doghat catmat tan")  # never seen as words; made of known characters
    assert UNK not in rare and tok.join(rare) == "doghat catmat tan"
    assert tok("cat€")[-1] == UNK  # a character never seen in training
    assert BPETokenizer.train(TEXTS, vocab_size=60, lower=False)("The")[0] == "\u2581The"


def test_saved_beside_the_artifacts_and_read_back(tmp_path):
    tok = BPETokenizer.train(TEXTS, vocab_size=50, file="tokenizer-target.json")
    (tmp_path / tok.file).write_text(tok.to_json(), encoding="utf-8")
    back = tokenizer_from_dict(tok.to_dict(), tmp_path)
    assert isinstance(back, BPETokenizer) and back.vocab_size == tok.vocab_size
    assert back("the flat hat") == tok("the flat hat")
    with pytest.raises(CheckpointError, match=r"tokenizer-source\.json is missing: the BPE tokenizer of this run"):
        tokenizer_from_dict({**tok.to_dict(), "file": "tokenizer-source.json"}, tmp_path)
    with pytest.raises(CheckpointError, match=r"'file': a file name in the run directory; got '\.\./x\.json'"):
        tokenizer_from_dict({**tok.to_dict(), "file": "../x.json"}, tmp_path)
    with pytest.raises(ConfigError, match="no folder was given"):
        tokenizer_from_dict(tok.to_dict())
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(CheckpointError, match=r"bad\.json: not a tokenizers JSON file"):
        tokenizer_from_dict({**tok.to_dict(), "file": "bad.json"}, tmp_path)


def test_vocab_size_checked_and_missing_package_named(monkeypatch):
    with pytest.raises(ConfigError, match=r"BPE vocab_size must be an integer >= 2; got 0"):
        BPETokenizer.train(TEXTS, vocab_size=0)
    real_import = builtins.__import__

    def no_tokenizers(name, *args, **kwargs):
        if name == "tokenizers":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tokenizers)
    with pytest.raises(ConfigError, match=r"pip install rnnkit\[text\]"):
        BPETokenizer.train(TEXTS, vocab_size=40)
