"""imdb-int: a SimpleRNN fed raw word ids as one float per step (the Keras demo's 50%)."""

from __future__ import annotations

from pathlib import Path

from experiments import _recipes
from experiments.common import result

NAME = "imdb-int"


def run(out_dir: Path, datasets: Path) -> dict:
    res = _recipes.train(NAME, data=str(datasets / "imdb" / "IMDB_Dataset.csv.gz"))
    acc = res.test_metrics["accuracy"]
    plot = _recipes.curves(res, out_dir, ("loss", "accuracy"), "imdb-int: SimpleRNN on raw ids")
    return result(
        NAME, "SimpleRNN reading word ids as numbers", demo="SimpleRNN on raw integer ids (Keras demo, maxlen 100)",
        to_beat="50% (chance)", target="reproduce the contrast with imdb-embed: about chance",
        rows=[{"metric": "accuracy", "value": acc, "split": "test"},
              {"metric": "macro_f1", "value": res.test_metrics["macro_f1"], "split": "test"}],
        command=_recipes.command(NAME), wall_time_s=res.wall_time_s, met=acc < 0.65, plots=[plot],
        notes=("The same data and SimpleRNN as `imdb-embed`, but each word enters as its vocabulary index, one "
               "float per step: index 9,000 looks 9,000 times as large as index 1, the tanh units saturate and "
               "the network cannot tell words apart. Met = test accuracy below 65% (near chance), the demo's point."))
