"""Readers on arbitrary bytes: data or DataError, never anything else."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rnnkit.data.sources import load_csv_series, load_text_classification, load_text_corpus, read_conll, read_pairs
from rnnkit.errors import DataError

# Bytes biased towards the structure the readers care about.
_pieces = st.sampled_from([b",", b"\t", b"\n", b"\r\n", b'"', b" ", b"#", b"-DOCSTART-", b"text", b"label", b"1.5",
                           b"nan", b"\xff", b"\xc3\xa9", b"\x00", b"-", b"\x1f\x8b"])
_data = st.one_of(st.binary(max_size=200), st.lists(st.one_of(_pieces, st.binary(max_size=5)), max_size=40).map(b"".join))

READERS = {
    "csv": (".csv", lambda p: load_text_classification(p)),
    "tsv": (".tsv", lambda p: load_text_classification(p)),
    "jsonl": (".jsonl", lambda p: load_text_classification(p)),
    "series": (".csv", lambda p: load_csv_series(p, target_columns=["label"])),
    "conll": (".txt", lambda p: read_conll(p)),
    "conllu": (".conllu", lambda p: read_conll(p)),
    "pairs": (".txt", lambda p: read_pairs(p)),
    "text": (".txt", lambda p: load_text_corpus(p, memmap=False)),
    "text-word": (".txt", lambda p: load_text_corpus(p, level="word", memmap=False)),
}


@pytest.mark.parametrize("name", sorted(READERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_data, gz=st.booleans())
def test_reader_gives_data_or_data_error(name, data, gz):
    suffix, read = READERS[name]
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / f"f{suffix}{'.gz' if gz else ''}"
        p.write_bytes(gzip.compress(data)[: max(1, len(data) // 2 + 10)] if gz else data)
        try:
            read(p)
        except DataError:
            pass
