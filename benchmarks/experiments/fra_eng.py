"""fra-eng: attention seq2seq on the Tatoeba pairs; BLEU on the whole fixed held-out test split; heatmaps."""

from __future__ import annotations

from pathlib import Path

from experiments import _recipes
from experiments.common import result


NAME = "fra-eng"


def run(out_dir: Path, datasets: Path) -> dict:
    from rnnkit.train import Trainer
    from rnnkit.viz.attention import plot_attention

    res = _recipes.train(NAME, data=str(datasets / "fra-eng" / "fra.txt.gz"))
    task, model, cfg = res.task, res.model, res.task.config
    # the test figure decodes every held-out pair (training decoded only a few batches per epoch)
    cfg.decode.eval_batches = None
    test = Trainer(model, task.objective(), cfg.train, None).evaluate(task.prepare(None).test)

    _, _, pairs = task._read_splits()  # the same seeded held-out test pairs
    picks = [i for i, s in enumerate(pairs.sources) if 5 <= len(s.split()) <= 8][:8]
    cfg.decode.attention = True
    rows = task.predict(model, [pairs.sources[i] for i in picks])
    plots = []
    for k, row in enumerate(rows[:2]):
        name = f"attention_{k + 1}.png"
        plot_attention(row["attention"], row["source_tokens"], row["target_tokens"], out_dir / name,
                       title=f"{row['source']} → {row['prediction']}")
        plots.append(f"{out_dir.name}/{name}")
    plots.append(_recipes.curves(res, out_dir, ("loss", "bleu"), "fra-eng: seq2seq + attention"))
    samples = "\n".join(f"EN   {pairs.sources[i]}\nREF  {pairs.targets[i]}\nOUT  {r['prediction']}\n"
                        for i, r in zip(picks, rows))
    return result(
        NAME, "seq2seq with attention, English → French", demo="Keras lstm_seq2seq on the Tatoeba pairs (char level)",
        to_beat="Keras reports no BLEU", target="BLEU on a fixed held-out split; attention heatmap",
        rows=[{"metric": "BLEU", "value": 100 * test["bleu"], "split": "test"},
              {"metric": "token accuracy (teacher forced)", "value": test["accuracy"], "split": "test"},
              {"metric": "BLEU (20 batches)", "value": 100 * res.val_metrics["bleu"], "split": "val"}],
        command=_recipes.command(NAME), wall_time_s=res.wall_time_s, met=True, plots=plots, samples=samples,
        notes=("Word level, lowercased, punctuation split off. The held-out split is a seeded (split_seed=0) random 5% "
               "of all 167k pairs for test and 5% for validation; the same English sentence can occur in training "
               "with another French translation, as in any random split of this file. Test BLEU: corpus BLEU-4 "
               "of greedy decodes of every test pair against its one reference (x100). Samples and heatmaps use "
               f"beam search (beam {cfg.decode.beam_size}); {res.fit.epochs_completed} epochs ({res.fit.stop_reason})."))
