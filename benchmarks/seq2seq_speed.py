"""Seq2seq training throughput: steps/s and target tokens/s of one optimizer step
(forward + backward + Adam step, through the task's own loss) at batch 128, one thread,
fixed seed, on two shapes:

* ``fra-eng`` — the fra-eng recipe's model (word level, 8000-token vocabularies per side,
  embedding 128, BiLSTM-256 encoder, general attention, dropout 0.2), sentences of 3–10
  words (+ eos);
* ``char`` — a character-level model (vocabularies of 60 symbols, words of 3–20 symbols,
  embedding 64, BiLSTM-256 encoder, general attention).

Each shape is measured in every variant given by ``--variants`` (default: all), so one run
shows before and after side by side:

* ``before`` — input feeding on, the output layer over every padded position and the loss
  picked from it: the recipe's training step before issue 12 (commit 02172a1);
* ``feed``  — input feeding on (the per-step decoder loop), output layer and loss on the real
  target positions only (``Seq2Seq.token_loss``, the task's loss now);
* ``fast``  — input feeding off: one fused decoder call over all target steps, attention
  for all steps at once, the output layer once;
* ``fast+adaptive`` — as ``fast`` with ``model.softmax = "adaptive"`` (fra-eng shape only:
  the char vocabulary is too small for clusters);
* ``fast+bf16``, ``fast+adaptive+bf16`` — the same under bf16 autocast, as ``train.precision =
  "bf16"`` runs it (fp32 master weights; bf16 GEMMs and fused LSTM kernels where the CPU has
  AVX512_BF16/AMX).

    python benchmarks/seq2seq_speed.py                       # both shapes, all variants
    python benchmarks/seq2seq_speed.py --shapes char --steps 10 --variants feed,fast
    python benchmarks/seq2seq_speed.py --bucketed --flops        # + GFLOP per step and GFLOP/s reached

The batches are random ids with random lengths (seeded): throughput does not depend on
what the ids are, but it does depend on how many distinct source lengths a batch holds (the
encoder's fused kernel runs once per distinct length on CPU, ``rnnkit.nn.segments``). By
default every batch mixes all lengths; ``--bucketed`` draws them as the task's training loader
does (``BucketBatchSampler``: pools of 100 batches sorted by source length), which is what a
recipe's training steps see. One thread: the time is the thread's CPU time (the work of the step, not
the load of a shared machine); more threads: wall time. Printed: median seconds per step over ``--steps`` timed steps (after
``--warmup``), steps/s, target tokens/s (real tokens, padding excluded) and the speed-up
over ``before`` of the same shape.

``--flops`` adds the arithmetic of one step (forward and backward, counted by
``torch.utils.flop_counter`` on the same model with ``backend = "unrolled"``, whose step loop
it can see into; the fused kernels do the same GEMMs) and the rate the timed step reached. Set
beside a one-thread GEMM's rate (``benchmarks/blas_gemm.py``), it says how far a variant is from
the machine's ceiling: a speed-up that would need more GFLOP/s than the GEMM reaches cannot
come from faster code, only from less arithmetic or a cheaper number format (bf16).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from rnnkit.data import Batch, Vocab
from rnnkit.models import Seq2Seq, Seq2SeqConfig
from rnnkit.tasks.seq2seq import DecodeConfig, Seq2SeqObjective

SHAPES = {
    "fra-eng": dict(vocab=8000, words=(3, 10), model=dict(embedding_dim=128, hidden_size=256, dropout=0.2)),
    "char": dict(vocab=60, words=(3, 20), model=dict(embedding_dim=64, hidden_size=256, dropout=0.0)),
}
VARIANTS = ("before", "feed", "fast", "fast+adaptive", "fast+bf16", "fast+adaptive+bf16")


def variant_config(variant: str) -> dict:
    cfg = dict(input_feeding=variant in ("before", "feed"))
    if "+adaptive" in variant:
        cfg["softmax"] = "adaptive"
    return cfg


def random_batch(gen: torch.Generator, batch: int, vocab: int, words: tuple[int, int],
                 src_len: torch.Tensor | None = None) -> Batch:
    lo, hi = words
    src_len = torch.randint(lo, hi + 1, (batch,), generator=gen) if src_len is None else src_len
    tgt_len = torch.randint(lo, hi + 1, (batch,), generator=gen) + 2  # bos ... eos
    src = torch.randint(1, vocab, (batch, int(src_len.max())), generator=gen)
    src = src.masked_fill(torch.arange(src.shape[1]) >= src_len.unsqueeze(1), 0)
    tgt = torch.randint(4, vocab, (batch, int(tgt_len.max())), generator=gen)
    tgt[:, 0] = 2  # bos (Vocab: pad 0, unk 1, bos 2, eos 3)
    tgt[torch.arange(batch), tgt_len - 1] = 3  # eos
    tgt = tgt.masked_fill(torch.arange(tgt.shape[1]) >= tgt_len.unsqueeze(1), 0)
    return Batch(src, src_len, tgt, tgt_len)


def bucketed_batches(gen: torch.Generator, n: int, batch: int, vocab: int, words: tuple[int, int],
                     pool_size: int = 100) -> list[Batch]:
    """``n`` batches as the task's training loader draws them (``rnnkit.data.BucketBatchSampler``,
    pool_size 100): a pool of ``batch * pool_size`` source lengths sorted, cut into batches, ``n``
    of those batches taken at random; so a batch's sources have one or two lengths, not all of them."""
    lo, hi = words
    pool = torch.randint(lo, hi + 1, (batch * pool_size,), generator=gen).sort().values.view(pool_size, batch)
    picks = torch.randperm(pool_size, generator=gen)[:n]
    return [random_batch(gen, batch, vocab, words, src_len=pool[int(i)][torch.randperm(batch, generator=gen)])
            for i in picks]


def clock() -> float:
    """CPU seconds of this thread: with one torch thread all the step's work runs here, so a shared
    machine's load does not inflate the figure (wall time with more threads)."""
    return time.thread_time() if torch.get_num_threads() == 1 else time.perf_counter()


def step_loss(variant: str, model: Seq2Seq, objective: Seq2SeqObjective, b: Batch) -> torch.Tensor:
    """The training loss of one batch as ``variant`` computes it."""
    if variant == "before":  # the objective of 02172a1: logits everywhere, the loss at the real positions
        tgt_in, tgt_out, n = b.targets[:, :-1], b.targets[:, 1:], b.target_lengths - 1
        logits = model(b.inputs, tgt_in, b.lengths, n).logits
        real = torch.arange(tgt_out.shape[1]) < n.unsqueeze(1)
        loss = torch.nn.functional.cross_entropy(logits[real].float(), tgt_out[real])
        logits.detach().argmax(-1)  # its token accuracy
        return loss
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=variant.endswith("+bf16")):
        return objective(model, b, None).loss  # +bf16: as train.precision = "bf16" (fp32 master weights)


def step_gflop(variant: str, model: Seq2Seq, objective: Seq2SeqObjective, batches: list[Batch]) -> float:
    """Mean GFLOP of one training step's forward and backward over ``batches``, counted on an
    unrolled twin of ``model`` (flop_counter does not see inside the fused recurrent kernels)."""
    from torch.utils.flop_counter import FlopCounterMode

    twin = Seq2Seq(dataclasses.replace(model.config, backend="unrolled")).train()
    twin.load_state_dict(model.state_dict())
    counts = []
    for b in batches:
        with FlopCounterMode(display=False) as counter:
            step_loss(variant, twin, objective, b).backward()
        counts.append(counter.get_total_flops() / 1e9)
    return statistics.mean(counts)


def measure(shape: str, variant: str, batch: int, steps: int, warmup: int, seed: int, bucketed: bool = False,
            flops: bool = False) -> dict:
    spec = SHAPES[shape]
    torch.manual_seed(seed)
    vocab = Vocab([f"t{i}" for i in range(spec["vocab"] - 4)])  # pad unk bos eos + ordinary tokens
    cfg = Seq2SeqConfig(src_vocab_size=len(vocab), tgt_vocab_size=len(vocab), bidirectional_encoder=True,
                        attention="general", pad_id=vocab.pad_id, bos_id=vocab.bos_id, eos_id=vocab.eos_id,
                        **spec["model"])
    fields = {f.name for f in dataclasses.fields(Seq2SeqConfig)}
    extra = variant_config(variant)
    if not set(extra) <= fields:
        return {"skipped": f"Seq2SeqConfig has no {sorted(set(extra) - fields)} in this version"}
    model = Seq2Seq(dataclasses.replace(cfg, **extra)).train()
    objective = Seq2SeqObjective(vocab, DecodeConfig(), sample=0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    batches = (bucketed_batches(gen, 8, batch, spec["vocab"], spec["words"]) if bucketed else
               [random_batch(gen, batch, spec["vocab"], spec["words"]) for _ in range(8)])
    times, tokens = [], []
    for i in range(warmup + steps):
        b = batches[i % len(batches)]
        t0 = clock()
        opt.zero_grad(set_to_none=True)
        step_loss(variant, model, objective, b).backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= warmup:
            times.append(clock() - t0)
            tokens.append(int(b.target_lengths.sum()) - len(b))  # predicted tokens: all but bos
    sec = statistics.median(times)
    out = {"sec": sec, "steps_s": 1 / sec, "tok_s": statistics.mean(tokens) / sec}
    if flops:
        gflop = step_gflop(variant, model, objective, batches)
        out.update(gflop=gflop, gflop_s=gflop / sec)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", default="fra-eng,char")
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--bucketed", action="store_true",
                   help="batches as the training loader buckets them (sources of one or two lengths per batch) "
                        "instead of uniformly random lengths")
    p.add_argument("--flops", action="store_true",
                   help="also count each variant's GFLOP per step and print the GFLOP/s its timed step reached")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch}, "
          f"median of {args.steps} steps after {args.warmup} warm-up; "
          f"{'length-bucketed batches' if args.bucketed else 'random lengths in every batch'}; "
          f"{'thread CPU time' if args.threads == 1 else 'wall time'} per step")
    print(f"{'shape':8} {'variant':14} {'s/step':>8} {'steps/s':>8} {'tgt tok/s':>10} {'vs before':>9}"
          + (f" {'GFLOP/step':>10} {'GFLOP/s':>8}" if args.flops else ""))
    for shape in args.shapes.split(","):
        base = None
        for variant in args.variants.split(","):
            if "+adaptive" in variant and shape == "char":
                continue
            r = measure(shape, variant, args.batch, args.steps, args.warmup, args.seed, args.bucketed, args.flops)
            if "skipped" in r:
                print(f"{shape:8} {variant:14} skipped: {r['skipped']}")
                continue
            if variant == "before":
                base = r["sec"]
            ratio = f"{base / r['sec']:.2f}x" if base else "-"
            rate = f" {r['gflop']:10.2f} {r['gflop_s']:8.1f}" if args.flops else ""
            print(f"{shape:8} {variant:14} {r['sec']:8.3f} {r['steps_s']:8.2f} {r['tok_s']:10.0f} {ratio:>9}{rate}",
                  flush=True)


if __name__ == "__main__":
    main()
