"""kill -9 in the middle of `rnnkit train`, then `rnnkit resume`: the run ends with exactly the
weights of an uninterrupted run (CPU), because resume restores the last checkpoint whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from rnnkit.cli.main import main

CONFIG = """task = "lm"
[data]
batch_size = 4
seq_len = 8
[model]
hidden_size = 24
embedding_dim = 8
dropout = 0.1
[train]
epochs = 3
checkpoint_every_steps = 7
quiet = true
[train.optim]
lr = 0.01
"""


@pytest.mark.slow
def test_kill_9_then_resume_equals_uninterrupted(tmp_path, capsys):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("all the world's a stage, and all the men and women merely players.\n" * 80)
    config = tmp_path / "lm.toml"
    config.write_text(CONFIG)

    straight = tmp_path / "straight"
    assert main(["train", str(config), "--data", str(corpus), "--out", str(straight)]) == 0

    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "rnnkit.cli.main", "train", str(config), "--data", str(corpus), "--out", str(killed)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        done = sorted((killed / "checkpoints").glob("step-*")) if (killed / "checkpoints").is_dir() else []
        if len(done) >= 2:  # at least two checkpoints: we are mid-run
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    last_step = int(sorted((killed / "checkpoints").glob("step-*"))[-1].name.split("-")[1])
    total_steps = _final_step(straight)
    assert last_step < total_steps  # really killed before the end

    capsys.readouterr()
    assert main(["resume", str(killed)]) == 0
    a, b = load_file(straight / "model.safetensors"), load_file(killed / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert (a[name] == b[name]).all(), name


def _final_step(run) -> int:
    return max(int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("step-*"))
