"""conll-ner: BiLSTM-CRF with character CNN features on CoNLL-2003 English, entity F1 on test."""

from __future__ import annotations

from pathlib import Path

from experiments import _recipes
from experiments.common import result

NAME = "conll-ner"
# the second row: the same recipe trained on train + validation (Flair's train_with_dev protocol) for
# its 30 epochs; nothing is picked by the validation figures then, so restore_best and early stopping are off
TRAIN_WITH_VAL = ["data.train_with_val=true", "train.restore_best=false", "train.early_stopping_patience=none"]


def run(out_dir: Path, datasets: Path) -> dict:
    res = _recipes.train(NAME, data=str(datasets / "conll2003"))  # the built-in train/valid/test split
    t, v = res.test_metrics, res.val_metrics
    f1 = 100 * t["f1"]
    plot = _recipes.curves(res, out_dir, ("loss", "f1"), "conll-ner: BiLSTM-CRF + char CNN")
    both = _recipes.train(NAME, TRAIN_WITH_VAL, name=f"{NAME}-train-with-val", data=str(datasets / "conll2003"))
    tb = both.test_metrics
    return result(
        NAME, "BiLSTM-CRF tagger with character features", demo="BiLSTM(-CRF) + char features, CoNLL-2003 English",
        to_beat="90.94 F1 with pretrained embeddings (Lample et al. 2016)",
        target="≥ 87 entity F1 on test, no pretrained embeddings",
        rows=[{"metric": "entity F1", "value": f1, "split": "test"},
              {"metric": "precision", "value": 100 * t["precision"], "split": "test"},
              {"metric": "recall", "value": 100 * t["recall"], "split": "test"},
              {"metric": "entity F1", "value": 100 * v["f1"], "split": "val"},
              {"metric": "entity F1, trained on train + val", "value": 100 * tb["f1"], "split": "test"},
              {"metric": "precision, trained on train + val", "value": 100 * tb["precision"], "split": "test"},
              {"metric": "recall, trained on train + val", "value": 100 * tb["recall"], "split": "test"}],
        command=_recipes.command(NAME), wall_time_s=res.wall_time_s + both.wall_time_s, met=f1 >= 87.0,
        plots=[plot],
        notes=("Entity-level (conlleval-style, exact span and type) F1 on `test` (eng.testb), the model chosen by "
               "validation F1 (eng.testa). Tags learnt as "
               f"{'IOBES (predictions written back as IOB2)' if res.task.artifacts.scheme == 'iobes' else 'in the file'}. "
               "Word embeddings are learned from the 14k training sentences only; "
               f"{res.task.config.model.num_layers} BiLSTM layer(s) of {res.task.config.model.hidden_size} per direction; "
               f"{res.fit.epochs_completed} epochs ({res.fit.stop_reason}), one torch thread. "
               "'Trained on train + val': the same recipe with `--set " + " --set ".join(TRAIN_WITH_VAL) + "` "
               f"({both.fit.epochs_completed} epochs, {both.fit.stop_reason}; the last epoch's weights), the "
               "protocol of Flair's train_with_dev; Met is judged on the first row, the model trained on train only."))
