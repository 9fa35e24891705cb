"""`rnnkit train` under torchrun: 2 gloo processes on CPU train one run directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_train_under_torchrun_two_processes(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be or not to be, that is the question.\n" * 60, encoding="utf-8")
    config = tmp_path / "lm.toml"
    config.write_text('task = "lm"\n[data]\nbatch_size = 4\nseq_len = 16\n[model]\nhidden_size = 16\n'
                      'embedding_dim = 8\n[train]\nepochs = 2\nquiet = true\n', encoding="utf-8")
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           f"--master_port={_free_port()}", "-m", "rnnkit.cli.main", "train", str(config),
           "--data", str(corpus), "--out", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.count("run directory:") == 1  # only rank 0 reports
    assert (run / "model.safetensors").is_file()
    rows = (run / "metrics.csv").read_text().splitlines()
    assert len(rows) == 3  # header + 2 epochs, written once (rank 0)
