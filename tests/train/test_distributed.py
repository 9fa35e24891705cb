"""DDP on CPU (gloo), the Trainer sharding unsharded sources: 2 processes track 1 process, every
example counts exactly once per epoch (with padding steps), and DDP resume is bit-exact.

One torchrun launch (2 processes) runs every scenario of ddp_worker.py; a plain process runs
the 1-process reference beside it. Most of the few seconds is importing torch.
"""

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

pytestmark = pytest.mark.skipif(not torch.distributed.is_available(), reason="torch built without torch.distributed")


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


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    one = tmp / "one"
    single = subprocess.Popen([sys.executable, str(WORKER), "match", str(one), str(tmp / "run1")],
                              env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # a launch on a busy shared machine has (rarely) died at start-up (a port taken between
        # _free_port() and torchrun's bind, a rank aborted while joining): one retry, in a fresh folder
        for attempt in range(2):
            two = tmp / f"attempt{attempt}" / "two"
            two.parent.mkdir()
            cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--nnodes=1",
                   "--master_addr=127.0.0.1", f"--master_port={_free_port()}", str(WORKER), "all", str(two),
                   str(two.parent / "run2")]
            proc = subprocess.run(cmd, env=_env(), timeout=240, capture_output=True, text=True)
            if proc.returncode == 0:
                break
            print(f"torchrun attempt {attempt + 1} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        _, err = single.communicate(timeout=120)
    finally:
        single.kill()
    assert single.returncode == 0, err[-3000:]
    assert proc.returncode == 0, proc.stderr[-3000:]
    return {"one": json.loads(Path(f"{one}.rank0.json").read_text()),
            "ranks": [json.loads(Path(f"{two}.rank{r}.json").read_text()) for r in (0, 1)], "tmp": two.parent}


def test_two_gloo_processes_match_one_process(runs):
    a, b = runs["one"]["match"], runs["ranks"][0]["match"]
    assert a["world"] == 1 and b["world"] == 2
    assert len(a["losses"]) == len(b["losses"]) == 12  # 3 epochs × 4 global batches
    torch.testing.assert_close(torch.tensor(b["losses"]), torch.tensor(a["losses"]), rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(torch.tensor(b["params"]), torch.tensor(a["params"]), rtol=1e-4, atol=1e-5)
    assert b["val_accuracy"] == pytest.approx(a["val_accuracy"]) and b["val_loss"] == pytest.approx(a["val_loss"], rel=1e-4)
    assert a["losses"][-1] < a["losses"][0]
    # rank 0 alone wrote the run directory
    run2 = runs["tmp"] / "run2"
    assert (run2 / "model.safetensors").exists() and len((run2 / "metrics.csv").read_text().splitlines()) == 4


def test_each_example_is_seen_exactly_once_per_epoch_across_ranks(runs):
    for r in runs["ranks"]:
        once = r["once"]
        assert once["steps"] == 8  # 7 batches over 2 ranks: 4 steps per epoch on BOTH ranks (one padding step)
        for row in once["rows"]:  # training and validation: every example counted once, padding not at all
            assert (row["train_seen_min"], row["train_seen_max"]) == (1.0, 1.0)
            assert (row["val_seen_min"], row["val_seen_max"]) == (1.0, 1.0)
        assert (once["eval"]["seen_min"], once["eval"]["seen_max"]) == (1.0, 1.0)
    assert runs["ranks"][0]["once"]["rows"] == [
        {**row, "seconds": r0["seconds"]} for row, r0 in zip(runs["ranks"][1]["once"]["rows"],
                                                             runs["ranks"][0]["once"]["rows"])]


def test_ddp_resume_after_interruption_equals_the_uninterrupted_run(runs):
    for r in runs["ranks"]:
        cls, lm = r["resume"]["classify"], r["resume"]["lm"]
        # rank 0 alone asked to stop: both ranks stopped at the same step
        assert cls["stopped"] == ["interrupted", 5] and lm["stopped"] == ["interrupted", 4]
        assert cls["steps"] == cls["resumed_steps"] == 12 and lm["steps"] == lm["resumed_steps"] == 14
        assert cls["equal"] and lm["equal"]  # bit-identical weights (each rank's RNG and TBPTT state restored)
        assert cls["loss_rows"][0] == cls["loss_rows"][1] and lm["nll"][0] == lm["nll"][1]


def test_shard_slice():
    assert [shard_slice(10, r, 3) for r in range(3)] == [slice(0, 3), slice(3, 6), slice(6, 9)]
