"""imdb-bilstm: the best recurrent sentiment model we train from scratch (Keras BiLSTM example: 84.3%)."""

from __future__ import annotations

from pathlib import Path

from experiments import _recipes
from experiments.common import result

NAME = "imdb-bilstm"


def run(out_dir: Path, datasets: Path) -> dict:
    res = _recipes.train(NAME, data=str(datasets / "imdb" / "IMDB_Dataset.csv.gz"))
    acc = res.test_metrics["accuracy"]
    d, m = res.task.config.data, res.task.config.model
    plot = _recipes.curves(res, out_dir, ("loss", "accuracy"), "imdb-bilstm: BiLSTM, max-pooled")
    return result(
        NAME, "BiLSTM sentiment classifier", demo="best recurrent sentiment model from scratch (IMDB)",
        to_beat="Keras BiLSTM example 84.3%", target="≥ 90.0% test accuracy",
        rows=[{"metric": "accuracy", "value": acc, "split": "test"},
              {"metric": "macro_f1", "value": res.test_metrics["macro_f1"], "split": "test"},
              {"metric": "accuracy", "value": res.val_metrics["accuracy"], "split": "val"}],
        command=_recipes.command(NAME), wall_time_s=res.wall_time_s, met=acc >= 0.90, plots=[plot],
        notes=(f"Official 25k/25k split; 10% of the training reviews held out for model selection; the test "
               f"reviews are seen once, at the end. Last {d.max_len} words, {d.max_vocab // 1000}k-word vocabulary "
               f"learned from scratch, {m.embedding_dim}-d embeddings, BiLSTM 2x{m.hidden_size} max-pooled over "
               f"time, dropout {m.dropout}, Adam {res.task.config.train.optim.lr} with a cosine schedule, "
               f"{res.fit.epochs_completed} epochs (the best validation epoch kept), one torch thread; "
               "variable lengths run on rnnkit's segmented CPU path."))
