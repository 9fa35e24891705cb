"""fra-eng: attention seq2seq on the Tatoeba pairs; BLEU on the whole fixed held-out test split; heatmaps."""

from __future__ import annotations

from pathlib import Path

from experiments import _recipes
from experiments.common import result


NAME = "fra-eng"
UNK_SAMPLE = 1000


def unk_rate_of(task, model, pairs) -> tuple[float, int]:
    """``<unk>`` per predicted word over the first UNK_SAMPLE of ``pairs`` (decoded as predict does)."""
    from rnnkit.tasks.pipeline import predict_examples

    rows = predict_examples(task, model, pairs.take(range(min(UNK_SAMPLE, len(pairs.inputs)))))
    words = [w for r in rows for w in r["prediction"].split()]
    return sum(w.count("<unk>") for w in words) / max(len(words), 1), len(rows)


def run(out_dir: Path, datasets: Path) -> dict:
    from rnnkit.tasks.pipeline import predict_examples
    from rnnkit.tasks.runner import with_settings
    from rnnkit.viz.attention import plot_attention

    res = _recipes.train(NAME, data=str(datasets / "fra-eng" / "fra.txt.gz"))
    task, model, cfg = res.task, res.model, res.task.config
    # res.test_metrics decode every held-out test pair with the configured beam (the final objective)
    test = res.test_metrics
    pairs = res.data.examples["test"]  # the same seeded held-out test pairs
    picks = [i for i, s in enumerate(pairs.inputs) if 5 <= len(s.split()) <= 8][:8]
    shown = type(task)(with_settings(cfg, ["decode.attention=true"]))
    shown.artifacts = task.artifacts
    rows = predict_examples(shown, model, pairs.take(picks))
    plots = []
    for k, row in enumerate(rows[:2]):
        name = f"attention_{k + 1}.png"
        plot_attention(row["attention"], row["source_tokens"], row["target_tokens"], out_dir / name,
                       title=f"{row['source']} → {row['prediction']}")
        plots.append(f"{out_dir.name}/{name}")
    plots.append(_recipes.curves(res, out_dir, ("loss", "bleu"), "fra-eng: seq2seq + attention"))
    # <unk> in the outputs: over the first UNK_SAMPLE test pairs, decoded as predict does (the configured beam)
    unk_rate, n_unk_rows = unk_rate_of(task, model, pairs)
    vocabulary = (f"BPE subwords ({cfg.data.bpe_vocab_size} per side; outputs scored as words, punctuation split off)"
                  if cfg.data.tokenizer == "bpe" else "Word level, punctuation split off")
    samples = "\n".join(f"EN   {pairs.inputs[i]}\nREF  {pairs.targets[i]}\nOUT  {r['prediction']}\n"
                        for i, r in zip(picks, rows))
    return result(
        NAME, "seq2seq with attention, English → French", demo="Keras lstm_seq2seq on the Tatoeba pairs (char level)",
        to_beat="Keras reports no BLEU", target="BLEU on a fixed held-out split; attention heatmap",
        rows=[{"metric": "BLEU", "value": 100 * test["bleu"], "split": "test"},
              {"metric": "token accuracy (teacher forced)", "value": test["accuracy"], "split": "test"},
              {"metric": "BLEU", "value": 100 * res.val_metrics["bleu"], "split": "val"},
              {"metric": f"<unk> per predicted word (first {n_unk_rows} pairs)", "value": unk_rate, "split": "test"}],
        command=_recipes.command(NAME), wall_time_s=res.wall_time_s, met=True, plots=plots, samples=samples,
        notes=(f"{vocabulary}, lowercased; model: input_feeding={str(cfg.model.input_feeding).lower()}, "
               f"softmax={cfg.model.softmax!r}. The held-out split is a seeded (split_seed=0) random 5% "
               "of all 167k pairs for test and 5% for validation; the same English sentence can occur in training "
               "with another French translation, as in any random split of this file. BLEU: corpus BLEU-4 of the "
               f"beam-{cfg.decode.beam_size} decodes of every test (and validation) pair against its one reference "
               f"(x100); {res.fit.epochs_completed} epochs ({res.fit.stop_reason})."))


if __name__ == "__main__":  # PYTHONPATH=benchmarks python benchmarks/experiments/fra_eng.py RUN_DIR: its <unk> rate
    import sys

    from rnnkit.tasks import pipeline
    from rnnkit.tasks.runner import load_run

    task, model = load_run(sys.argv[1])
    test = pipeline.read_split_only(task, "test")  # the run's own seeded held-out test pairs
    rate, n = unk_rate_of(task, model, test)
    print(f"{sys.argv[1]}: <unk> per predicted word over the first {n} test pairs: {rate:.4f}")
