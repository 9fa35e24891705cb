"""Every source on small files written by the test."""

from __future__ import annotations

import gzip
import io
import json
import struct
import tarfile

import numpy as np
import pytest

from rnnkit.data import LMBatches, Vocab
from rnnkit.data.sources import (
    load_conll,
    load_csv_series,
    load_imdb,
    load_mnist,
    load_numeric,
    load_pairs,
    load_text_classification,
    load_text_corpus,
    read_conll,
    read_idx,
)
from rnnkit.errors import DataError


def write_idx(path, arr, magic):
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", s) for s in arr.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + arr.astype(np.uint8).tobytes())


@pytest.fixture
def mnist_dir(tmp_path):
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 5), ("t10k", 3)):
        write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)), 2051)
        write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10, 2049)
    return tmp_path


def test_mnist_rows_scaled(mnist_dir):
    d = load_mnist(mnist_dir)
    assert d.train.x.shape == (5, 28, 28) and d.test.x.shape == (3, 28, 28) and d.val is None
    assert d.train.x.dtype == np.float32 and 0 <= d.train.x.min() and d.train.x.max() <= 1
    assert d.train.y.tolist() == [0, 1, 2, 3, 4] and d.num_classes == 10
    raw = read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz")
    np.testing.assert_allclose(d.test.x * 255, raw)


def test_text_classification_csv_tsv_jsonl(tmp_path):
    (tmp_path / "train.csv").write_text('text,label\n"good, very good",pos\nbad,neg\n"multi\nline",pos\n')
    (tmp_path / "val.tsv").write_text("label\ttext\nneg\tmeh\n")
    (tmp_path / "test.jsonl").write_text('{"text": "fine", "label": "pos"}\n\n{"text": "no", "label": "neg"}\n')
    d = load_text_classification(tmp_path / "train.csv", tmp_path / "val.tsv", tmp_path / "test.jsonl")
    assert d.labels == ["neg", "pos"] and d.num_classes == 2
    assert d.train.texts == ["good, very good", "bad", "multi\nline"] and d.train.labels.tolist() == [1, 0, 1]
    assert d.val.texts == ["meh"] and d.test.labels.tolist() == [1, 0]


def test_text_classification_split_column_and_numeric_labels(tmp_path):
    p = tmp_path / "all.csv.gz"
    with gzip.open(p, "wt") as f:
        f.write("t,y,s\na,10,train\nb,2,train\nc,2,test\nd,10,valid\n")
    d = load_text_classification(p, text_column="t", label_column="y", split_column="s")
    assert d.labels == ["2", "10"] and d.train.labels.tolist() == [1, 0]
    assert d.val.texts == ["d"] and d.test.texts == ["c"]


def test_imdb_csv_tar_and_folder_agree(tmp_path):
    reviews = {
        "train/pos/1_8.txt": "Great<br />fun", "train/pos/0_9.txt": "Loved it",
        "train/neg/0_2.txt": "Awful", "test/neg/3_1.txt": "Dull", "test/pos/2_7.txt": "Nice",
    }
    folder = tmp_path / "aclImdb"
    tar_path = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(tar_path, "w:gz") as tar:
        for name, text in reviews.items():
            data = text.encode()
            info = tarfile.TarInfo(f"aclImdb/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_text(text)
    csv_path = tmp_path / "imdb.csv"
    csv_path.write_text(
        "review,sentiment,split\nLoved it,positive,train\nGreat<br />fun,positive,train\nAwful,negative,train\n"
        "Nice,positive,test\nDull,negative,test\n"
    )
    a, b, c = load_imdb(csv_path), load_imdb(tar_path), load_imdb(folder)
    for d in (a, b, c):
        assert d.labels == ["negative", "positive"]
        assert d.train.texts == ["Loved it", "Great<br />fun", "Awful"] and d.train.labels.tolist() == [1, 1, 0]
        assert d.test.texts == ["Nice", "Dull"] and d.test.labels.tolist() == [1, 0]


def test_conll_and_conllu(tmp_path):
    p = tmp_path / "train.txt"
    p.write_text("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\n\nPeter NNP B-NP B-PER\n")
    s = read_conll(p)
    assert s.tokens == [["EU", "rejects"], ["Peter"]] and s.tags == [["B-ORG", "O"], ["B-PER"]] and s.lines == [3, 6]
    assert read_conll(p, tag_column=1).tags[0] == ["NNP", "VBZ"]
    u = tmp_path / "x.conllu"
    u.write_text(
        "# sent_id = 1\n1-2\tdu\t_\t_\t_\t_\t_\t_\t_\t_\n1\tde\tde\tADP\t_\t_\t2\tcase\t_\t_\n"
        "2\tle\tle\tDET\t_\t_\t3\tdet\t_\t_\n2.1\tx\t_\tX\t_\t_\t_\t_\t_\t_\n3\tchat\tchat\tNOUN\t_\t_\t0\troot\t_\t_\n"
    )
    su = read_conll(u)
    assert su.tokens == [["de", "le", "chat"]] and su.tags == [["ADP", "DET", "NOUN"]]
    assert read_conll(u, token_column="lemma", tag_column="deprel").tags == [["case", "det", "root"]]
    d = load_conll(p, p)
    assert d.tags == ["B-ORG", "B-PER", "O"] and d.train.tags[0].tolist() == [0, 2] and d.num_tags == 3


def test_pairs_first_two_fields_seeded_split(tmp_path):
    p = tmp_path / "fra.txt"
    p.write_text("".join(f"s{i}\tt{i}\tCC-BY attribution\n" for i in range(20)))
    d = load_pairs(p, val_fraction=0.1, test_fraction=0.2, seed=1)
    assert (len(d.train), len(d.val), len(d.test)) == (14, 2, 4)
    all_src = sorted(d.train.sources + d.val.sources + d.test.sources)
    assert all_src == sorted(f"s{i}" for i in range(20))
    assert all(t == "t" + s[1:] for s, t in zip(d.train.sources, d.train.targets))
    assert load_pairs(p, seed=1).val.sources == load_pairs(p, seed=1).val.sources


def test_numeric_npz_and_ucr(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "a.npz", X=rng.normal(size=(3, 5, 7)), y=np.array([2, 1, 2]))
    (tmp_path / "u_TRAIN.tsv").write_text("1\t0.5\t1.5\t2\n-1\t0\t0\t1\n")
    (tmp_path / "u_TEST.tsv").write_text("-1\t1\t1\t1\n")
    d = load_numeric(tmp_path / "a.npz")
    assert d.train.x.shape == (3, 5, 7) and d.train.x.dtype == np.float32 and d.labels == ["1", "2"]
    assert d.train.y.tolist() == [1, 0, 1]
    u = load_numeric(tmp_path / "u_TRAIN.tsv", test=tmp_path / "u_TEST.tsv")
    assert u.train.x.shape == (2, 3, 1) and u.labels == ["-1", "1"] and u.test.y.tolist() == [0]
    assert u.train.x[0, :, 0].tolist() == [0.5, 1.5, 2.0]


def test_csv_series_split_scale_windows(tmp_path):
    p = tmp_path / "s.csv"
    rows = "".join(f"2020-01-01 {i:02d}:00,{i},{10 * i}\n" for i in range(20))
    p.write_text("date,a,b\n" + rows)
    d = load_csv_series(p, target_columns=["b"], sizes=(10, 5, 5))
    assert d.columns == ["a", "b"] and d.time[0] == "2020-01-01 00:00" and d.train.shape == (10, 2)
    scaled, scaler = d.scale()
    np.testing.assert_allclose(scaled.train.mean(0), 0, atol=1e-6)  # fitted on train rows only
    assert scaled.test.mean() > 1
    w = d.windows(3, 2)
    assert w.train[0].shape == (6, 3, 2) and w.train[1].shape == (6, 2, 1)
    assert w.val[1][0, :, 0].tolist() == [100, 110]  # overlap: the first val target is val's first row
    assert d.windows(3, 2, overlap=False).val[1][0, :, 0].tolist() == [130, 140]
    f = load_csv_series(p, target_columns=["b"], feature_columns=["a"])
    assert f.feature_columns == ["a"] and f.bounds == (14, 16, 20)


def test_text_corpus_char_word_and_memmap(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    p = tmp_path / "t.txt"
    p.write_text("abba cab\nbad cab\n" * 30)
    c = load_text_corpus(p, val_fraction=0.25)
    assert c.vocab.tokens[:2] == ["a", "b"] and c.vocab.pad_id is None
    assert len(c.train) + len(c.val) == 510 and len(c.val) == 127
    assert "".join(c.vocab.decode(c.train[:9])) == "abba cab\n"
    m = load_text_corpus(p, val_fraction=0.25, memmap=True, stream_bytes=1)
    assert isinstance(m.train, np.memmap) and np.array_equal(np.asarray(m.train), c.train)
    assert len(list((tmp_path / "cache" / "corpora").glob("*.npy"))) == 1
    again = load_text_corpus(p, val_fraction=0.25, memmap=True)  # reuses the cached array
    assert np.array_equal(np.asarray(again.val), c.val)
    b = next(iter(LMBatches(m.train, 3, 5)))
    assert b.inputs.shape == (3, 5) and b.inputs.dtype.is_signed
    w = load_text_corpus(p, level="word", val_fraction=0)
    assert w.vocab.pad_id == 0 and w.vocab.decode(w.train[:4], skip_specials=False) == ["abba", "cab", "<eos>", "bad"]
    assert len(w.val) == 0


def test_bundled_tinyshakespeare_is_the_default():
    c = load_text_corpus()
    assert len(c.vocab) == 65 and "".join(c.vocab.decode(c.train[:14])) == "First Citizen:"
    assert isinstance(c.vocab, Vocab)


def test_vocab_json_from_memmap_cache_is_valid(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path))
    p = tmp_path / "t.txt"
    p.write_text("xyz\n")
    c = load_text_corpus(p, memmap=True, val_fraction=0)
    (vocab_file,) = (tmp_path / "corpora").glob("*.vocab.json")
    assert Vocab.from_dict(json.loads(vocab_file.read_text())) == c.vocab
