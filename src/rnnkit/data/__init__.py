"""rnnkit.data — text, numbers and series in; padded, bucketed batches out.

Pipeline: a source (``rnnkit.data.sources``) reads files into splits →
a tokenizer and a :class:`Vocab` (text) or a scaler and windows (series) turn
them into arrays once → :class:`SequenceDataset` + :class:`BucketBatchSampler`
(or :class:`LMBatches` for language models) produce :class:`Batch` objects
``(inputs, lengths, targets)`` with padding id 0 at the end of each row.
Layer rules: imports numpy, torch (tensors only) and ``rnnkit.errors``.
"""

from __future__ import annotations

from rnnkit.data.batching import Batch, BucketBatchSampler, SequenceDataset, make_loader, padding_fraction
from rnnkit.data.encoding import one_hot, pad_sequences, sequence_lengths, unpad_sequences
from rnnkit.data.lm import LMBatches
from rnnkit.data.scalers import MinMaxScaler, StandardScaler, load_scaler
from rnnkit.data.tokenize import CharTokenizer, WordTokenizer, clean_html, get_tokenizer, tokenizer_from_dict
from rnnkit.data.vocab import Vocab
from rnnkit.data.windows import make_windows, split_series, split_sizes

__all__ = [
    "Batch", "BucketBatchSampler", "SequenceDataset", "make_loader", "padding_fraction", "LMBatches",
    "one_hot", "pad_sequences", "unpad_sequences", "sequence_lengths",
    "MinMaxScaler", "StandardScaler", "load_scaler",
    "CharTokenizer", "WordTokenizer", "clean_html", "get_tokenizer", "tokenizer_from_dict",
    "Vocab", "make_windows", "split_series", "split_sizes",
]
