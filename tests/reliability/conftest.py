"""The reliability suite's world: small valid files in every user format and a tiny trained
run of every task, built once per session (in-process, a few seconds in all)."""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from reliability_harness import call_main  # noqa: E402

TINY = ["--set", "model.hidden_size=8", "--set", "train.max_steps=2", "--set", "train.epochs=1",
        "--set", "train.device=cpu", "--quiet"]


def write_files(root: Path) -> dict[str, Path]:
    rng = random.Random(0)
    words = {"pos": ["great", "fun", "superb"], "neg": ["bad", "dull", "awful"]}
    rows = []
    for _ in range(60):
        y = rng.choice(["pos", "neg"])
        rows.append((f"the film was {rng.choice(words[y])} and long", y))
    f: dict[str, Path] = {}
    f["cls_csv"] = root / "cls.csv"
    f["cls_csv"].write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows), encoding="utf-8")
    f["cls_tsv"] = root / "cls.tsv"
    f["cls_tsv"].write_text("text\tlabel\n" + "".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")
    f["cls_jsonl"] = root / "cls.jsonl"
    f["cls_jsonl"].write_text("".join(json.dumps({"text": t, "label": y}) + "\n" for t, y in rows), encoding="utf-8")
    f["cls_gz"] = root / "cls.csv.gz"
    f["cls_gz"].write_bytes(gzip.compress(f["cls_csv"].read_bytes()))
    npr = np.random.default_rng(0)
    X = npr.normal(size=(40, 6, 2)).astype(np.float32)
    f["cls_npz"] = root / "cls.npz"
    np.savez(f["cls_npz"], X=X, y=(X[:, -1, 0] > 0).astype(np.int64))
    f["reg_npz"] = root / "reg.npz"
    np.savez(f["reg_npz"], X=X, y=X[:, :, 0].sum(axis=1).astype(np.float32))
    t = np.arange(120)
    f["series_csv"] = root / "series.csv"
    f["series_csv"].write_text("time,hum,temp\n" + "".join(
        f"t{i},{0.5 + 0.1 * np.cos(i / 3):.4f},{20 + 3 * np.sin(i / 4):.4f}\n" for i in t), encoding="utf-8")
    names, other = ["Alice", "Bob", "Carol"], ["the", "went", "to", "saw"]
    lines = ["-DOCSTART- -X- -X- O", ""]
    for _ in range(30):
        for _ in range(rng.randint(3, 6)):
            if rng.random() < 0.3:
                lines += [f"{rng.choice(names)} NNP I-NP B-PER", "Smith NNP I-NP I-PER"]
            else:
                lines.append(f"{rng.choice(other)} VB I-VP O")
        lines.append("")
    f["ner_conll"] = root / "ner.conll"
    f["ner_conll"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    pairs = []
    for _ in range(60):
        w = "".join(rng.choice("abcde") for _ in range(rng.randint(2, 5)))
        pairs.append(f"{w}\t{w[::-1]}\n")
    f["pairs_tsv"] = root / "pairs.tsv"
    f["pairs_tsv"].write_text("".join(pairs), encoding="utf-8")
    f["corpus_txt"] = root / "corpus.txt"
    f["corpus_txt"].write_text("all the world's a stage, and all the men and women merely players.\n" * 30,
                               encoding="utf-8")
    f["gen_csv"] = root / "gen.csv"
    f["gen_csv"].write_text("text,label\n" + "".join(f"{t},{y}\n" for t, y in rows), encoding="utf-8")
    return f


# task, training file, extra settings
RUNS = {
    "cls": ("classify", "cls_csv", ["--set", "model.embedding_dim=4"]),
    "clsnpz": ("classify", "cls_npz", []),
    "reg": ("regress", "reg_npz", []),
    "fc": ("forecast", "series_csv", ["--set", "data.target_columns=[\"temp\"]", "--set", "data.input_len=8", "--set", "data.horizon=2"]),
    "tag": ("tag", "ner_conll", ["--set", "model.embedding_dim=4"]),
    "s2s": ("seq2seq", "pairs_tsv", ["--set", "model.embedding_dim=4", "--set", "data.source_level=char",
                                     "--set", "data.target_level=char"]),
    "lm": ("lm", "corpus_txt", ["--set", "model.embedding_dim=4", "--set", "data.seq_len=8",
                                "--set", "data.batch_size=4", "--set", "generate.length=20"]),
    "gen": ("generate", "gen_csv", ["--set", "model.embedding_dim=4", "--set", "model.condition_dim=4",
                                    "--set", "generate.length=5"]),
}


@pytest.fixture(scope="session")
def world(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("reliability-world")
    files = write_files(root)
    out: dict[str, str] = {k: str(v) for k, v in files.items()}
    for name, (task, data, extra) in RUNS.items():
        run = root / f"run-{name}"
        code, stdout, stderr = call_main(["train", task, "--data", str(files[data]), "--out", str(run), *TINY, *extra],
                                         seconds=300)
        if code != 0:
            raise RuntimeError(f"could not train the {name} run: {code!r} {stderr}")
        out[f"{name}_run"] = str(run)
    out["root"] = str(root)
    out["nonempty"] = out["cls_run"]  # a valid config meets a non-empty --out: refused, nothing trained
    return out


@pytest.fixture
def copy_run(tmp_path):
    def copy(src: str, name: str = "run") -> Path:
        dst = tmp_path / name
        shutil.copytree(src, dst)
        return dst
    return copy
