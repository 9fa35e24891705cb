"""Readers of users' numeric sequences: sktime/UEA .ts, long-format CSV, .npz with lengths,
UCR TSV, the missing-value policy and data.format detection (small files made here)."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from rnnkit.data.sources.detect import detect_input_format
from rnnkit.data.sources.longcsv import read_long_csv
from rnnkit.data.sources.numeric import read_npz_sequences, read_ucr
from rnnkit.data.sources.sequences import read_sequences
from rnnkit.data.sources.uea import read_ts
from rnnkit.errors import DataError

TS_MULTI = """# a comment
@problemName Toy
@timeStamps false
@missing true
@univariate false
@dimensions 2
@equalLength false
@classLabel true up down
@data
1,2,3:0.5,0.4,0.3:up
3,2:1,?:down
"""

TS_REGRESS = """@problemName R
@univariate true
@equalLength true
@seriesLength 3
@targetLabel true
@data
1,2,3:0.5
4,5,6:-1.25
"""

CLASSIFY = dict(target="class", labelled=True)


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------ .ts
def test_ts_multivariate_unequal_lengths_and_labels(tmp_path):
    ts = read_ts(_write(tmp_path / "a.ts", TS_MULTI), missing="interpolate")
    assert ts.target_kind == "class" and ts.targets == ["up", "down"] and ts.class_labels == ["up", "down"]
    assert [s.shape for s in ts.series] == [(3, 2), (2, 2)]
    assert ts.series[0][:, 1].tolist() == pytest.approx([0.5, 0.4, 0.3])
    assert ts.series[1].tolist() == [[3.0, 1.0], [2.0, 1.0]]  # '?' filled from its known neighbour
    assert ts.lines == [10, 11] and ts.header["problemname"] == "Toy"


def test_ts_regression_targets_gz_and_task_kind_checks(tmp_path):
    p = tmp_path / "r.ts.gz"
    p.write_bytes(gzip.compress(TS_REGRESS.encode()))
    f = read_sequences(p, "ts", target="value")
    assert f.targets.tolist() == [[0.5], [-1.25]] and [s.shape for s in f.inputs] == [(3, 1), (3, 1)]
    with pytest.raises(DataError, match=r"this task needs class labels \(@classLabel true \.\.\.\); the file has "
                                         r"regression targets \(@targetLabel true\): use the regress task"):
        read_sequences(p, "ts", **CLASSIFY)
    c = _write(tmp_path / "c.ts", TS_MULTI.replace("1,?", "1,2"))
    with pytest.raises(DataError, match=r"the file has class labels \(@classLabel true\): use the classify task"):
        read_sequences(c, "ts", target="value")
    assert read_sequences(c, "ts", target="value", labelled=False).targets is None  # predict needs no label


@pytest.mark.parametrize("change, message", [
    (("", ""), None),
    (("@timeStamps false", "@timeStamps true"), r"line 3: @timeStamps true is not supported"),
    (("1,2,3:0.5", "(0,1),(1,2):(0,3)"), None),
    (("@dimensions 2", "@dimensions 3"), r"line 6: @dimensions 3, but the cases have 2 dimensions \(line 10\)"),
    (("@univariate false", "@univariate true"), r"line 5: @univariate true, but the cases have 2 dimensions"),
    (("@equalLength false", "@equalLength true"), r"line 7: @equalLength true, but line 11 has 2 values per "
                                                    r"dimension and line 10 has 3"),
    ((":down", ":sideways"), r"line 11: class label 'sideways' is not among those @classLabel declares "
                             r"\(line 8: up, down\)"),
    (("3,2:1,2", "3,2:1,2,4"), r"line 11: the dimensions of a case must have the same length; got \[2, 3\]"),
    (("3,2:1,2", "3,x:1,2"), r"line 11: dimension 1, step 2: not a number: 'x'"),
    (("@problemName Toy", "@author me"), r"line 2: unknown header tag @author; known: @problemname"),
    (("@data\n", ""), r"line 9: expected a header tag \(@name value\), or @data before the first case; got '1,2,3"),
    (("@equalLength false", "@equalLength maybe"), r"line 7: @equalLength must be true or false; got 'maybe'"),
])
def test_ts_header_tags_are_honoured_or_refused(tmp_path, change, message):
    text = TS_MULTI.replace("1,?", "1,2").replace(*change)  # no gap: each case checks one thing
    if message is None and "(" not in text:
        assert len(read_ts(_write(tmp_path / "a.ts", text)).series) == 2
        return
    if message is None:  # time-stamped values
        message = r"line 10: values written as \(time,value\) are time stamps"
    with pytest.raises(DataError, match=message):
        read_ts(_write(tmp_path / "a.ts", text))


def test_ts_missing_policy(tmp_path):
    p = _write(tmp_path / "a.ts", TS_MULTI)
    with pytest.raises(DataError, match=r"a\.ts: line 11: dimension 2, step 2: missing value; data.missing = "
                                         r"'error' refuses gaps \(set data.missing = 'interpolate'"):
        read_ts(p)
    _write(p, TS_MULTI.replace("1,?", "?,?"))
    with pytest.raises(DataError, match=r"line 11: dimension 2, step 1: every value of this dimension is missing"):
        read_ts(p, missing="interpolate")
    _write(p, TS_MULTI.replace("@missing true", "@missing false"))
    with pytest.raises(DataError, match=r"line 11: dimension 2, step 2: missing value, but the header says "
                                         r"@missing false \(line 4\)"):
        read_ts(p, missing="interpolate")


def test_ts_never_reaches_the_ucr_reader(tmp_path):
    p = _write(tmp_path / "a.ts", TS_MULTI)
    assert detect_input_format(p, ("csv", "tsv", "jsonl", "npz", "ucr", "ts", "long-csv")) == "ts"
    txt = _write(tmp_path / "a.txt", TS_MULTI)  # another name: the @ header still says .ts
    assert detect_input_format(txt, ("npz", "ucr", "ts")) == "ts"
    tsv = _write(tmp_path / "a.tsv", TS_MULTI)
    assert detect_input_format(tsv, ("tsv", "ucr", "ts"), text_column="text") == "ts"
    with pytest.raises(DataError, match=r"a\.ts: line 1: starts with '#': this is a sktime/UEA \.ts file, not UCR "
                                         r"TSV; set data.format = 'ts'"):
        read_ucr(p)


# ------------------------------------------------------------------ long-format CSV
LONG = """id,time,x,y,label
a,0,0.1,1.0,up
a,1,0.3,0.9,up
b,0,0.5,0.2,down
a,2,0.4,0.8,up
"""


def test_long_csv_groups_ids_says_what_auto_chose(tmp_path):
    p = _write(tmp_path / "l.csv", LONG)
    d = read_long_csv(p, label_columns=["label"])
    assert d.ids == ["a", "b"] and [s.shape for s in d.series] == [(3, 2), (1, 2)]
    assert d.series[0][:, 0].tolist() == pytest.approx([0.1, 0.3, 0.4]) and d.labels == [["up"], ["down"]]
    assert d.lines == [2, 4] and d.feature_columns == ["x", "y"]
    assert d.notes == ["data.id_column = 'auto' chose column 'id'", "data.time_column = 'auto' chose column 'time'"]
    with pytest.warns(UserWarning, match=r"l\.csv: data.id_column = 'auto' chose column 'id'"):
        f = read_sequences(p, "long-csv", **CLASSIFY)
    assert f.targets == ["up", "down"]
    # unlabelled input: the label column (if present) is never a feature
    assert read_sequences(p, "long-csv", target="class", labelled=False).inputs[0].shape == (3, 2)
    r = _write(tmp_path / "r.csv", LONG.replace("up", "1.5").replace("down", "-2"))
    assert read_sequences(r, "long-csv", target="value", label_columns=["label"]).targets.tolist() == [[1.5], [-2.0]]


@pytest.mark.parametrize("text, kwargs, message", [
    (LONG.replace("a,2,0.4,0.8,up", "a,2,0.4,0.8,down"), {},
     r"line 5: id 'a': column 'label' changes from 'up' \(line 2\) to 'down'; a sequence has one label"),
    (LONG.replace("a,2,", "a,1,"), {}, r"line 5: id 'a': time '1' does not come after '1' \(line 3\); the rows of "
                                       r"an id must be ordered by time"),
    (LONG.replace("id,", "key,"), {}, r"line 1: data.id_column = 'auto' found no id column \(looked for \['id', "
                                      r".*\], any case\); the header has \['key', 'time', 'x', 'y', 'label'\]"),
    (LONG.replace("time,x", "series,x"), {}, r"data.id_column = 'auto' found several candidate columns "
                                             r"\['id', 'series'\]"),
    (LONG, {"id_column": "sid"}, r"line 1: data.id_column 'sid' is not a column; the header has"),
    (LONG, {"label_columns": ["class"]}, r"line 1: label column 'class' is not a column"),
    (LONG.replace("0.3,0.9", "0.3,"), {}, r"line 3: id 'a': column 'y': missing value; data.missing = 'error'"),
    (LONG.replace("0.3,0.9", "0.3,abc"), {}, r"line 3: column 'y': not a number: 'abc'"),
    (LONG.replace("a,1,", "a,t1,"), {}, r"line 3: column 'time': time 't1' is neither a number nor an ISO date"),
])
def test_long_csv_errors(tmp_path, text, kwargs, message):
    kw = {"label_columns": ["label"], **kwargs}
    with pytest.raises(DataError, match=message):
        read_long_csv(_write(tmp_path / "l.csv", text), **kw)


def test_long_csv_interpolates_and_orders_iso_dates(tmp_path):
    p = _write(tmp_path / "l.csv", "sample_id,date,v,label\n"
               "s1,2024-01-01,1,a\ns1,2024-01-02,,a\ns1,2024-01-03,3,a\ns2,2024-01-01,5,b\n")
    d = read_long_csv(p, label_columns=["label"], missing="interpolate")
    assert d.id_column == "sample_id" and d.time_column == "date" and d.series[0][:, 0].tolist() == [1, 2, 3]
    none = read_long_csv(p, label_columns=["label"], time_column="none", feature_columns=["v"], missing="interpolate")
    assert none.time_column is None and none.feature_columns == ["v"] and none.series[1].tolist() == [[5.0]]
    with pytest.raises(DataError, match=r"line 2: column 'date': not a number: '2024-01-01'"):
        read_long_csv(p, label_columns=["label"], time_column="none")  # the date is then a feature


# ------------------------------------------------------------------ npz
def test_npz_lengths_honoured_padding_never_read_unknown_arrays_refused(tmp_path):
    x = np.full((3, 4, 2), np.nan)  # NaN padding: never read
    for i, n in enumerate((4, 2, 1)):
        x[i, :n] = i + 1
    np.savez(tmp_path / "v.npz", X=x, y=np.array([0, 1, 0]), lengths=np.array([4, 2, 1]))
    seqs, y = read_npz_sequences(tmp_path / "v.npz")
    assert [s.shape for s in seqs] == [(4, 2), (2, 2), (1, 2)] and y.tolist() == [0, 1, 0]
    np.savez(tmp_path / "extra.npz", X=x, y=np.array([0, 1, 0]), lengths=np.array([4, 2, 1]), ids=np.arange(3))
    with pytest.raises(DataError, match=r"extra\.npz: unknown array 'ids': an \.npz file holds X, y, lengths "
                                         r"\(lengths optional\) and nothing else"):
        read_npz_sequences(tmp_path / "extra.npz")
    np.savez(tmp_path / "bad.npz", X=x, y=np.array([0, 1, 0]), lengths=np.array([4, 5, 1]))
    with pytest.raises(DataError, match=r"lengths must be 3 integers in \[1, 4\]"):
        read_npz_sequences(tmp_path / "bad.npz")
    np.savez(tmp_path / "gap.npz", X=x, y=np.array([0, 1, 0]))  # no lengths: the NaN are gaps
    with pytest.raises(DataError, match=r"gap\.npz: X\[1, 2, 0\]: missing value"):
        read_npz_sequences(tmp_path / "gap.npz")
    np.savez(tmp_path / "ragged.npz", X=np.array([np.zeros(3), np.zeros(2)], dtype=object), y=np.array([0, 1]))
    with pytest.raises(DataError, match=r"holds an object array .* pad the sequences into X \(N, T, D\) and give "
                                         r"their real lengths in a 'lengths' array"):
        read_npz_sequences(tmp_path / "ragged.npz")


# ------------------------------------------------------------------ UCR
def test_ucr_is_univariate_with_trailing_nan_end_padding(tmp_path):
    p = _write(tmp_path / "u.tsv", "1\t0.5\t1\t2\n2\t3\t4\tNaN\n")
    series, labels, lines = read_ucr(p)
    assert [s.shape for s in series] == [(3, 1), (2, 1)] and labels == ["1", "2"] and lines == [1, 2]
    _write(p, "1\t0.5\t1\t2\n2\t3\t4\n")
    with pytest.raises(DataError, match=r"u\.tsv: line 2: expected 4 fields like line 1; got 3 \(UCR TSV: a label "
                                         r"then the values of one univariate series\)"):
        read_ucr(p)


# ------------------------------------------------------------------ detection
CLASSIFY_FORMATS = ("csv", "tsv", "jsonl", "npz", "ucr", "ts", "long-csv")


def test_detection_of_each_format(tmp_path):
    assert detect_input_format(_write(tmp_path / "l.csv", LONG), CLASSIFY_FORMATS, text_column="text") == "long-csv"
    assert detect_input_format(_write(tmp_path / "t.csv", "text,label\nhi,a\n"), CLASSIFY_FORMATS,
                               text_column="text") == "csv"
    assert detect_input_format(_write(tmp_path / "u.tsv", "1\t0.5\t2\n"), CLASSIFY_FORMATS, text_column="text") == "ucr"
    assert detect_input_format(_write(tmp_path / "u_TRAIN", "1,0.5,2\n"), CLASSIFY_FORMATS) == "ucr"
    assert detect_input_format(tmp_path / "t.csv", CLASSIFY_FORMATS, text_column="text", lines_ok=True) == "csv"
    assert detect_input_format(_write(tmp_path / "p.txt", "some text\n"), CLASSIFY_FORMATS, lines_ok=True) == "lines"
    regress = ("csv", "npz", "ucr", "ts", "long-csv")
    assert detect_input_format(tmp_path / "l.csv", regress) == "long-csv"
    assert detect_input_format(_write(tmp_path / "s.csv", "date,a\n1,2\n"), regress) == "csv"
    assert detect_input_format(tmp_path / "s.csv", regress, id_column="a") == "long-csv"


def test_detection_failures_say_what_was_tried_and_the_columns(tmp_path):
    p = _write(tmp_path / "t.csv", "review,sentiment\nhi,a\n")
    with pytest.raises(DataError, match=r"t\.csv: line 1: unknown column 'text' \(data.text_column, for a csv text "
                                         r"table\); no id column \(data.id_column = 'auto' looks for id, .*, for "
                                         r"long-csv\); not a label followed by numbers \(for ucr\); the header has "
                                         r"\['review', 'sentiment'\] \(tried csv text table, long-csv, ucr; set "
                                         r"data.format to one of"):
        detect_input_format(p, CLASSIFY_FORMATS, text_column="text")
    t = _write(tmp_path / "t.tsv", "review\tsentiment\nhi\ta\n")  # a wrong text_column never reaches the UCR reader
    with pytest.raises(DataError, match=r"t\.tsv: line 1: unknown column 'text' \(data.text_column, for a tsv text "
                                         r"table\); not a label followed by numbers \(for ucr\); the header has "
                                         r"\['review', 'sentiment'\]"):
        detect_input_format(t, CLASSIFY_FORMATS, text_column="text")
    with pytest.raises(DataError, match=r"l\.csv: line 1: .*; unknown column 'sid' \(data.id_column, for long-csv\)"):
        detect_input_format(_write(tmp_path / "l.csv", LONG), CLASSIFY_FORMATS, text_column="text", id_column="sid")
    with pytest.raises(DataError, match=r"p\.txt: cannot tell the input format: line 1 does not start with a @tag "
                                         r"\(for ts\); is not a label followed by numbers \(for ucr\) \(tried ts, "
                                         r"ucr; set data.format"):
        detect_input_format(_write(tmp_path / "p.txt", "some text\n"), CLASSIFY_FORMATS)
