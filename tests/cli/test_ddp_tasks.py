"""`rnnkit train` and `rnnkit resume` under torchrun (2 gloo processes) for classify, tag and
lm: a DDP run cut back to a mid-run checkpoint (as a kill leaves it) and resumed under
torchrun ends with exactly the weights of the uninterrupted DDP run.

That each example is seen exactly once per epoch across ranks is the Trainer's sharding
contract, tested on the same batch sources (bucketed DataLoader, LM streams) in
tests/train/test_distributed.py; here the whole CLI path runs on real task data."""

from __future__ import annotations

import csv
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str, out: Path) -> subprocess.CompletedProcess:
    """One launch; on a busy 2-core machine a gloo rank has (rarely) aborted while joining the
    group ("terminate called without an active exception"), so a launch that fails before
    anything was written is retried once, and the first failure is printed."""
    for attempt in range(2):
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
               f"--master_port={_free_port()}", "-m", "rnnkit.cli.main", *args]
        before = sorted((out / "checkpoints").glob("step-*")) if (out / "checkpoints").is_dir() else None
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "OMP_NUM_THREADS": "1"})
        if done.returncode == 0:
            return done
        after = sorted((out / "checkpoints").glob("step-*")) if (out / "checkpoints").is_dir() else None
        if attempt == 1 or after != before or "terminate called" not in done.stderr:
            break
        print(f"torchrun launch failed at start-up, retrying:\n{done.stderr[-2000:]}", file=sys.stderr)
        if before is None:
            shutil.rmtree(out, ignore_errors=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _classify_data(tmp):
    rng = np.random.default_rng(0)
    words = {"pos": ["great", "fine", "superb"], "neg": ["awful", "dull", "poor"]}
    rows = []
    for i in range(90):  # 90 rows: the batch count does not divide by the 2 ranks
        y = "pos" if i % 2 else "neg"
        rows.append(f"the film was {rng.choice(words[y])} {'and long ' * int(rng.integers(0, 4))},{y}")
    path = tmp / "reviews.csv"
    path.write_text("text,label\n" + "\n".join(rows) + "\n")
    return path, ["--set", "data.batch_size=8"]


def _tag_data(tmp):
    rng = np.random.default_rng(1)
    lines = []
    for _ in range(70):
        for _ in range(int(rng.integers(2, 7))):
            w = str(rng.choice(["paris", "london", "the", "a", "went", "to", "anna", "bob"]))
            tag = {"paris": "B-LOC", "london": "B-LOC", "anna": "B-PER", "bob": "B-PER"}.get(w, "O")
            lines.append(f"{w} {tag}")
        lines.append("")
    path = tmp / "train.conll"
    path.write_text("\n".join(lines) + "\n")
    return path, ["--set", "data.batch_size=6"]


def _lm_data(tmp):
    path = tmp / "corpus.txt"
    path.write_text("to be or not to be, that is the question.\n" * 50)
    return path, ["--set", "data.batch_size=4", "--set", "data.seq_len=12"]


@pytest.mark.parametrize("task,make", [("classify", _classify_data), ("tag", _tag_data), ("lm", _lm_data)])
def test_ddp_resume_from_a_mid_run_checkpoint_equals_the_uninterrupted_ddp_run(tmp_path, task, make):
    data, extra = make(tmp_path)
    common = ["--data", str(data), "--quiet", "--set", "train.epochs=2", "--set", "train.checkpoint_every_steps=2",
              "--set", "train.keep_checkpoints=1000", "--set", "model.hidden_size=12", "--set", "train.device=cpu",
              *extra]
    straight = tmp_path / "straight"
    done = _torchrun("train", task, "--out", str(straight), *common, out=straight)
    assert done.stdout.count("run directory:") == 1  # only rank 0 reports

    steps = sorted((straight / "checkpoints").glob("step-*"))
    assert len(steps) >= 3
    cut = tmp_path / "cut"
    shutil.copytree(straight, cut)
    middle = steps[len(steps) // 2 - 1].name
    for later in sorted((cut / "checkpoints").glob("step-*")):
        if later.name > middle:
            shutil.rmtree(later)  # what a kill at that moment leaves
    _torchrun("resume", str(cut), out=cut)
    assert (cut / "model.safetensors").read_bytes() == (straight / "model.safetensors").read_bytes()
    rows = list(csv.DictReader((cut / "metrics.csv").read_text().splitlines()))
    epochs = [r for r in rows if r["partial"] == "0"]  # partial = 1: a row every 30 s of training (not --quiet)
    assert [r["epoch"] for r in epochs] == ["1", "2"]  # the resumed run rewrote its history, no duplicate rows
