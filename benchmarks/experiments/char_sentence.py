"""char-sentence: a char LSTM learns one sentence and regenerates it from "This is G".

The demo (a SimpleRNN on windows of 3 characters) degenerates into "traininininin...":
three characters cannot tell which "in" of "training" it is in. The recipe reads the same
windows of 3 (truncated BPTT chunks of ``seq_len = 3``) but carries the LSTM state from
one window to the next, so the model knows where in the sentence it is.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from experiments import _recipes
from experiments.common import result

NAME = "char-sentence"
SENTENCE = "This is GeeksforGeeks a software training institute"
REPEATS = 8  # the corpus is the sentence, one line per repeat: a stream to carry state along


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sentence.txt"
    path.write_text((SENTENCE + "\n") * REPEATS, encoding="utf-8")
    return path


def run(out_dir: Path, datasets: Path) -> dict:
    start = time.perf_counter()
    corpus = write_corpus(out_dir)
    shutil.rmtree(_recipes.RUNS / NAME, ignore_errors=True)
    res = _recipes.train(NAME, data=str(corpus))
    text = res.task.generate(res.model)  # the recipe's [generate]: 50 greedy characters after "This is G"
    first_line = text.split("\n")[0]
    met = first_line == SENTENCE
    plot = _recipes.curves(res, out_dir, ("loss",), "char-sentence: train nats/char per epoch")
    return result(
        NAME, "char LSTM regenerates one sentence",
        demo="char RNN over one sentence, window 3, generate 50 characters from \"This is G\"",
        to_beat="the demo degenerates into \"traininininin…\"", target="reproduces the sentence",
        rows=[{"metric": "reproduced", "value": "yes" if met else "no", "split": "greedy, 50 chars"},
              {"metric": "train nll (nats/char)", "value": res.fit.history[-1]["train_loss"], "split": "last epoch"}],
        command=_recipes.command(NAME), wall_time_s=time.perf_counter() - start, met=met, plots=[plot],
        samples=f"prime: \"This is G\", 50 greedy characters:\n{text}",
        notes=(f"Corpus: the sentence \"{SENTENCE}\" ({len(SENTENCE)} characters) written {REPEATS} times, one line "
               "each (`results/char-sentence/sentence.txt`). Windows of 3 characters (seq_len = 3) with the LSTM "
               "state carried across windows; greedy decoding (temperature 0). Met = the first generated line equals "
               "the sentence; the characters after it continue with the next line."))
