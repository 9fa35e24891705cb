"""Checkpoints: round trip, keep-last-K, corrupt/truncated detection and fallback; run dir."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest
import torch

from rnnkit.errors import CheckpointError
from rnnkit.train.checkpoint import (
    flatten_state,
    list_checkpoints,
    load_checkpoint,
    load_latest,
    save_checkpoint,
    unflatten_state,
)
from rnnkit.train.rundir import RunDir
from rnnkit.train.seed import rng_state, set_rng_state


def _state(toys):
    model = toys.Classifier()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    model(torch.randn(toys.B, toys.T, toys.D)).sum().backward()
    opt.step()
    return model, opt


def test_round_trip_restores_everything(tmp_path, toys):
    model, opt = _state(toys)
    trainer_state = {"optimizer": opt.state_dict(), "rng": rng_state(), "step": 7, "best": float("inf"),
                     "pair": (1, "a"), "nested": {"h": (torch.ones(2, 3), torch.zeros(1))}, "none": None}
    expected = (random.random(), np.random.rand(), torch.rand(3))  # what the saved streams give next
    path = save_checkpoint(tmp_path, 7, model.state_dict(), trainer_state)
    assert path.name == "step-00000007"
    assert sorted(p.name for p in path.iterdir()) == ["model.safetensors", "trainer_state.json",
                                                      "trainer_state.safetensors"]
    c = load_checkpoint(path)
    assert c.step == 7
    for k, v in model.state_dict().items():
        assert torch.equal(c.model_state[k], v)
    s = c.trainer_state
    assert s["pair"] == (1, "a") and s["best"] == float("inf") and s["none"] is None
    assert isinstance(s["nested"]["h"], tuple) and torch.equal(s["nested"]["h"][0], torch.ones(2, 3))
    opt2 = torch.optim.Adam(toys.Classifier().parameters(), lr=0.5)
    opt2.load_state_dict(s["optimizer"])
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.param_groups[0]["betas"] == (0.9, 0.999)
    for a, b in zip(opt.state.values(), opt2.state.values()):
        assert all(torch.equal(a[k], b[k]) for k in a)
    # RNG streams continue exactly where they were saved
    set_rng_state(s["rng"])
    assert (random.random(), np.random.rand()) == expected[:2] and torch.equal(torch.rand(3), expected[2])


def test_flatten_is_json_and_rejects_unknown_types():
    tree, tensors = flatten_state({"a": {1: torch.arange(3)}, "b": np.arange(2)})
    json.dumps(tree)
    back = unflatten_state(json.loads(json.dumps(tree)), tensors)
    assert torch.equal(back["a"][1], torch.arange(3)) and back["b"].tolist() == [0, 1]
    with pytest.raises(TypeError, match=r"cannot store a set at /x"):
        flatten_state({"x": {1, 2}})


def test_keeps_last_k(tmp_path, toys):
    model = toys.Classifier()
    for step in (1, 2, 3, 4, 5):
        save_checkpoint(tmp_path, step, model.state_dict(), {"s": step}, keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step-00000004", "step-00000005"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left


@pytest.mark.parametrize(
    "damage, message",
    [
        ("truncate_model", r"model\.safetensors is truncated or overwritten: expected \d+ bytes, found \d+"),
        ("flip_model", r"model\.safetensors is corrupt: its SHA-256 does not match"),
        ("truncate_json", r"trainer_state\.json is not valid JSON .*truncated or corrupt"),
        ("delete_json", r"trainer_state\.json is missing; .* is not a complete checkpoint"),
        ("truncate_tensors", r"trainer_state\.safetensors is truncated or overwritten"),
    ],
)
def test_damaged_checkpoint_is_named_and_previous_is_used(tmp_path, toys, damage, message):
    model = toys.Classifier()
    save_checkpoint(tmp_path, 1, model.state_dict(), {"s": 1, "t": torch.ones(4)})
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    newest = save_checkpoint(tmp_path, 2, model.state_dict(), {"s": 2, "t": torch.ones(4)})
    target = {"truncate_model": "model.safetensors", "flip_model": "model.safetensors",
              "truncate_json": "trainer_state.json", "delete_json": "trainer_state.json",
              "truncate_tensors": "trainer_state.safetensors"}[damage]
    f = newest / target
    data = f.read_bytes()
    if damage.startswith("truncate"):
        f.write_bytes(data[: len(data) // 2])
    elif damage == "flip_model":
        f.write_bytes(data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:])
    else:
        f.unlink()
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(newest)
    with pytest.warns(RuntimeWarning, match="skipping damaged checkpoint: .*step-00000002"):
        c = load_latest(tmp_path)
    assert c.step == 1 and c.trainer_state["s"] == 1


def test_no_usable_checkpoint_lists_problems(tmp_path, toys):
    with pytest.raises(CheckpointError, match=r"no checkpoint found in .*step-NNNNNNNN"):
        load_latest(tmp_path)
    p = save_checkpoint(tmp_path, 3, toys.Classifier().state_dict(), {})
    (p / "model.safetensors").write_bytes(b"\x00" * 3)
    with pytest.warns(RuntimeWarning), pytest.raises(CheckpointError, match=r"no usable checkpoint in .*truncated"):
        load_latest(tmp_path)


def test_unreadable_safetensors_without_manifest(tmp_path):
    run = RunDir(tmp_path)
    run.save_weights({"w": torch.ones(2, 3)})
    assert torch.equal(run.load_weights()["w"], torch.ones(2, 3))
    run.model_path.write_bytes(run.model_path.read_bytes()[:20])
    with pytest.raises(CheckpointError, match=r"model\.safetensors is not a readable safetensors file"):
        run.load_weights()


def test_metrics_csv_appends_and_widens(tmp_path):
    run = RunDir(tmp_path / "run")
    run.append_metrics({"epoch": 1, "train_loss": 0.5})
    run.append_metrics({"epoch": 2, "train_loss": 0.25})
    run.append_metrics({"epoch": 3, "train_loss": 0.125, "val_loss": 0.3})
    rows = run.read_metrics()
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    assert rows[0]["val_loss"] == "" and float(rows[2]["val_loss"]) == 0.3
    run.save_json("vocab.json", {"a": 1})
    assert run.load_json("vocab.json") == {"a": 1}
    (run.path / "vocab.json").write_text('{"a": ')
    with pytest.raises(CheckpointError, match=r"vocab\.json is not valid JSON"):
        run.load_json("vocab.json")
