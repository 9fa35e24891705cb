"""data.train_with_val: the validation examples join the training examples (fitted artifacts
included), nothing picks an epoch by them, and the settings that would are refused by name."""

from __future__ import annotations

import pytest

import rnnkit
from rnnkit.errors import ConfigError
from rnnkit.tasks.base import Examples
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)
from seqtask_helpers import artifacts, numeric_classes, train_run
from .test_tag import sentences, write_conll

TAG_TOML = """
task = "tag"
[model]
embedding_dim = 8
hidden_size = 12
[train]
epochs = 2
"""


def test_tag_trains_on_the_validation_file_too(tmp_path):
    train = write_conll(tmp_path / "train.txt", sentences(40, 0))
    val_sents = sentences(10, 1) + [[("Zoe", "B-PER"), ("visited", "O"), ("Lima", "B-LOC")]]
    val = write_conll(tmp_path / "val.txt", val_sents)
    res = train_run(tmp_path, TAG_TOML, ["data.train_with_val=true"], data=train, val=val)
    words = artifacts(res.run_dir)["words"]["tokens"]
    assert {"Zoe", "visited", "Lima"} <= set(words)  # fitted on train + validation
    assert len(res.data.examples["train"]) == 40 + 11 and len(res.data.examples["val"]) == 11
    assert res.data.info["train_with_val"] == ("on: the 51 training examples include the 11 validation "
                                               "examples, so the validation figures are not held out")
    assert res.task.config.train.restore_best is False
    report = (res.run_dir / "report.md").read_text()
    assert "validation: trained on" not in report and "the validation figures are not held out" in report
    assert "restore_best = false" in (res.run_dir / "config.toml").read_text()

    (tmp_path / "alone").mkdir()
    alone = train_run(tmp_path / "alone", TAG_TOML, data=train, val=val)
    assert "Zoe" not in artifacts(alone.run_dir)["words"]["tokens"]


def test_classify_and_regress_join_a_held_out_fraction_back(tmp_path):
    x, y = numeric_classes(50, 6, 2, 0)
    run = rnnkit.fit("classify", x, list(y), out=tmp_path / "run",
                     settings={"data.train_with_val": True, "train.epochs": 1})
    assert len(run.result.data.examples["train"]) == 50 and len(run.result.data.examples["val"]) == 5
    reg = rnnkit.fit("regress", x, x[:, :, 0].sum(1), out=tmp_path / "reg",
                     settings={"data.train_with_val": True, "train.epochs": 1})
    train = reg.result.data.examples["train"]
    assert len(train.inputs) == 50 and train.targets.shape == (50, 1)  # a list of (T, D) arrays, one target row each
    texts = [f"a {w} day" for w in ("good", "bad", "fine", "grim")] * 10
    gen = rnnkit.fit("generate", texts, ["pos", "neg", "pos", "neg"] * 10, out=tmp_path / "gen",
                     settings={"data.train_with_val": True, "train.epochs": 1})
    assert len(gen.result.data.examples["train"]) == 40 and len(gen.result.data.examples["val"]) == 4


def test_joined_examples_keep_arrays_and_lists():
    import numpy as np

    a = Examples(np.zeros((2, 3, 1)), ["a", "b"], "x.npz", None)
    b = Examples(np.ones((1, 3, 1)), ["c"], "y.npz", None)
    j = a.joined(b)
    assert j.inputs.shape == (3, 3, 1) and j.targets == ["a", "b", "c"] and j.where == "x.npz + y.npz"
    ragged = a.joined(Examples([np.ones((5, 1))], ["c"], "z.npz", [4]))
    assert len(ragged.inputs) == 3 and ragged.inputs[2].shape == (5, 1) and ragged.lines is None


@pytest.mark.parametrize("settings, message", [
    (["train.restore_best=true"],
     r"data\.train_with_val = true trains on the validation split, so its figures cannot pick an epoch: "
     r"set train\.restore_best = false \(it is true\)"),
    (["train.early_stopping_patience=3"],
     r"cannot pick an epoch: set train\.early_stopping_patience = none \(it is 3\); give train\.epochs instead"),
])
def test_settings_that_pick_an_epoch_are_refused(tmp_path, settings, message):
    train = write_conll(tmp_path / "train.txt", sentences(10, 0))
    with pytest.raises(ConfigError, match=message):
        train_run(tmp_path, TAG_TOML, ["data.train_with_val=true", *settings], data=train)
    assert not (tmp_path / "run").exists()


def test_a_task_without_it_and_a_run_without_validation_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"data\.train_with_val is not available for the forecast task: its "
                                          r"validation split is the end of a series or of a corpus, not examples of "
                                          r"their own \(tasks that have it: classify, generate, regress, seq2seq, tag\)"):
        rnnkit.fit("forecast", tmp_path / "none.csv", out=tmp_path / "f", settings={"data.train_with_val": True})
    train = write_conll(tmp_path / "train.txt", sentences(10, 0))
    with pytest.raises(ConfigError, match=r"data\.train_with_val = true trains on the validation split, and this "
                                          r"run has none: give one \(--val FILE, or data\.val_fraction > 0\)"):
        train_run(tmp_path, TAG_TOML, ["data.train_with_val=true", "data.val_fraction=0"], data=train)
    assert not (tmp_path / "run").exists()
