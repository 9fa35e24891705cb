"""The text recipes of issue 6 (imdb-int, imdb-embed, imdb-bilstm, conll-ner, shakespeare-char,
fra-eng) each train a couple of steps on a tiny slice of the real dataset through the CLI, so
a recipe cannot rot: its keys must still parse, its data must still load, its model must build."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import pytest

from rnnkit.cli.main import main

pytestmark = pytest.mark.integration

FAST = ["train.max_steps=2", "train.epochs=1"]


def _train(recipe: str, data: Path, out: Path, *sets: str) -> None:
    """``rnnkit train RECIPE --data DATA --out OUT --set ...`` for two steps."""
    args = ["train", recipe, "--data", str(data), "--out", str(out)]
    for s in (*FAST, *sets):
        args += ["--set", s]
    assert main(args) == 0
    assert (out / "model.safetensors").is_file() and (out / "config.toml").is_file()


@pytest.fixture(scope="module")
def imdb_slice(datasets_dir: Path, tmp_path_factory) -> Path:
    """24 reviews of each (split, sentiment) group of the real IMDB CSV, same columns."""
    src = datasets_dir / "imdb" / "IMDB_Dataset.csv.gz"
    if not src.is_file():
        pytest.skip(f"{src} is absent")
    rows, counts = [], {}
    with gzip.open(src, "rt", encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        split, sentiment = header.index("split"), header.index("sentiment")
        for row in reader:  # the file is grouped by split and sentiment: read through to the test rows
            key = (row[split], row[sentiment])
            if counts.get(key, 0) < 24:
                counts[key] = counts.get(key, 0) + 1
                row[header.index("review")] = row[header.index("review")][:400]  # short reviews: cheap steps
                rows.append(row)
                if len(rows) == 96:
                    break
    assert len(counts) == 4, counts
    out = tmp_path_factory.mktemp("imdb") / "IMDB_Dataset.csv"
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return out


def _metrics(out: Path) -> list[str]:
    return (out / "metrics.csv").read_text().splitlines()


@pytest.mark.parametrize("recipe", ["imdb-int", "imdb-embed", "imdb-bilstm"])
def test_imdb_recipes(recipe, imdb_slice, tmp_path):
    out = tmp_path / recipe
    _train(recipe, imdb_slice, out, "data.batch_size=8")
    header, first = _metrics(out)[:2]
    assert "val_accuracy" in header and first.startswith("1,2,")
    inputs = json.loads((out / "artifacts.json").read_text())["artifacts"]
    assert inputs["kind"] == "text"


def test_imdb_int_feeds_ids_as_one_feature(imdb_slice, tmp_path):
    from rnnkit.tasks import runner

    task, model = runner.load_run(_run(imdb_slice, tmp_path))
    assert model.encoder.embedding is None and model.encoder.input_size == 1
    assert task.config.data.ids_as_features and task.config.data.max_len == 100


def _run(imdb_slice: Path, tmp_path: Path) -> Path:
    out = tmp_path / "imdb-int"
    _train("imdb-int", imdb_slice, out, "data.batch_size=8")
    return out


def _head_lines(src: Path, dst: Path, n: int) -> Path:
    opener = gzip.open if src.name.endswith(".gz") else open
    with opener(src, "rt", encoding="utf-8") as f:
        lines = [next(f) for _ in range(n)]
    dst.parent.mkdir(parents=True, exist_ok=True)
    with (gzip.open(dst, "wt", encoding="utf-8") if dst.name.endswith(".gz") else open(dst, "w", encoding="utf-8")) as f:
        f.writelines(lines)
    return dst


def test_conll_ner(datasets_dir, tmp_path):
    src = datasets_dir / "conll2003"
    folder = tmp_path / "conll2003"
    _head_lines(src / "train.txt.gz", folder / "train.txt.gz", 300)
    # valid/test: the same slice, so every tag they hold is one the tiny training part knows
    _head_lines(src / "train.txt.gz", folder / "valid.txt", 300)
    _head_lines(src / "train.txt.gz", folder / "test.txt", 300)
    out = tmp_path / "run"
    _train("conll-ner", folder, out)
    header = _metrics(out)[0]
    assert "val_f1" in header
    assert json.loads((out / "artifacts.json").read_text())["artifacts"]["chars"]  # character features are on


def test_shakespeare_char(datasets_dir, tmp_path):
    text = (datasets_dir / "tinyshakespeare" / "input.txt").read_text(encoding="utf-8")[:20000]
    data = tmp_path / "input.txt"
    data.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    _train("shakespeare-char", data, out, "data.batch_size=4", "data.seq_len=16")
    assert "val_nll" in _metrics(out)[0]
    code = main(["generate", str(out), "--length", "20"])
    assert code == 0


def test_fra_eng(datasets_dir, tmp_path):
    data = _head_lines(datasets_dir / "fra-eng" / "fra.txt.gz", tmp_path / "fra.txt.gz", 400)
    out = tmp_path / "run"
    _train("fra-eng", data, out, "decode.eval_sample=16", "data.batch_size=16")
    assert "val_bleu_sample" in _metrics(out)[0]
    saved = json.loads((out / "artifacts.json").read_text())["artifacts"]
    assert {"source", "target", "tokenizers"} <= set(saved)
