"""Name → task type. Task modules register themselves; importing :mod:`rnnkit.tasks`
imports them all."""

from __future__ import annotations

from rnnkit.errors import ConfigError
from rnnkit.tasks.base import Task

_TASKS: dict[str, type[Task]] = {}


def register(cls: type[Task]) -> type[Task]:
    """Class decorator: make ``cls`` available as ``task = "<cls.name>"`` in recipes."""
    _TASKS[cls.name] = cls
    return cls


def get_task(name: str) -> type[Task]:
    if name not in _TASKS:
        raise ConfigError(f"task must be one of {sorted(_TASKS)}; got {name!r}")
    return _TASKS[name]


def task_names() -> list[str]:
    return sorted(_TASKS)
