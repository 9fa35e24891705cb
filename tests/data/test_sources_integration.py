"""The real datasets in ../shared/datasets (skipped with a reason when absent)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnkit.data.sources import (
    load_conll2003,
    load_etth1,
    load_imdb,
    load_mnist,
    load_tatoeba_fra,
    load_text_corpus,
    read_pairs,
)
from rnnkit.data.sources.text import bundled_tinyshakespeare

pytestmark = pytest.mark.integration


def test_mnist(datasets_dir):
    d = load_mnist(datasets_dir / "mnist", download=False)
    assert d.train.x.shape == (60000, 28, 28) and d.test.x.shape == (10000, 28, 28)
    assert d.train.x.dtype == np.float32 and d.train.x.min() == 0 and d.train.x.max() == 1
    assert np.bincount(d.train.y).tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    assert np.bincount(d.test.y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_imdb(datasets_dir):
    d = load_imdb(datasets_dir / "imdb", download=False)
    assert (len(d.train), len(d.test)) == (25000, 25000) and d.val is None
    assert np.bincount(d.train.labels).tolist() == [12500, 12500]
    assert np.bincount(d.test.labels).tolist() == [12500, 12500]
    assert d.train.texts[0].startswith("Bromwell High is a cartoon comedy.") and d.train.labels[0] == 1


def test_tinyshakespeare(datasets_dir):
    c = load_text_corpus(datasets_dir / "tinyshakespeare" / "input.txt", val_fraction=0.1)
    assert len(c.train) + len(c.val) == 1_115_394 and len(c.vocab) == 65
    assert len(c.val) == 111_539
    bundled = load_text_corpus(bundled_tinyshakespeare(), val_fraction=0.1)
    assert np.array_equal(bundled.train, c.train) and bundled.vocab == c.vocab


def test_conll2003(datasets_dir):
    d = load_conll2003(datasets_dir / "conll2003", download=False)
    assert (len(d.train), len(d.val), len(d.test)) == (14041, 3250, 3453)
    assert sum(len(s) for s in d.train.tokens) == 203_621
    b_per = d.tags.index("B-PER")
    assert sum(int((t == b_per).sum()) for t in d.train.tags) == 6600
    assert d.tags == ["B-LOC", "B-MISC", "B-ORG", "B-PER", "I-LOC", "I-MISC", "I-ORG", "I-PER", "O"]


def test_etth1(datasets_dir):
    d = load_etth1(datasets_dir / "ett", download=False)
    assert (len(d.train), len(d.val), len(d.test)) == (8640, 2880, 2880)
    assert d.columns == ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"] and d.target_columns == ["OT"]
    assert d.time[0] == "2016-07-01 00:00:00" and len(d.values) == 17420
    scaled, _ = d.scale()
    np.testing.assert_allclose(scaled.train.mean(0), 0, atol=1e-4)
    w = scaled.windows(96, 24)
    assert w.train[0].shape == (8521, 96, 7) and w.val[1].shape == (2857, 24, 1) and w.test[0].shape == (2857, 96, 7)


def test_tatoeba_pairs(datasets_dir):
    pairs = read_pairs(datasets_dir / "fra-eng" / "fra.txt.gz")
    assert len(pairs) == 167_130 and (pairs.sources[0], pairs.targets[0]) == ("Go.", "Va !")
    assert len(set(pairs.sources)) == 116_830
    d = load_tatoeba_fra(datasets_dir / "fra-eng", download=False)
    assert len(d.train) + len(d.val) + len(d.test) == 167_130
