"""Bad input → DataError naming file and line/column; nothing written half."""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest

from rnnkit.data import Vocab
from rnnkit.data._files import atomic_write_bytes
from rnnkit.data.sources import (
    load_conll,
    load_csv_series,
    load_mnist,
    load_numeric,
    load_text_classification,
    load_text_corpus,
    read_conll,
    read_idx,
    read_pairs,
)
from rnnkit.errors import DataError


def test_missing_and_empty_files(tmp_path):
    with pytest.raises(DataError, match=r"file not found: .*nope\.csv"):
        load_text_classification(tmp_path / "nope.csv")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(DataError, match=r"empty\.txt is empty \(0 bytes\)"):
        read_pairs(tmp_path / "empty.txt")
    with gzip.open(tmp_path / "empty.txt.gz", "wb"):
        pass
    with pytest.raises(DataError, match=r"empty\.txt\.gz is empty \(no content after decompression\)"):
        load_text_corpus(tmp_path / "empty.txt.gz")
    with pytest.raises(DataError, match="mnist: path not found"):
        load_mnist(tmp_path / "no-such-dir")


def test_unknown_column(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("text,label\nhi,a\n")
    with pytest.raises(DataError, match=r"d\.csv: line 1: unknown column 'sentiment'; the header has \['text', 'label'\]"):
        load_text_classification(p, label_column="sentiment")
    j = tmp_path / "d.jsonl"
    j.write_text('{"text": "x", "label": "a"}\n{"txt": "y", "label": "b"}\n')
    with pytest.raises(DataError, match=r"d\.jsonl: line 2: unknown column 'text'"):
        load_text_classification(j)
    s = tmp_path / "s.csv"
    s.write_text("date,a\n1,2\n")
    with pytest.raises(DataError, match=r"s\.csv: line 1: unknown target column 'OT'"):
        load_csv_series(s, target_columns=["OT"])


def test_non_utf8_names_line_and_column(tmp_path):
    p = tmp_path / "latin1.tsv"
    p.write_bytes("a\tb\nok\tfine\ncaf\xe9\tbad\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1\.tsv:3:4: not valid UTF-8 \(byte 0xe9\)"):
        read_pairs(p)
    big = tmp_path / "big.txt"
    big.write_bytes(b"ok line\n" * 1000 + b"\xff\n")
    with pytest.raises(DataError, match=r"big\.txt:1001:1: not valid UTF-8"):
        load_text_corpus(big, memmap=False)


def test_truncated_gzip(tmp_path):
    data = gzip.compress(b"Go.\tVa !\n" * 5000)
    p = tmp_path / "fra.txt.gz"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"fra\.txt\.gz: truncated or corrupt gzip file"):
        read_pairs(p)
    with pytest.raises(DataError, match=r"fra\.txt\.gz: truncated or corrupt gzip file"):
        load_text_corpus(p)


def test_wrong_idx_magic_and_size(tmp_path):
    p = tmp_path / "train-images-idx3-ubyte"
    p.write_bytes(struct.pack(">IIII", 2049, 1, 28, 28) + bytes(784))
    with pytest.raises(DataError, match="wrong IDX magic number: expected 2051, got 2049"):
        read_idx(p, expect_magic=2051)
    p.write_bytes(struct.pack(">IIII", 2051, 2, 28, 28) + bytes(784))
    with pytest.raises(DataError, match=r"declares shape \(2, 28, 28\) \(1584 bytes\) but the file has 800"):
        read_idx(p)


def test_ragged_rows(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("text,label\na,x\nb,y,extra\n")
    with pytest.raises(DataError, match=r"r\.csv: line 3: expected 2 fields like the header; got 3"):
        load_text_classification(p)
    s = tmp_path / "s.csv"
    s.write_text("date,a,b\n1,2,3\n2,3\n")
    with pytest.raises(DataError, match=r"s\.csv: line 3: expected 3 fields like the header; got 2"):
        load_csv_series(s, target_columns=["a"])
    c = tmp_path / "c.txt"
    c.write_text("EU B-ORG\nrejects\n")
    with pytest.raises(DataError, match=r"c\.txt: line 2: expected 2 columns like line 1; got 1"):
        read_conll(c)
    u = tmp_path / "u.tsv"
    u.write_text("1\t0.5\t1\n2\t0.5\n")
    with pytest.raises(DataError, match=r"u\.tsv: line 2: expected 3 fields"):
        load_numeric(u)
    t = tmp_path / "p.txt"
    t.write_text("a\tb\nno tab here\n")
    with pytest.raises(DataError, match=r"p\.txt: line 2: expected source<TAB>target; found no tab"):
        read_pairs(t)


def test_nan_inf_and_non_numbers_in_series(tmp_path):
    s = tmp_path / "s.csv"
    s.write_text("date,a,b\n1,2,3\n2,nan,4\n")
    with pytest.raises(DataError, match=r"s\.csv: line 3: column 'a': value is not finite \(nan\)"):
        load_csv_series(s, target_columns=["b"])
    s.write_text("date,a,b\n1,2,3\n2,4,inf\n")
    with pytest.raises(DataError, match=r"line 3: column 'b': value is not finite \(inf\)"):
        load_csv_series(s, target_columns=["b"])
    s.write_text("date,a,b\n1,2,x3\n")
    with pytest.raises(DataError, match=r"line 2: column 'b': not a number: 'x3'"):
        load_csv_series(s, target_columns=["b"])
    u = tmp_path / "u.tsv"
    u.write_text("1\t0.5\t1\t2\n2\tNaN\t1\t2\n")  # a gap inside a series (trailing NaN is UCR's end padding)
    with pytest.raises(DataError, match=r"u\.tsv: line 2: column 2: missing value; data.missing = 'error'"):
        load_numeric(u)
    np.savez(tmp_path / "a.npz", X=np.array([[[1.0], [np.inf]]]), y=np.array([0]))
    with pytest.raises(DataError, match=r"a\.npz: X\[0, 1, 0\]: value is not finite \(inf\)"):
        load_numeric(tmp_path / "a.npz")


def test_label_unseen_in_training(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\na,pos\nb,neg\n")
    (tmp_path / "test.csv").write_text("text,label\nc,pos\nd,neutral\n")
    with pytest.raises(DataError, match=r"test\.csv: line 3: label 'neutral' never appears in the training data"):
        load_text_classification(tmp_path / "train.csv", test=tmp_path / "test.csv")
    (tmp_path / "tr.txt").write_text("EU B-ORG\n\nPeter B-PER\n")
    (tmp_path / "va.txt").write_text("EU B-ORG\nBonn B-LOC\n")
    with pytest.raises(DataError, match=r"va\.txt: line 2: tag 'B-LOC' never appears in the training data"):
        load_conll(tmp_path / "tr.txt", tmp_path / "va.txt")
    (tmp_path / "u_TRAIN.tsv").write_text("1\t0\n2\t1\n")
    (tmp_path / "u_TEST.tsv").write_text("1\t0\n3\t1\n")
    with pytest.raises(DataError, match=r"u_TEST\.tsv: line 2: label '3' never appears"):
        load_numeric(tmp_path / "u_TRAIN.tsv", test=tmp_path / "u_TEST.tsv")


def test_atomic_write_leaves_old_file_on_failure(tmp_path, monkeypatch):
    p = tmp_path / "vocab.json"
    Vocab(["a"]).save(p)
    before = p.read_bytes()

    def boom(*_):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(p, b"half")
    assert p.read_bytes() == before and os.listdir(tmp_path) == ["vocab.json"]
