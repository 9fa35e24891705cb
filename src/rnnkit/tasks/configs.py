"""Loading a run's config: a TOML file, a built-in recipe or a bare task name becomes the
task's ``Config`` dataclasses, with ``--set`` overrides, every user setting range-checked
(the model's with stand-ins for the data-derived sizes, the generation and device settings,
a memory estimate) and the result frozen — all before any data file is opened."""

from __future__ import annotations

import importlib.resources
import sys
from pathlib import Path
from typing import Any, Mapping, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from rnnkit.config import apply_overrides, freeze, from_dict, to_dict
from rnnkit.errors import ConfigError
from rnnkit.tasks.registry import get_task, task_names
from rnnkit.train.rundir import RunEnvironmentError

__all__ = ["recipe_names", "recipe_description", "raw_config", "load_run_config", "check_run_settings",
           "check_generation", "check_device", "with_settings", "MAX_GENERATE_LENGTH", "RECIPES_PACKAGE"]

RECIPES_PACKAGE = "rnnkit.recipes"


def recipe_names() -> list[str]:
    files = importlib.resources.files(RECIPES_PACKAGE).iterdir()
    return sorted(p.name[: -len(".toml")] for p in files if p.name.endswith(".toml"))


def recipe_description(name: str) -> str:
    """The recipe's ``description`` key (one line)."""
    return str(_read_toml_text(_recipe_text(name), f"recipe {name}").get("description", ""))


def _recipe_text(name: str) -> str:
    resource = importlib.resources.files(RECIPES_PACKAGE) / f"{name}.toml"
    if not resource.is_file():
        raise ConfigError(f"no config file, task or built-in recipe named {name!r}; tasks: {', '.join(task_names())}; "
                          f"recipes: {', '.join(recipe_names())}")
    return resource.read_text(encoding="utf-8")


def _read_toml_text(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from exc


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start})") from None
    return _read_toml_text(text, str(path))


def raw_config(source: str | Path) -> dict[str, Any]:
    """The TOML table of a config file, a built-in recipe, or ``{"task": NAME}`` for a task name."""
    path = Path(source)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        raw = _read_config_file(path)
    elif str(source) in task_names():
        raw = {"task": str(source)}  # a task's defaults: `rnnkit train classify --data x.csv`
    else:
        raw = _read_toml_text(_recipe_text(str(source)), f"recipe {source}")
    raw.pop("description", None)
    if raw.get("task") is None:
        raise ConfigError(f"{source}: the config must name its task, e.g. task = \"classify\"")
    return raw


def load_run_config(source: str | Path | Mapping[str, Any], overrides: Sequence[str] = (), *,
                    data: str | None = None, val: str | None = None, test: str | None = None) -> Any:
    """A task config (a TOML file, a built-in recipe, a task name or a mapping) with
    ``overrides`` applied, every user setting range-checked, then frozen.

    ``--data/--val/--test`` set ``data.path``/``val_path``/``test_path`` after the overrides.
    Nothing here opens a data file."""
    raw = dict(source) if isinstance(source, Mapping) else raw_config(source)
    cfg = from_dict(get_task(str(raw["task"])).Config, raw)
    paths = [f"data.{key}={value}" for key, value in (("path", data), ("val_path", val), ("test_path", test))
             if value is not None]
    cfg = apply_overrides(cfg, [*overrides, *paths])
    try:
        cfg.model.check_settings()
    except ConfigError as exc:  # name the key as the user writes it: model.hidden_size
        raise ConfigError(str(exc).replace(f"{type(cfg.model).__name__}.", "model.", 1)) from None
    check_run_settings(cfg)
    return freeze(cfg)


def check_run_settings(cfg: Any) -> None:
    """The checks that span sections or that every task shares: split fractions that leave
    data in every split, ``min_freq``, the ``[generate]`` defaults (as on the ``generate``
    command line), the device, and the model's memory estimate."""
    d = getattr(cfg, "data", None)
    if d is not None:
        val, test = getattr(d, "val_fraction", 0.0) or 0.0, getattr(d, "test_fraction", 0.0) or 0.0
        for key, v in (("data.val_fraction", val), ("data.test_fraction", test)):
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= v < 1.0:
                raise ConfigError(f"{key} must be in [0, 1); got {v!r}")
        used = (val if getattr(d, "val_path", None) is None else 0.0) + \
            (test if getattr(d, "test_path", None) is None else 0.0)
        if used >= 1.0:
            raise ConfigError(f"data.val_fraction + data.test_fraction must leave training data (< 1); "
                              f"got {val!r} + {test!r}")
        for key in ("min_freq",):
            v = getattr(d, key, None)
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
                raise ConfigError(f"data.{key} must be an integer >= 1; got {v!r}")
        combined = getattr(d, "check_combined", None)  # a task's checks between [data] keys (forecast)
        if combined is not None:
            combined()
        if getattr(d, "train_with_val", False):
            _check_train_with_val(cfg)
    g = getattr(cfg, "generate", None)
    if g is not None:
        check_generation(g.length, g.temperature, g.top_k, g.top_p, g.seed, where="generate.")
    check_device(cfg.train.device)
    from rnnkit.models.memory import check_model_memory

    check_model_memory(cfg)


MAX_GENERATE_LENGTH = 1_000_000  # tokens per `rnnkit generate` call


def _check_train_with_val(cfg: Any) -> None:
    """``data.train_with_val = true``: a task of independent examples, and nothing that picks an
    epoch by the validation figures (they score data the model trains on)."""
    if not get_task(cfg.task).trains_with_val:
        able = ", ".join(n for n in task_names() if get_task(n).trains_with_val)
        raise ConfigError(f"data.train_with_val is not available for the {cfg.task} task: its validation split "
                          f"is the end of a series or of a corpus, not examples of their own (tasks that have it: "
                          f"{able})")
    t = cfg.train
    why = "data.train_with_val = true trains on the validation split, so its figures cannot pick an epoch"
    if t.restore_best:
        raise ConfigError(f"{why}: set train.restore_best = false (it is true); the run ends with its last epoch")
    if t.early_stopping_patience is not None:
        raise ConfigError(f"{why}: set train.early_stopping_patience = none (it is {t.early_stopping_patience}); "
                          f"give train.epochs instead, e.g. the best epoch of a run without train_with_val")


def check_generation(length: Any = None, temperature: Any = None, top_k: Any = None, top_p: Any = None,
                     seed: Any = None, where: str = "--") -> None:
    """The generation settings, checked the same at train time (``[generate]``) and on the
    ``generate`` command line: ``where`` is ``"generate."`` or ``"--"``."""
    import math

    def bad(name: str, expected: str, value: Any) -> ConfigError:
        return ConfigError(f"{where}{name.replace('_', '-') if where == '--' else name} must be {expected}; "
                           f"got {value!r}")

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    if length is not None and (not is_int(length) or not 1 <= length <= MAX_GENERATE_LENGTH):
        raise bad("length", f"an integer in 1..{MAX_GENERATE_LENGTH}", length)
    if temperature is not None and (isinstance(temperature, bool) or not isinstance(temperature, (int, float))
                                    or not math.isfinite(temperature) or temperature < 0):
        raise bad("temperature", "a finite number >= 0 (0 means argmax)", temperature)
    if top_k is not None and (not is_int(top_k) or top_k < 1):
        raise bad("top_k", "an integer >= 1", top_k)
    if top_p is not None and (isinstance(top_p, bool) or not isinstance(top_p, (int, float))
                              or not 0.0 < top_p <= 1.0):
        raise bad("top_p", "a number in (0, 1]", top_p)
    if seed is not None and (not is_int(seed) or not 0 <= seed <= 2**63 - 1):
        raise bad("seed", "an integer in 0..2**63-1", seed)


def check_device(name: str) -> None:
    """``train.device`` must name a device this machine has: a bad name is a ConfigError
    (exit 2), a device that is not there (cuda on a CPU-only torch) a RunEnvironmentError (exit 1)."""
    import torch

    if name == "auto":
        return
    try:
        dev = torch.device(name)
    except (RuntimeError, ValueError, TypeError):
        raise ConfigError(f"train.device must be auto, cpu, cuda, cuda:N or mps; got {name!r}") from None
    if dev.type == "cpu":
        return
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise RunEnvironmentError(f"train.device={name!r} but this torch has no usable CUDA device "
                                      f"(torch {torch.__version__}); use train.device=cpu or auto")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise RunEnvironmentError(f"train.device={name!r} but this machine has {torch.cuda.device_count()} "
                                      f"CUDA device(s) (cuda:0..cuda:{torch.cuda.device_count() - 1})")
        return
    if dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise RunEnvironmentError(f"train.device={name!r} but MPS is not available on this machine")
        return
    raise ConfigError(f"train.device must be auto, cpu, cuda, cuda:N or mps; got {name!r}")


def with_settings(cfg: Any, overrides: Sequence[str]) -> Any:
    """A validated, frozen copy of ``cfg`` with ``overrides`` applied."""
    return load_run_config(to_dict(cfg), overrides)
