"""IMDB data pipeline speed and padding waste, bucketed vs plain batching.

Usage:
    python benchmarks/data_speed.py [DATASETS_DIR] [--batch-size 64] [--maxlen none 400]

Prints: tokenize + vocab + encode throughput over the 50,000 reviews (docs/sec),
the share of padding tokens over one training epoch for plain random batches
(``pool_size=1``) and length-bucketed ones (``pool_size=100``), and the time to
assemble every padded batch of that epoch.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from rnnkit.data import BucketBatchSampler, SequenceDataset, Vocab, WordTokenizer, padding_fraction
from rnnkit.data.sources import load_imdb

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("datasets", nargs="?", default=str(DEFAULT), help="folder holding imdb/ (default ../shared/datasets)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--maxlen", nargs="+", default=["none", "400"], help="'none' or integers")
    ap.add_argument("--max-size", type=int, default=20000, help="vocabulary size, specials included")
    args = ap.parse_args()

    t0 = time.perf_counter()
    data = load_imdb(Path(args.datasets) / "imdb", download=False)
    t_load = time.perf_counter() - t0

    tok = WordTokenizer()
    t0 = time.perf_counter()
    train_tokens = [tok(t) for t in data.train.texts]
    test_tokens = [tok(t) for t in data.test.texts]
    t_tok = time.perf_counter() - t0
    t0 = time.perf_counter()
    vocab = Vocab.build(train_tokens, max_size=args.max_size)
    train_ids = vocab.encode_many(train_tokens)
    vocab.encode_many(test_tokens)
    t_enc = time.perf_counter() - t0
    n_docs = len(train_tokens) + len(test_tokens)
    n_tok = sum(map(len, train_tokens)) + sum(map(len, test_tokens))
    print(f"IMDB: read CSV {t_load:.2f} s for {n_docs} reviews")
    print(
        f"tokenize {t_tok:.2f} s + vocab/encode {t_enc:.2f} s = {n_docs / (t_tok + t_enc):,.0f} docs/sec "
        f"({n_tok / (t_tok + t_enc) / 1e6:.2f} M tokens/sec; vocab {len(vocab)})"
    )

    print(f"padding share per training epoch, batch_size={args.batch_size} ({len(train_ids)} reviews):")
    for m in args.maxlen:
        maxlen = None if m.lower() == "none" else int(m)
        ds = SequenceDataset(train_ids, data.train.labels, maxlen=maxlen)
        row = []
        for name, pool in (("plain", 1), ("bucketed", 100)):
            sampler = BucketBatchSampler(ds.lengths, args.batch_size, seed=0, pool_size=pool)
            batches = list(sampler)
            frac = padding_fraction(ds.lengths, batches)
            t0 = time.perf_counter()
            for b in batches:
                ds.batch(b)
            t_b = time.perf_counter() - t0
            row.append(f"{name} {100 * frac:5.1f}% ({len(batches) / t_b:,.0f} batches/s to assemble)")
        lens = ds.lengths
        print(f"  maxlen={str(maxlen):>4} (median len {int(np.median(lens))}, max {lens.max()}): " + "; ".join(row))


if __name__ == "__main__":
    main()
