"""Runs of any task type: train, resume, evaluate, predict — everything the CLI and the
Python API do, as functions over run directories.

A run directory holds all it takes to rebuild the model: ``config.toml`` (fully
resolved), ``artifacts.json`` (what was fitted on the training split) and
``model.safetensors``. Configs are validated and frozen when loaded, before any data
file is opened; ``--data/--val/--test`` are applied as overrides of the data paths.
"""

from __future__ import annotations

import importlib.resources
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from torch import nn

from rnnkit.config import apply_overrides, freeze, from_dict, to_dict
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.tasks import pipeline
from rnnkit.tasks.base import Examples, PreparedData, Task
from rnnkit.tasks.registry import get_task, task_names

__all__ = ["recipe_names", "recipe_description", "raw_config", "load_run_config", "with_settings", "RunResult",
           "train", "claim_run_dir", "resume", "load_run", "evaluate", "evaluate_loaded", "predict", "get_task"]
from rnnkit.tasks.report import write_report
from rnnkit.train import FitResult, RunDir, Trainer, seed_everything
from rnnkit.train.distributed import is_main_process

RECIPES_PACKAGE = "rnnkit.recipes"


# ------------------------------------------------------------------ configs
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
    return freeze(cfg)


def with_settings(cfg: Any, overrides: Sequence[str]) -> Any:
    """A validated, frozen copy of ``cfg`` with ``overrides`` applied."""
    return load_run_config(to_dict(cfg), overrides)


# ------------------------------------------------------------------ runs
@dataclass
class RunResult:
    run_dir: Path
    fit: FitResult
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    wall_time_s: float
    task: Task
    model: nn.Module
    data: PreparedData


def train(cfg: Any, out: str | Path, *, resume: bool = False, quiet: bool | None = None,
          given: Mapping[str, Examples | None] | None = None, callbacks: Sequence[Any] = (),
          overwrite: bool = False, plots: Callable[[RunResult], list[str]] | None = None) -> RunResult:
    """Train ``cfg`` into run directory ``out`` (continuing its checkpoint when ``resume``).

    ``given``: in-memory examples per split (the Python API), instead of the config's files.
    ``callbacks``: extra :class:`rnnkit.train.Callback` objects (plots, ...).
    ``overwrite``: remove an earlier run in ``out`` first (otherwise a non-empty ``out`` is refused).
    ``plots``: draws the run's plots (the API passes :func:`rnnkit.viz.write_run_plots`);
    the files it returns are linked from ``report.md``."""
    start = time.perf_counter()
    main = is_main_process()  # under DDP only rank 0 claims and writes the run directory
    if not resume and main:
        claim_run_dir(out, overwrite)
    if quiet is not None and quiet != cfg.train.quiet:
        cfg = with_settings(cfg, [f"train.quiet={str(quiet).lower()}"])
    run = RunDir(out)
    # train.seed decides the data order *and* the initial weights: the one seeding point
    seed_everything(cfg.train.seed, cfg.train.deterministic)
    task = get_task(cfg.task)(cfg)
    if resume:
        pipeline.load_artifacts(task, run)
    data = pipeline.prepare(task, run if main else None, given)  # read and checked before anything is written
    if not resume and main:
        run.save_config(cfg)
    model = task.build_model()
    trainer = Trainer(model, task.objective(final=False), cfg.train, run, callbacks=callbacks)
    fit = trainer.fit(data.train, data.val, resume=resume)
    # the final figures score each whole split with the final objective (full decoding)
    val_metrics = pipeline.evaluate_batches(task, model, data.val) if data.val is not None else {}
    test_metrics = pipeline.evaluate_batches(task, model, data.test) if data.test is not None else {}
    result = RunResult(run.path, fit, val_metrics, test_metrics, time.perf_counter() - start, task, model, data)
    files = plots(result) if plots is not None and main else []
    if main:
        write_report(run, cfg, task, model, data.info, fit, val_metrics, test_metrics, result.wall_time_s, files)
    return result


def claim_run_dir(out: str | Path, overwrite: bool = False) -> None:
    """Refuse to train into a directory that already holds something (a run is never
    overwritten by surprise); with ``overwrite`` an earlier *run* there is removed first."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file, not a run directory")
    if not path.is_dir() or not any(path.iterdir()):
        return
    if not overwrite:
        raise ConfigError(f"run directory {path} is not empty: continue it with `rnnkit resume {path}`, choose "
                          f"another --out, or pass --overwrite to replace it")
    if not (path / "config.toml").is_file():
        raise ConfigError(f"--overwrite refuses to empty {path}: it holds no rnnkit run (no config.toml)")
    shutil.rmtree(path)


def resume(run_dir: str | Path, overrides: Sequence[str] = (), **options: Any) -> RunResult:
    """Continue an interrupted run from its newest good checkpoint (``options`` as in :func:`train`)."""
    cfg = load_run_config(_config_file(run_dir), overrides)
    return train(cfg, run_dir, resume=True, **options)


def _config_file(run_dir: str | Path) -> Path:
    path = Path(run_dir) / "config.toml"
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory: {path.name} is missing")
    return path


def load_run(run_dir: str | Path, overrides: Sequence[str] = ()) -> tuple[Task, nn.Module]:
    """Rebuild the task (with its fitted artifacts) and the trained model from ``run_dir``."""
    cfg = load_run_config(_config_file(run_dir), overrides)
    run = RunDir(run_dir)
    task = get_task(cfg.task)(cfg)
    pipeline.load_artifacts(task, run)
    model = task.build_model()
    try:
        model.load_state_dict(run.load_weights())
    except RuntimeError as exc:  # shapes/keys of another model
        raise CheckpointError(f"{run.model_path} does not fit the model described by config.toml: {exc}") from exc
    model.eval()
    return task, model


def evaluate(run_dir: str | Path, data: str | Path | None = None, overrides: Sequence[str] = (),
             split: str | None = None) -> dict[str, float]:
    """Loss and metrics of a trained run over a whole split: ``data`` (a file in the task's
    format), else ``split`` (``test``/``val``), else the test split when the run has one,
    else its validation split. Only that split is read.

    ``overrides`` change settings that do not alter the model (e.g. ``decode.beam_size=4``)."""
    task, model = load_run(run_dir, overrides)
    return evaluate_loaded(task, model, data, split)


def evaluate_loaded(task: Task, model: nn.Module, data: Any = None, split: str | None = None) -> dict[str, float]:
    if data is not None:
        examples = data if isinstance(data, Examples) else task.read(data)
    else:
        if split is None:
            d = task.config.data
            has_test = d.test_path is not None or getattr(d, "test_fraction", 0) > 0 or \
                getattr(d, "dataset", None) is not None or getattr(d, "split_column", None) is not None
            split = "test" if has_test else "val"
            try:
                examples = pipeline.read_split_only(task, split)
            except ConfigError:
                if split == "val":
                    raise
                examples = pipeline.read_split_only(task, "val")
        else:
            examples = pipeline.read_split_only(task, {"validation": "val"}.get(split, split))
    return pipeline.evaluate_examples(task, model, examples)


def predict(run_dir: str | Path, source: str | Path | list[str] | Any, overrides: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Predictions of a trained run for a file, raw lines or in-memory data (``overrides`` as in :func:`evaluate`)."""
    task, model = load_run(run_dir, overrides)
    return pipeline.predict_examples(task, model, pipeline.source_examples(task, source))
