"""Every key `rnnkit config TASK` prints (every task, every [model] kind) has a one-line
meaning, stated in its dataclass's source (trailing or block comment, or the class
docstring); a new field without one fails here, naming it."""

from __future__ import annotations

import dataclasses
import typing

from rnnkit.tasks import config_doc
from rnnkit.tasks.configs import load_run_config
from rnnkit.tasks.registry import get_task, task_names


def _kinds(task: str) -> list[str]:
    tp = typing.get_type_hints(get_task(task).Config)["model"]
    return [f.default for m in typing.get_args(tp) if dataclasses.is_dataclass(m)
            for f in dataclasses.fields(m) if f.name == "kind"]


def _missing(obj: object, where: str = "") -> list[str]:
    cls = config_doc._base_class(obj)
    meanings = config_doc.field_comments(cls)
    out = []
    for f in dataclasses.fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        key = f"{where}.{f.name}" if where else f.name
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            out += _missing(value, key)
        elif not (config_doc._FIXED_MEANINGS.get((where, f.name)) or meanings.get(f.name)):
            out.append(f"{key} ({cls.__module__}.{cls.__qualname__})")
    return out


def test_every_printed_key_has_a_meaning():
    missing = set()
    for task in task_names():
        for kind in [None, *_kinds(task)]:
            cfg = load_run_config(task, [f"model.kind={kind}"] if kind else [])
            missing.update(f"{task}: {m}" for m in _missing(cfg))
    assert not missing, "keys without a one-line meaning in their dataclass:\n" + "\n".join(sorted(missing))
