"""rnnkit.config: TOML → dataclasses, typed overrides, errors, dump round trip."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Optional

import pytest

from rnnkit.config import apply_overrides, dump_config, dumps_config, from_dict, load_config
from rnnkit.errors import ConfigError


@dataclass
class Optim:
    name: Literal["adam", "sgd"] = "adam"
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class Train:
    epochs: int = 3
    clip_norm: Optional[float] = None
    quiet: bool = False
    optim: Optim = field(default_factory=Optim)


@dataclass
class Recipe:
    name: str = "demo"
    layers: list[int] = field(default_factory=lambda: [11])
    data: Optional[Path] = None
    train: Train = field(default_factory=Train)
    extra: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.train.epochs < 1:
            raise ConfigError(f"train.epochs must be >= 1; got {self.train.epochs}")


def test_toml_load_nested_and_defaults(tmp_path):
    p = tmp_path / "r.toml"
    p.write_text('name = "x"\n[train]\nepochs = 7\n[train.optim]\nlr = 1\n')
    cfg = load_config(p, Recipe)
    assert cfg.name == "x" and cfg.train.epochs == 7
    assert cfg.train.optim.lr == 1.0 and isinstance(cfg.train.optim.lr, float)
    assert cfg.train.optim.name == "adam" and cfg.layers == [11]


def test_overrides_are_typed():
    cfg = apply_overrides(
        Recipe(),
        [
            "train.epochs=5",
            "train.optim.lr=3e-4",
            "train.quiet=yes",
            "train.clip_norm=0.5",
            "name=007",
            "layers=3,5,7",
            "train.optim.betas=[0.8, 0.99]",
            "train.optim.name=sgd",
            "data=/tmp/x.csv",
            "extra.k=4",
        ],
    )
    assert cfg.train.epochs == 5 and cfg.train.optim.lr == 3e-4 and cfg.train.quiet is True
    assert cfg.train.clip_norm == 0.5 and cfg.name == "007" and cfg.layers == [3, 5, 7]
    assert cfg.train.optim.betas == [0.8, 0.99] and cfg.train.optim.name == "sgd"
    assert cfg.data == Path("/tmp/x.csv") and cfg.extra == {"k": 4}
    assert apply_overrides(cfg, ["train.clip_norm=none"]).train.clip_norm is None
    assert apply_overrides(cfg, ["layers="]).layers == []


@pytest.mark.parametrize(
    "override, message",
    [
        ("train.epoch=5", r"unknown config key train\.epoch; known keys in train: clip_norm, epochs, optim, quiet"),
        ("trian.epochs=5", r"unknown config key trian\.epochs; known keys: data, extra, layers, name, train"),
        ("train.epochs=five", r"train\.epochs must be int; got 'five'"),
        ("train.epochs=2.5", r"train\.epochs must be int; got '2\.5'"),
        ("train.optim.lr=fast", r"train\.optim\.lr must be float; got 'fast'"),
        ("train.quiet=maybe", r"train\.quiet must be bool; got 'maybe'"),
        ("train.optim.name=adagrad", r"train\.optim\.name must be one of 'adam', 'sgd'; got 'adagrad'"),
        ("train.clip_norm=big", r"train\.clip_norm must be float or none; got 'big'"),
        ("layers=1,x", r"layers\[1\] must be int; got 'x'"),
        ("train=3", r"train is a table \(table \(Train\)\); set one of its keys"),
        ("train.epochs", r"override must look like key\.sub=value; got 'train\.epochs'"),
        ("train.epochs=0", r"train\.epochs must be >= 1; got 0"),
        ("train.epochs.x=1", r"cannot set train\.epochs\.x"),
    ],
)
def test_override_errors_name_key_type_and_value(override, message):
    with pytest.raises(ConfigError, match=message):
        apply_overrides(Recipe(), [override])


def test_toml_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown config key train\.optim\.momentum"):
        from_dict(Recipe, {"train": {"optim": {"momentum": 0.9}}})
    with pytest.raises(ConfigError, match=r"train\.epochs must be int; got '3'"):
        from_dict(Recipe, {"train": {"epochs": "3"}})
    with pytest.raises(ConfigError, match=r"train\.quiet must be bool; got 1"):
        from_dict(Recipe, {"train": {"quiet": 1}})
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(ConfigError, match=r"bad\.toml is not valid TOML: .*line 1"):
        load_config(bad, Recipe)
    with pytest.raises(ConfigError, match=r"config file .*nope\.toml does not exist"):
        load_config(tmp_path / "nope.toml", Recipe)


def test_dump_round_trip(tmp_path):
    cfg = apply_overrides(Recipe(), ["train.clip_norm=1.5", "data=d.csv", "extra.a=2", "layers=4,6"])
    path = dump_config(cfg, tmp_path / "run" / "config.toml")
    assert load_config(path, Recipe) == cfg
    text = dumps_config(Recipe())
    assert "clip_norm" not in text  # None is omitted: TOML has no null
    assert load_config(path, Recipe, ["train.optim.lr=0.5"]).train.optim.lr == 0.5


@dataclass
class Tuned:
    """A task-like config whose default [train] differs from Train's own defaults."""

    train: Train = field(default_factory=lambda: Train(epochs=9, optim=Optim(lr=0.5)))


def test_a_table_missing_keys_take_the_parents_default_for_that_table():
    cfg = from_dict(Tuned, {"train": {"quiet": True, "optim": {"name": "sgd"}}})
    assert (cfg.train.epochs, cfg.train.quiet, cfg.train.optim.name, cfg.train.optim.lr) == (9, True, "sgd", 0.5)
    assert from_dict(Tuned, {"train": {"optim": {"lr": 0.1}}}).train.optim.lr == 0.1
    assert from_dict(Tuned, {}).train.epochs == 9
    assert from_dict(Train, {"optim": {"name": "sgd"}}).optim.lr == 1e-3  # plain defaults elsewhere


def test_forecast_weight_decay_default_survives_a_partial_optim_table():
    from rnnkit.tasks import get_task
    from rnnkit.tasks.config_doc import render_config

    Forecast, Classify = get_task("forecast").Config, get_task("classify").Config
    cfg = from_dict(Forecast, {"task": "forecast", "train": {"optim": {"lr": 0.01}}})
    assert (cfg.train.optim.lr, cfg.train.optim.weight_decay) == (0.01, 0.01)
    assert from_dict(Forecast, {"task": "forecast", "train": {"optim": {"weight_decay": 0.0}}}).train.optim.weight_decay == 0
    assert from_dict(Classify, {"task": "classify"}).train.optim.weight_decay == 0
    assert "weight_decay = 0.01  # float; default 0.01" in render_config(cfg)
    assert "weight_decay = 0.0  # float; default 0.0" in render_config(from_dict(Classify, {"task": "classify"}))


def test_switching_kind_keeps_the_set_keys_and_takes_the_new_kinds_defaults():
    from rnnkit.tasks import get_task

    LM = get_task("lm").Config
    cfg = apply_overrides(from_dict(LM, {"task": "lm"}), ["model.kind=transformer"])
    assert cfg.model.num_layers == 2  # the transformer's default, not the RNN's 1
    cfg = apply_overrides(from_dict(LM, {"task": "lm", "model": {"num_layers": 3, "dropout": 0.25}}),
                          ["model.kind=transformer"])
    assert (cfg.model.num_layers, cfg.model.dropout) == (3, 0.25)  # set by the user: kept
