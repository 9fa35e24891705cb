"""Seq2seq quality at equal wall time: does the faster training step (issue 12) lose accuracy?

``benchmarks/seq2seq_speed.py`` measures steps/s of the training step in its variants; this
script trains a real model in each variant for the same wall time and compares the test
sequence error rate (a sequence is wrong unless every symbol is right) and token error rate.

The task is character-level and generated (seeded), at the ``char`` shape of
``seq2seq_speed.py``: an alphabet of 60 symbols, words of 3–20 symbols; the target is the
source reversed with every symbol mapped through a fixed permutation of the alphabet and,
after every vowel-like symbol (the first 10 of the alphabet), that symbol doubled (so source
and target lengths differ, and the alignment is not the diagonal: attention has to find it).
Train / validation / test are disjoint sets of words.

The model is the ``char`` shape: embedding 64, BiLSTM-256 encoder, general attention, batch
128, Adam 1e-3 (the task's defaults otherwise). Variants:

* ``feed``       — input feeding on (the per-step decoder loop), fp32;
* ``fast``       — input feeding off (one fused decoder call over all target steps), fp32;
* ``fast+bf16``  — as ``fast`` with ``train.precision = "bf16"`` (needs a CPU with bf16 GEMMs
  to be faster; it runs anywhere).

Each trains for ``--minutes`` of wall time (``train.max_minutes``; validation counted), the
final model is the best-validation-loss checkpoint (``train.restore_best``), and its test
metrics are rnnkit's own over the whole test split (greedy decoding).

    python benchmarks/seq2seq_quality.py                      # 3 variants x 5 minutes
    python benchmarks/seq2seq_quality.py --minutes 1 --variants fast --train 5000
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import rnnkit

ALPHABET = [chr(c) for c in range(ord("A"), ord("Z") + 1)] + [chr(c) for c in range(ord("a"), ord("z") + 1)] \
    + list("0123456789")[:8]
VOWELS = set(ALPHABET[:10])
MODEL = {"model.embedding_dim": 64, "model.hidden_size": 256, "model.bidirectional_encoder": True,
         "model.attention": "general", "data.batch_size": 128,
         "data.source_level": "char", "data.target_level": "char", "data.lowercase": False}
VARIANTS = {
    "feed": {"model.input_feeding": True},
    "fast": {"model.input_feeding": False},
    "fast+bf16": {"model.input_feeding": False, "train.precision": "bf16"},
}


def make_words(n: int, rng: np.random.Generator, lengths: tuple[int, int] = (3, 20)) -> list[str]:
    """``n`` distinct random words over ALPHABET."""
    seen: set[str] = set()
    while len(seen) < n:
        k = int(rng.integers(lengths[0], lengths[1] + 1))
        seen.add("".join(rng.choice(ALPHABET, size=k)))
    return sorted(seen)


def transduce(word: str, table: dict[str, str]) -> str:
    out = []
    for ch in reversed(word):
        out.append(table[ch])
        if ch in VOWELS:
            out.append(table[ch])
    return "".join(out)


def make_task(n_train: int, n_val: int, n_test: int, seed: int):
    rng = np.random.default_rng(seed)
    table = dict(zip(ALPHABET, rng.permutation(ALPHABET)))
    words = make_words(n_train + n_val + n_test, rng)
    order = rng.permutation(len(words))
    words = [words[i] for i in order]
    pairs = [(w, transduce(w, table)) for w in words]
    return pairs[:n_train], pairs[n_train:n_train + n_val], pairs[n_train + n_val:]


def run_variant(name: str, data, minutes: float, out: Path, seed: int) -> dict:
    train, val, test = data
    settings = {**MODEL, **VARIANTS[name], "train.max_minutes": minutes, "train.restore_best": True,
                "train.epochs": 1000, "train.seed": seed}
    start = time.perf_counter()
    run = rnnkit.fit("seq2seq", [s for s, _ in train], [t for _, t in train],
                     val=([s for s, _ in val], [t for _, t in val]),
                     test=([s for s, _ in test], [t for _, t in test]),
                     out=out / name, settings=settings)
    seconds = time.perf_counter() - start
    m = run.result.test_metrics
    fit = run.result.fit
    return {"variant": name, "seconds": seconds, "steps": fit.global_step, "epochs": fit.epochs_completed,
            "seq_err": float(m.get("test_sequence_error_rate", m.get("sequence_error_rate", float("nan")))),
            "tok_err": float(m.get("test_token_error_rate", m.get("token_error_rate", float("nan"))))}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=5.0, help="wall time each variant trains")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--train", type=int, default=50_000, help="training pairs")
    p.add_argument("--val", type=int, default=2_000)
    p.add_argument("--test", type=int, default=2_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        p.error(f"--variants: unknown {unknown}; expected some of {list(VARIANTS)}")

    torch.set_num_threads(args.threads)
    data = make_task(args.train, args.val, args.test, args.seed)
    print(f"char transduction (reverse, substitute, double vowels): {len(data[0]):,} train / {len(data[1]):,} val / "
          f"{len(data[2]):,} test pairs; e.g. {data[0][0][0]!r} -> {data[0][0][1]!r}", flush=True)
    print(f"{args.minutes:g} minutes per variant, torch {torch.__version__}, {torch.get_num_threads()} thread(s)",
          flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="s2s-quality-") as tmp:
        for name in variants:
            rows.append(run_variant(name, data, args.minutes, Path(tmp), args.seed))
            r = rows[-1]
            print(f"  {name}: {r['steps']} steps in {r['seconds']:.0f} s, test sequence error {r['seq_err']:.4f}",
                  flush=True)
    print("\n| variant | steps | epochs | wall s | test sequence error | test token error |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['steps']} | {r['epochs']} | {r['seconds']:.0f} | {r['seq_err']:.4f} | "
              f"{r['tok_err']:.4f} |")


if __name__ == "__main__":
    main()
