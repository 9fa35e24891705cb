"""DDP on CPU (gloo): 2 processes with half the global batch each track 1 process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from rnnkit.train.distributed import shard_slice

WORKER = Path(__file__).with_name("ddp_worker.py")
SRC = Path(__file__).resolve().parents[2] / "src"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")}
    env["PYTHONPATH"] = os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")])
    env["OMP_NUM_THREADS"] = "1"
    env["CUDA_VISIBLE_DEVICES"] = ""
    return env


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without torch.distributed")
def test_two_gloo_processes_match_one_process(tmp_path):
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    # the single process runs beside torchrun's two: most of the time is importing torch
    single = subprocess.Popen([sys.executable, str(WORKER), str(one), str(tmp_path / "run1")],
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
           "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(WORKER), str(two), str(tmp_path / "run2")]
    try:
        proc = subprocess.run(cmd, env=_env(), timeout=180, capture_output=True, text=True)
        _, err = single.communicate(timeout=120)
    finally:
        single.kill()
    assert single.returncode == 0, err[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    a, b = json.loads(one.read_text()), json.loads(two.read_text())
    assert a["world"] == 1 and b["world"] == 2
    assert len(a["losses"]) == len(b["losses"]) == 12  # 3 epochs × 4 global batches
    torch.testing.assert_close(torch.tensor(b["losses"]), torch.tensor(a["losses"]), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.tensor(b["params"]), torch.tensor(a["params"]), rtol=1e-4, atol=1e-5)
    assert b["val_accuracy"] == pytest.approx(a["val_accuracy"]) and b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)
    assert a["losses"][-1] < a["losses"][0]
    # rank 0 alone wrote the run directory
    assert (tmp_path / "run2" / "model.safetensors").exists() and len((tmp_path / "run2" / "metrics.csv").read_text().splitlines()) == 4


def test_shard_slice():
    assert [shard_slice(10, r, 3) for r in range(3)] == [slice(0, 3), slice(3, 6), slice(6, 9)]
