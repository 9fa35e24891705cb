"""Helpers for the classify / regress / forecast task tests: tiny configs and data files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rnnkit.tasks import runner

@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models run fastest on one thread (and do not stall when other jobs share the cores).
    Import this fixture into a test module to apply it there."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


FAST_TRAIN = ["train.quiet=true", "train.device=cpu", "train.optim.lr=0.01"]


def write_config(tmp: Path, text: str, name: str = "cfg.toml") -> Path:
    path = tmp / name
    path.write_text(text, encoding="utf-8")
    return path


def train_run(tmp: Path, toml: str, overrides: list[str] = (), **paths: str) -> runner.RunResult:
    """load_run_config → train into tmp/run (as `rnnkit train` does, plots included), quiet, on CPU."""
    from rnnkit import api

    cfg = runner.load_run_config(write_config(tmp, toml), [*FAST_TRAIN, *overrides], **paths)
    return api.train(cfg, tmp / "run", quiet=True)


def assert_run_files(run_dir: Path, *extra: str) -> None:
    for name in ("config.toml", "model.safetensors", "artifacts.json", "metrics.csv", "report.md", *extra):
        assert (run_dir / name).is_file(), f"{name} missing from the run directory"


def artifacts(run_dir: Path) -> dict:
    """What the run fitted on its training split (``artifacts.json``)."""
    return json.loads((run_dir / "artifacts.json").read_text())["artifacts"]


def sentiment_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """Short texts whose label is decided by one keyword: an easy problem a model must learn."""
    rng = np.random.default_rng(seed)
    filler = ["the", "film", "was", "a", "plot", "actor", "scene", "very", "and", "it"]
    rows = []
    for _ in range(n):
        label = "pos" if rng.random() < 0.5 else "neg"
        words = list(rng.choice(filler, size=int(rng.integers(3, 9))))
        words.insert(int(rng.integers(0, len(words) + 1)), "great" if label == "pos" else "awful")
        rows.append((" ".join(words), label))
    return rows


def write_table(path: Path, rows: list[tuple[str, str]], fmt: str, text_col: str = "text",
                label_col: str = "label") -> Path:
    if fmt == "jsonl":
        path.write_text("".join(json.dumps({text_col: t, label_col: y}) + "\n" for t, y in rows), encoding="utf-8")
        return path
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter="," if fmt == "csv" else "\t")
        w.writerow([label_col, text_col])
        w.writerows([(y, t) for t, y in rows])
    return path


def numeric_classes(n: int, t: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """x (n, t, d): class 1 has an upward trend in feature 0, class 0 a downward one."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, size=n)
    trend = np.linspace(-1, 1, t)[None, :] * np.where(y == 1, 1.0, -1.0)[:, None]
    x = rng.normal(0, 0.3, size=(n, t, d))
    x[:, :, 0] += trend
    return x.astype(np.float32), y
