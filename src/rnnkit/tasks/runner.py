"""Runs of any task type: train, resume, evaluate, predict — everything the CLI does,
as functions. A run directory holds all it takes to rebuild the model:
``config.toml`` (fully resolved), the fitted artifacts and ``model.safetensors``.

Every task's ``Config.data`` has ``path``, ``val_path`` and ``test_path`` fields, which
``--data``, ``--val`` and ``--test`` set.
"""

from __future__ import annotations

import importlib.resources
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from torch import nn

from rnnkit.config import apply_overrides, from_dict
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.tasks.base import Task
from rnnkit.tasks.registry import get_task
from rnnkit.tasks.report import write_report
from rnnkit.train import FitResult, RunDir, Trainer, seed_everything

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
        raise ConfigError(f"no config file or built-in recipe named {name!r}; recipes: {', '.join(recipe_names())}")
    return resource.read_text(encoding="utf-8")


def _read_toml_text(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where} is not valid TOML: {exc}") from exc


def load_run_config(source: str | Path, overrides: Sequence[str] = (), *, data: str | None = None,
                    val: str | None = None, test: str | None = None) -> Any:
    """A task config from a TOML file or a built-in recipe name, with overrides applied.

    ``--data/--val/--test`` paths are applied after the ``--set`` overrides.
    """
    path = Path(source)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        raw = _read_toml_text(path.read_text(encoding="utf-8"), str(path))
    else:
        raw = _read_toml_text(_recipe_text(str(source)), f"recipe {source}")
    raw.pop("description", None)
    task_name = raw.get("task")
    if task_name is None:
        raise ConfigError(f"{source}: the config must name its task, e.g. task = \"classify\"")
    cfg = from_dict(get_task(task_name).Config, raw)
    cfg = apply_overrides(cfg, list(overrides))
    for field_name, value in (("path", data), ("val_path", val), ("test_path", test)):
        if value is not None:
            setattr(cfg.data, field_name, str(value))
    return cfg


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


def train(cfg: Any, out: str | Path, *, resume: bool = False, quiet: bool | None = None) -> RunResult:
    """Train ``cfg`` into run directory ``out`` (continuing its checkpoint when ``resume``)."""
    start = time.perf_counter()
    if quiet is not None:
        cfg.train.quiet = quiet
    run = RunDir(out)
    # train.seed decides the data order *and* the initial weights: seed before building either
    seed_everything(cfg.train.seed, cfg.train.deterministic)
    task = get_task(cfg.task)(cfg)
    data = task.prepare(run)  # validates the data settings before anything describes the run
    if not resume:
        run.save_config(cfg)
    model = task.build_model()
    trainer = Trainer(model, task.objective(), cfg.train, run)
    fit = trainer.fit(data.train, data.val, resume=resume)
    val_metrics = _final_validation(fit, cfg) if data.val is not None else {}
    if data.val is not None and not val_metrics:
        val_metrics = trainer.evaluate(data.val)
    test_metrics = trainer.evaluate(data.test) if data.test is not None else {}
    wall = time.perf_counter() - start
    write_report(run, cfg, task, model, data.info, fit, val_metrics, test_metrics, wall)
    return RunResult(run.path, fit, val_metrics, test_metrics, wall, task, model)


def _final_validation(fit: FitResult, cfg: Any) -> dict[str, float]:
    """The last epoch's validation metrics when they describe the final weights, else {}."""
    if not fit.history or cfg.train.restore_best or fit.stop_reason == "interrupted":
        return {}
    return {k[len("val_"):]: v for k, v in fit.history[-1].items() if k.startswith("val_")}


def resume(run_dir: str | Path, overrides: Sequence[str] = ()) -> RunResult:
    """Continue an interrupted run from its newest good checkpoint."""
    cfg = load_run_config(_config_file(run_dir), overrides)
    return train(cfg, run_dir, resume=True)


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
    task.load_artifacts(run)
    model = task.build_model()
    try:
        model.load_state_dict(run.load_weights())
    except RuntimeError as exc:  # shapes/keys of another model
        raise CheckpointError(f"{run.model_path} does not fit the model described by config.toml: {exc}") from exc
    model.eval()
    return task, model


def evaluate(run_dir: str | Path, data: str | Path | None = None, overrides: Sequence[str] = ()) -> dict[str, float]:
    """Loss and metrics of a trained run on ``data`` (default: the config's test, else val split).

    ``overrides`` change settings that do not alter the model (e.g. ``decode.beam_size=4``)."""
    task, model = load_run(run_dir, overrides)
    if data is not None:
        batches = task.evaluation_data(data)
    else:
        prepared = task.prepare(None)
        batches = prepared.test if prepared.test is not None else prepared.val
        if batches is None:
            raise ConfigError("the run's config has no test or validation data; pass --data PATH")
    cfg = task.config
    cfg.train.quiet = True
    return Trainer(model, task.objective(), cfg.train, None).evaluate(batches)


def predict(run_dir: str | Path, source: str | Path | list[str], overrides: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Predictions of a trained run for a file or raw lines (``overrides`` as in :func:`evaluate`)."""
    task, model = load_run(run_dir, overrides)
    return task.predict(model, source)
