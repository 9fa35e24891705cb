"""Runs of any task type: train, resume, evaluate, predict — everything the CLI and the
Python API do, as functions over run directories.

A run directory holds all it takes to rebuild the model: ``config.toml`` (fully
resolved), ``artifacts.json`` (what was fitted on the training split) and
``model.safetensors``. Configs are validated and frozen when loaded, before any data
file is opened; ``--data/--val/--test`` are applied as overrides of the data paths.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from torch import nn

from rnnkit.config import parse_override
from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.tasks import pipeline
from rnnkit.tasks.base import Examples, PreparedData, Task
from rnnkit.tasks.configs import load_run_config, raw_config, recipe_description, recipe_names, with_settings
from rnnkit.tasks.registry import get_task, task_names
from rnnkit.tasks.report import write_report
from rnnkit.train import FitResult, RunDir, Trainer, seed_everything
from rnnkit.train import checkpoint as ckpt
from rnnkit.train.averaging import averaged_weights
from rnnkit.train.contracts import StopReason
from rnnkit.train.distributed import is_main_process
from rnnkit.train.early_stopping import EarlyStopping
from rnnkit.train.loop_state import LoopState
from rnnkit.train.rundir import LOCK_FILE, RunDirLock, clean_leftovers
from rnnkit.train.train_config import RESTORE_BEST_MIN_VAL

# what `rnnkit resume --set` may change: the run's limits (and how it prints); anything else
# would make the continued run differ from the one its checkpoints belong to
RESUME_SETTINGS = ("train.max_steps", "train.max_minutes", "train.epochs", "train.quiet")

# the config loading lives in rnnkit.tasks.configs; its entry points are re-exported here
__all__ = ["recipe_names", "recipe_description", "raw_config", "load_run_config", "with_settings", "RunResult",
           "train", "claim_run_dir", "resume", "load_run", "evaluate", "evaluate_loaded", "predict", "get_task",
           "task_names"]


# ------------------------------------------------------------------ runs
@dataclass
class RunResult:
    run_dir: Path
    fit: FitResult
    val_metrics: dict[str, float]
    test_metrics: dict[str, float]
    wall_time_s: float
    task: Task | None  # None only for `resume` of an already finished run
    model: nn.Module | None
    data: PreparedData | None
    already_finished: bool = False  # `resume` of a finished run: nothing was trained or written


def train(cfg: Any, out: str | Path, *, resume: bool = False, quiet: bool | None = None,
          given: Mapping[str, Examples | None] | None = None, callbacks: Sequence[Any] = (),
          overwrite: bool = False, plots: Callable[[RunResult], list[str]] | None = None) -> RunResult:
    """Train ``cfg`` into run directory ``out`` (continuing its checkpoint when ``resume``).

    ``given``: in-memory examples per split (the Python API), instead of the config's files.
    ``callbacks``: extra :class:`rnnkit.train.Callback` objects (plots, ...).
    ``overwrite``: remove an earlier run in ``out`` first (otherwise a non-empty ``out`` is refused).
    ``plots``: draws the run's plots (the API passes :func:`rnnkit.viz.write_run_plots`);
    the files it returns are linked from ``report.md``."""
    main = is_main_process()  # under DDP only rank 0 claims, locks and writes the run directory
    lock = RunDirLock(out) if main else None
    if lock is not None:
        lock.acquire()
    try:
        if main:
            if resume:
                clean_leftovers(out)
            else:
                claim_run_dir(out, overwrite)
        return _train(cfg, out, resume=resume, quiet=quiet, given=given, callbacks=callbacks, plots=plots)
    finally:
        if lock is not None:
            lock.release()


def _train(cfg: Any, out: str | Path, *, resume: bool, quiet: bool | None, given: Any, callbacks: Sequence[Any],
           plots: Callable[[RunResult], list[str]] | None) -> RunResult:
    start = time.perf_counter()
    main = is_main_process()
    if quiet is not None and quiet != cfg.train.quiet:
        cfg = with_settings(cfg, [f"train.quiet={str(quiet).lower()}"])
    run = RunDir(out)
    # train.seed decides the data order *and* the initial weights: the one seeding point
    seed_everything(cfg.train.seed, cfg.train.deterministic)
    task = get_task(cfg.task)(cfg)
    if resume:
        pipeline.load_artifacts(task, run)
    data = pipeline.prepare(task, run if main else None, given)  # read and checked before anything is written
    cfg = task.config  # fitting may size the model from the data (model.pretrained_embeddings' dimension)
    if cfg.train.monitor is None:  # the task's own metric; config.toml keeps the choice
        cfg = task.config = with_settings(cfg, [f"train.monitor={type(task).monitor}"])
        data.info["monitor"] = f"{cfg.train.monitor} (train.monitor = none: the {task.name} task's choice)"
    if cfg.train.restore_best is None:  # resolved from the validation split; config.toml keeps the choice
        cfg = task.config = _resolve_restore_best(cfg, data)
    if not resume and main:
        run.save_config(cfg)
    model = task.build_model()
    trainer = Trainer(model, task.objective(final=False), cfg.train, run, callbacks=callbacks)
    fit = trainer.fit(data.train, data.val, resume=resume)
    # the final figures score each whole split with the final objective (full decoding), through
    # the same Trainer (under DDP: the same wrapped model, each rank scoring its shard)
    val_metrics = pipeline.evaluate_batches(task, model, data.val, trainer) if data.val is not None else {}
    test_metrics = pipeline.evaluate_batches(task, model, data.test, trainer) if data.test is not None else {}
    result = RunResult(run.path, fit, val_metrics, test_metrics, time.perf_counter() - start, task, model, data)
    files = plots(result) if plots is not None and main else []
    if main:
        write_report(run, cfg, task, model, data.info, fit, val_metrics, test_metrics, result.wall_time_s, files)
    return result


def _resolve_restore_best(cfg: Any, data: PreparedData) -> Any:
    """``cfg`` with ``train.restore_best = none`` decided by the size of the validation split
    (TrainConfig.restore_best_for); the report's data section says what was chosen and why."""
    val = data.examples.get("val") if data.val is not None else None
    n = None if val is None else len(val)
    if getattr(cfg.data, "train_with_val", False):
        data.info["restore_best"] = "off (train.restore_best = none; data.train_with_val: validation is trained on)"
        return with_settings(cfg, ["train.restore_best=false"])
    on = cfg.train.restore_best_for(n)
    data.info["restore_best"] = (f"{'on' if on else 'off'} (train.restore_best = none: on from "
                                 f"{RESTORE_BEST_MIN_VAL} validation examples; "
                                 f"{'no validation split' if n is None else f'{n} here'})")
    return with_settings(cfg, [f"train.restore_best={str(on).lower()}"])


def claim_run_dir(out: str | Path, overwrite: bool = False) -> None:
    """Refuse to train into a directory that already holds something (a run is never
    overwritten by surprise); with ``overwrite`` an earlier *run* there is removed first."""
    path = Path(out)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path} is a file, not a run directory")
    if not path.is_dir() or not _contents(path):
        return
    if all(p.name in _UNSTARTED for p in _contents(path)):
        _empty(path)  # a run that never trained (its data failed, or it was killed while reading it)
        return
    if not overwrite:
        raise ConfigError(f"run directory {path} is not empty: continue it with `rnnkit resume {path}`, choose "
                          f"another --out, or pass --overwrite to replace it")
    if not (path / "config.toml").is_file():
        raise ConfigError(f"--overwrite refuses to empty {path}: it holds no rnnkit run (no config.toml)")
    _empty(path)


_UNSTARTED = ("config.toml", "artifacts.json")  # what a run holds before its first step


def _contents(path: Path) -> list[Path]:
    """What a run directory holds besides its lock file."""
    return [p for p in path.iterdir() if p.name != LOCK_FILE]


def _empty(path: Path, keep: tuple[str, ...] = ()) -> None:
    for p in _contents(path):
        if p.name in keep:
            continue
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        else:
            p.unlink()


def resume(run_dir: str | Path, overrides: Sequence[str] = (), **options: Any) -> RunResult:
    """Continue an interrupted run from its newest good checkpoint (``options`` as in :func:`train`).

    ``overrides`` may only change the run's limits (:data:`RESUME_SETTINGS`): a run stopped by
    ``max_steps``/``max_time`` is extended with a larger ``train.max_steps``/``max_minutes``.
    A run that has already finished under its limits is left untouched (``already_finished``).
    A run killed before its first checkpoint starts again from step 0 with its saved config."""
    path = Path(run_dir)
    if not path.is_dir():
        raise CheckpointError(f"{run_dir} is not a run directory (no such folder)")
    for text in overrides:
        key = parse_override(text)[0]
        if key not in RESUME_SETTINGS:
            raise ConfigError(f"--set {key} cannot change when a run is resumed: only its limits "
                              f"({', '.join(RESUME_SETTINGS)}) may; train a new run to change {key}")
    if not is_main_process():  # DDP: rank 0 decides and writes; the other ranks follow the checkpoint
        return train(_run_config(path, overrides), path, resume=True, **options)
    with RunDirLock(path):  # first: a run another process is writing is refused as such
        cfg = _run_config(path, overrides)
        clean_leftovers(path)
        run = RunDir(path)
        if not ckpt.list_checkpoints(run.checkpoints_dir):
            # killed before its first checkpoint: nothing to continue, start again with the saved config
            _empty(path, keep=("config.toml",))
            return _train(cfg, path, resume=False, quiet=options.get("quiet"), given=options.get("given"),
                          callbacks=options.get("callbacks", ()), plots=options.get("plots"))
        c = ckpt.load_latest(run.checkpoints_dir)
        state = c.trainer_state
        loop = LoopState.from_dict(state.get("loop") if isinstance(state, dict) else None, c.path / ckpt.STATE_FILE)
        reason = finished_reason(cfg, loop)
        if reason is not None and (path / "report.md").is_file():
            fit = FitResult(loop.history, loop.global_step, len(loop.history), reason, None, c.path)
            return RunResult(path, fit, {}, {}, 0.0, None, None, None, already_finished=True)
        if overrides:
            run.save_config(cfg)  # the new limits hold for later resumes too
        if reason is not None:  # killed after its last checkpoint: only the final figures are missing
            return _finalize(cfg, path, c, loop, reason, options)
        return _train(cfg, path, resume=True, quiet=options.get("quiet"), given=options.get("given"),
                      callbacks=options.get("callbacks", ()), plots=options.get("plots"))


def finished_reason(cfg: Any, loop: LoopState) -> StopReason | None:
    """Why a run whose newest checkpoint is ``loop`` has nothing left to train under ``cfg``
    (``completed``, ``max_steps``, ``max_time``, ``early_stopping``), or None."""
    t = cfg.train
    if t.max_steps is not None and loop.global_step >= t.max_steps:
        return "max_steps"
    if t.epochs_done(loop.epoch, loop.global_step):
        return "completed"
    if t.max_minutes is not None and loop.train_seconds >= 60.0 * t.max_minutes:
        return "max_time"
    early = loop.callbacks.get("EarlyStop")
    if t.early_stopping_patience is not None and isinstance(early, dict):
        tracker = EarlyStopping(t.mode, t.early_stopping_patience, t.early_stopping_min_delta)
        try:
            tracker.load_state_dict(early)
        except (KeyError, TypeError, ValueError):
            return None
        if tracker.should_stop and (not t.waits_min_steps or loop.global_step >= t.min_steps):
            return "early_stopping"
    return None


def _finalize(cfg: Any, path: Path, c: Any, loop: LoopState, reason: str, options: Mapping[str, Any]) -> RunResult:
    """The end of a run killed after its last checkpoint: the final weights, figures, plots and report."""
    start = time.perf_counter()
    run = RunDir(path)
    seed_everything(cfg.train.seed, cfg.train.deterministic)
    task = get_task(cfg.task)(cfg)
    pipeline.load_artifacts(task, run)
    data = pipeline.prepare(task, run, options.get("given"))
    model = task.build_model()
    weights = c.model_state
    saved_average = c.trainer_state.get("average") if isinstance(c.trainer_state, dict) else None
    if cfg.train.ema_decay is not None and saved_average is not None:  # the weights the run would have saved
        try:
            weights = averaged_weights(weights, saved_average)
        except ValueError as exc:
            raise CheckpointError(f"{c.path / ckpt.STATE_FILE}: field average cannot be read ({exc})") from None
    if cfg.train.restore_best and (path / "best.safetensors").is_file():
        weights = run.load_weights("best.safetensors")
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise CheckpointError(f"{c.path / ckpt.MODEL_FILE} does not fit the model: {exc}") from None
    run.save_weights(model.state_dict())
    model.eval()
    fit = FitResult(loop.history, loop.global_step, len(loop.history), reason, None, c.path)
    val_metrics = pipeline.evaluate_batches(task, model, data.val) if data.val is not None else {}
    test_metrics = pipeline.evaluate_batches(task, model, data.test) if data.test is not None else {}
    result = RunResult(path, fit, val_metrics, test_metrics, time.perf_counter() - start, task, model, data)
    plots = options.get("plots")
    files = plots(result) if plots is not None else []
    write_report(run, cfg, task, model, data.info, fit, val_metrics, test_metrics, result.wall_time_s, files)
    return result


def _config_file(run_dir: str | Path) -> Path:
    path = Path(run_dir) / "config.toml"
    if not Path(run_dir).is_dir():
        raise CheckpointError(f"{run_dir} is not a run directory (no such folder)")
    if not path.is_file():
        raise CheckpointError(f"{run_dir} is not a run directory: {path.name} is missing")
    return path


def _run_config(run_dir: str | Path, overrides: Sequence[str] = ()) -> Any:
    """The saved config of a run; a damaged ``config.toml`` is named in the error."""
    path = _config_file(run_dir)
    try:
        return load_run_config(path, overrides)
    except ConfigError as exc:
        text = str(exc)
        if str(path) in text or "--set" in text or any(o.split("=", 1)[0].strip() in text for o in overrides):
            raise
        raise ConfigError(f"{path}: {text}") from None


def load_run(run_dir: str | Path, overrides: Sequence[str] = ()) -> tuple[Task, nn.Module]:
    """Rebuild the task (with its fitted artifacts) and the trained model from ``run_dir``."""
    cfg = _run_config(run_dir, overrides)
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
                getattr(d, "dataset", None) is not None or getattr(d, "split_column", None) is not None \
                or getattr(d, "split_rows", None) is not None
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
