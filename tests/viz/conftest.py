"""A small finished classify run shared by the report tests (trained once per session)."""

from __future__ import annotations

import pytest
import torch

import rnnkit


@pytest.fixture(scope="session")
def report_run(tmp_path_factory):
    pytest.importorskip("matplotlib", reason="plots need the optional viz extra (matplotlib)")
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("report")
    lines = ["text,label"] + [f"{t},{y}" for t, y in [("a great film", "pos"), ("a fine film", "pos"),
                                                     ("an awful film", "neg"), ("a dull film", "neg")] * 10]
    (folder / "train.csv").write_text("\n".join(lines) + "\n")
    (folder / "test.csv").write_text("\n".join(lines[:9]) + "\n")
    return rnnkit.fit("classify", folder / "train.csv", test=folder / "test.csv", out=folder / "run",
                      settings={"train.epochs": 2, "model.hidden_size": 8, "model.embedding_dim": 4,
                                "data.val_fraction": 0.2})
