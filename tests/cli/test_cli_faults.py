"""Faults: kill -9 at seeded random moments (a checkpoint write included) then `rnnkit resume`
ends bit-identical to an uninterrupted run; two trainers on one --out; a stale lock;
resume of a finished run changes nothing; a full disk while checkpointing."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from rnnkit.cli.main import main
from rnnkit.train import checkpoint as ckpt

CONFIG = """task = "lm"
[data]
batch_size = 4
seq_len = 8
[model]
hidden_size = 16
embedding_dim = 8
dropout = 0.1
[train]
epochs = 2
checkpoint_every_steps = 3
keep_checkpoints = 2
quiet = true
device = "cpu"
[train.optim]
lr = 0.01
"""


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("faults")
    corpus = tmp / "corpus.txt"
    corpus.write_text("all the world's a stage, and all the men and women merely players.\n" * 60)
    config = tmp / "lm.toml"
    config.write_text(CONFIG)
    straight = tmp / "straight"
    t0 = time.perf_counter()
    assert main(["train", str(config), "--data", str(corpus), "--out", str(straight)]) == 0
    return tmp, config, corpus, straight, time.perf_counter() - t0


def _spawn(config, corpus, out) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "rnnkit.cli.main", "train", str(config), "--data", str(corpus), "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})


def _wait_for(pred, proc, seconds=120.0, poll=0.002) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if pred():
            return True
        time.sleep(poll)
    return False


def _same_model(a: Path, b: Path) -> None:
    assert (a / "model.safetensors").read_bytes() == (b / "model.safetensors").read_bytes()


@pytest.mark.slow
def test_kill_9_at_random_moments_then_resume_is_bit_identical(setup, capsys):
    tmp, config, corpus, straight, seconds = setup
    rng = random.Random(20261201)
    moments = [rng.uniform(0.0, max(seconds, 0.5)) for _ in range(9)]  # and one during a checkpoint write: 10 kills
    outcomes = []
    for i, delay in enumerate(["checkpoint-write", *moments]):
        out = tmp / f"killed-{i}"
        proc = _spawn(config, corpus, out)
        if delay == "checkpoint-write":  # the moment a checkpoint folder is being written
            hit = _wait_for(lambda: any((out / "checkpoints").glob(".tmp-*")) if (out / "checkpoints").is_dir()
                            else False, proc, poll=0.0005)
        else:  # training has begun (the config is saved), then a seeded random moment
            hit = _wait_for(lambda: (out / "config.toml").is_file(), proc)
            time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        steps = sorted(p.name for p in (out / "checkpoints").glob("step-*")) if (out / "checkpoints").is_dir() else []
        outcomes.append((delay if isinstance(delay, str) else round(delay, 2), hit, finished, steps[-1:] or "none"))
        capsys.readouterr()
        assert main(["resume", str(out)]) == 0, capsys.readouterr().err
        assert not list((out / "checkpoints").glob(".tmp-*"))
        _same_model(straight, out)
    print("kill moments (moment, reached, finished before the kill, last checkpoint):", outcomes)


def test_resume_of_a_finished_run_changes_nothing(setup, capsys):
    tmp, config, corpus, straight, _ = setup
    before = _hashes(straight)
    capsys.readouterr()
    assert main(["resume", str(straight)]) == 0
    assert "already finished" in capsys.readouterr().out
    assert _hashes(straight) == before


def test_resume_extends_a_capped_run_and_refuses_other_settings(tmp_path, setup, capsys):
    _, config, corpus, _, _ = setup
    out = tmp_path / "capped"
    assert main(["train", str(config), "--data", str(corpus), "--out", str(out), "--set", "train.max_steps=4"]) == 0
    before = _hashes(out)
    assert main(["resume", str(out), "--set", "train.optim.lr=0.1"]) == 2
    assert "train.optim.lr" in capsys.readouterr().err
    assert _hashes(out) == before
    assert main(["resume", str(out), "--set", "train.max_steps=7"]) == 0
    assert "after 7 steps" in capsys.readouterr().out
    assert "max_steps = 7" in (out / "config.toml").read_text()
    assert main(["resume", str(out)]) == 0  # finished again: a no-op
    assert "already finished" in capsys.readouterr().out


def test_two_trainers_on_one_out(setup, capsys):
    tmp, config, corpus, _, _ = setup
    out = tmp / "contended"
    proc = _spawn(config, corpus, out)
    assert _wait_for(lambda: (out / ".lock").is_file(), proc)
    capsys.readouterr()
    code = main(["train", str(config), "--data", str(corpus), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and "in use by another rnnkit process" in err and "Traceback" not in err
    code = main(["resume", str(out)])
    assert code == 1 and "in use" in capsys.readouterr().err
    assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()
    assert not (out / ".lock").exists()


def test_a_stale_lock_is_taken_over(tmp_path, setup):
    _, config, corpus, _, _ = setup
    out = tmp_path / "stale"
    out.mkdir()
    (out / ".lock").write_text("999999\n")  # left by a process killed with -9: nobody holds the flock
    assert main(["train", str(config), "--data", str(corpus), "--out", str(out), "--set", "train.max_steps=2"]) == 0
    assert (out / "model.safetensors").is_file() and not (out / ".lock").exists()


def test_killed_before_the_first_checkpoint_restarts_from_step_0(tmp_path, setup):
    _, config, corpus, straight, _ = setup
    out = tmp_path / "early"
    assert main(["train", str(config), "--data", str(corpus), "--out", str(out)]) == 0
    for p in [out / "checkpoints", out / "model.safetensors", out / "metrics.csv", out / "report.md"]:
        if p.is_dir():
            import shutil
            shutil.rmtree(p)
        else:
            p.unlink()
    (out / "checkpoints").mkdir()
    (out / "checkpoints" / ".tmp-step-00000003-4242").mkdir()  # a write the kill cut short
    (out / "checkpoints" / ".tmp-step-00000003-4242" / "model.safetensors").write_bytes(b"\x00" * 10)
    assert main(["resume", str(out)]) == 0
    _same_model(straight, out)
    assert not list((out / "checkpoints").glob(".tmp-*"))


def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    model = {"w": torch.ones(3)}
    first = ckpt.save_checkpoint(tmp_path, 1, model, {"x": 1})
    real_open = open
    calls = {"n": 0}

    def full_disk(path, mode="r", *a, **k):
        if "w" in mode and ".tmp-step" in str(path):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real_open(path, mode, *a, **k)

    monkeypatch.setattr("builtins.open", full_disk)
    with pytest.raises(OSError):
        ckpt.save_checkpoint(tmp_path, 2, model, {"x": 2})
    monkeypatch.undo()
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == [first.name]
    assert not list(tmp_path.glob(".tmp-*"))
    assert ckpt.load_latest(tmp_path).trainer_state == {"x": 1}
