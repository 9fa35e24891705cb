"""Dataset sources: each reads one format (or one public dataset) into a small dataclass.

Built-in datasets resolve through :func:`resolve` (path → ``$RNNKIT_DATA`` → cache → verified download).
"""

from __future__ import annotations

from rnnkit.data.sources.conll import TaggedSentences, TaggingData, load_conll, load_conll2003, read_conll
from rnnkit.data.sources.containers import ArrayClassData, ArrayExamples, TextClassData, TextExamples
from rnnkit.data.sources.imdb import load_imdb
from rnnkit.data.sources.mnist import load_mnist, read_idx
from rnnkit.data.sources.numeric import load_numeric, read_npz, read_npz_sequences, read_ucr
from rnnkit.data.sources.longcsv import read_long_csv
from rnnkit.data.sources.sequences import NUMERIC_FORMATS, read_sequences
from rnnkit.data.sources.uea import read_ts
from rnnkit.data.sources.detect import detect_input_format
from rnnkit.data.sources.pairs import PairData, Pairs, load_pairs, load_tatoeba_fra, read_pairs
from rnnkit.data.sources.resolve import SPECS, cache_dir, resolve
from rnnkit.data.sources.text import TextCorpus, bundled_tinyshakespeare, encode_text_file, load_text_corpus
from rnnkit.data.sources.textclass import load_text_classification, read_table
from rnnkit.data.sources.timeseries import ETTH1_SIZES, SeriesData, WindowSplits, load_csv_series, load_etth1, read_csv_series

__all__ = [
    "ArrayClassData", "ArrayExamples", "TextClassData", "TextExamples", "TaggedSentences", "TaggingData",
    "PairData", "Pairs", "TextCorpus", "SeriesData", "WindowSplits", "ETTH1_SIZES", "SPECS",
    "resolve", "cache_dir", "bundled_tinyshakespeare",
    "read_idx", "read_npz", "read_npz_sequences", "read_ucr", "read_ts", "read_long_csv", "read_sequences",
    "detect_input_format", "NUMERIC_FORMATS", "read_conll", "read_pairs", "read_table", "read_csv_series",
    "load_mnist", "load_imdb", "load_text_corpus", "encode_text_file", "load_text_classification", "load_csv_series", "load_etth1",
    "load_conll", "load_conll2003", "load_pairs", "load_tatoeba_fra", "load_numeric",
]
