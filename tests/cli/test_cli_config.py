"""`rnnkit config TASK|RECIPE|RUN_DIR`: the commented TOML is generated from the config
dataclasses — every key of every task (and of every [model] kind) is printed, and the text
loads back to the very config it describes."""

from __future__ import annotations

import dataclasses
import re
import sys
import typing

import pytest

from rnnkit.cli.main import main
from rnnkit.config import dump_config, to_dict
from rnnkit.tasks.config_doc import describe_source, field_comments
from rnnkit.tasks.configs import load_run_config, recipe_names
from rnnkit.tasks.registry import get_task, task_names
from rnnkit.train.train_config import TrainConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _kinds(cls: type, name: str) -> list[str]:
    """The ``kind`` values of a union-typed field (empty when it is a plain table)."""
    tp = typing.get_type_hints(cls)[name]
    return [dataclasses.fields(m)[[f.name for f in dataclasses.fields(m)].index("kind")].default
            for m in typing.get_args(tp) if dataclasses.is_dataclass(m)
            and "kind" in [f.name for f in dataclasses.fields(m)]]


def _keys(obj: object, prefix: str = "") -> list[tuple[str, str]]:
    """(table, key) for every scalar key of a config instance, nested tables walked."""
    out = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            out += _keys(value, f"{prefix}.{f.name}" if prefix else f.name)
        else:
            out.append((prefix, f.name))
    return out


def _tables(text: str) -> dict[str, list[str]]:
    """table → the keys printed in it (commented-out keys included)."""
    tables: dict[str, list[str]] = {"": []}
    current = ""
    for line in text.splitlines():
        m = re.fullmatch(r"\[([\w.]+)\]", line)
        if m:
            current = m.group(1)
            tables[current] = []
            continue
        m = re.match(r"(?:# )?(\w+) = ", line)
        if m:
            tables[current].append(m.group(1))
    return tables


def _loads_back(text: str) -> dict:
    """The printed text with its comments stripped, read as TOML."""
    stripped = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return tomllib.loads(stripped)


CASES = [(task, []) for task in task_names()] + [
    (task, [f"model.kind={kind}"]) for task in task_names()
    for kind in _kinds(get_task(task).Config, "model")[1:]]


@pytest.mark.parametrize("task,overrides", CASES, ids=[f"{t}{'-' + o[0] if o else ''}" for t, o in CASES])
def test_every_key_is_printed_and_the_text_loads_back_to_the_config(task, overrides):
    text = describe_source(task, overrides)
    cfg = load_run_config(task, overrides)
    printed = _tables(text)
    for table, key in _keys(cfg):
        assert key in printed.get(table, []), f"{table}.{key} missing from `rnnkit config {task}`"
    assert sum(map(len, printed.values())) == len(_keys(cfg))  # nothing printed twice or invented
    assert to_dict(load_run_config(_loads_back(text))) == to_dict(cfg)


def test_defaults_are_the_dataclass_defaults_and_meanings_come_from_the_source():
    text = describe_source("classify")
    assert "# stop after this many optimizer steps\n# max_steps = none  # int or none; default none\n" in text
    assert 'precision = "fp32"  # one of \'fp32\', \'bf16\', \'fp16\'; default "fp32"' in text
    assert "# a built-in dataset instead of a file\n" in text  # ClassifyData.dataset's trailing comment
    assert "through an embedding" in text  # a comment block above the field
    assert '# model kinds: "rnn" | "feedforward" | "transformer" (this is "rnn", the default)' in text
    assert "rnnkit config classify --set model.kind=transformer" in text
    comments = field_comments(TrainConfig)
    assert comments["max_steps"] == "stop after this many optimizer steps"
    assert comments["epochs"].startswith("none: 10 epochs, or more when")  # a block comment spanning lines


@pytest.mark.parametrize("recipe", recipe_names())
def test_a_recipe_prints_its_values_and_loads_back(recipe):
    text = describe_source(recipe)
    assert text.startswith(f"# rnnkit config: the built-in recipe {recipe!r}")
    assert to_dict(load_run_config(_loads_back(text))) == to_dict(load_run_config(recipe))


def test_a_run_directory_prints_its_effective_config(tmp_path):
    cfg = load_run_config("classify", ["train.epochs=7", "model.kind=feedforward", "data.text_column=review"],
                          data="train.csv")
    dump_config(cfg, tmp_path / "config.toml")
    text = describe_source(tmp_path)
    assert "effective config of the run" in text
    assert "epochs = 7  # int or none; default none" in text
    assert 'text_column = "review"  # str; default "text"' in text
    assert 'path = "train.csv"' in text
    assert to_dict(load_run_config(_loads_back(text))) == to_dict(cfg)


def test_cli(tmp_path, capsys):
    assert main(["config", "tag"]) == 0
    out = capsys.readouterr().out
    assert 'task = "tag"' in out and "[model]" in out
    assert main(["config", "classify", "--set", "model.hidden_size=12"]) == 0
    assert "hidden_size = 12  # int or none; default none" in capsys.readouterr().out
    assert main(["config", "no-such-task"]) == 2
    assert "tasks: classify" in capsys.readouterr().err
    assert main(["config", str(tmp_path)]) == 2
    assert "config.toml is missing" in capsys.readouterr().err
    assert main(["config", "classify", "--set", "train.nope=1"]) == 2
    for argv in (["--help"], ["train", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "rnnkit config" in capsys.readouterr().out
