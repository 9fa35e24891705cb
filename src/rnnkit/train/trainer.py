"""The Trainer: fit / evaluate / predict for any model, through an Objective.

The Trainer knows nothing about model types. An :class:`Objective` turns one
batch into a loss (plus a weight and metric updates) and, for stateful language
models, takes and returns the recurrent state. The Trainer owns everything
around that: devices, autocast, gradient accumulation, clipping, optimizer and
schedule steps, the carried TBPTT state (detached at every chunk boundary,
reset each epoch), validation, early stopping, metrics.csv, checkpoints, exact
resume, Ctrl-C, progress bars and DDP.

Exact resume: a checkpoint is taken only at an optimizer-step boundary and
holds the weights, optimizer, schedule, grad scaler, Python/NumPy/torch RNG
streams, the data position (epoch, batches consumed, sampler seed), the carried
recurrent state and the running epoch sums. Resuming restores all of it, asks
the batch source for the same epoch and skips the consumed batches, so on CPU
the resumed run ends with bit-identical weights.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import signal
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Literal, Mapping, Optional, Protocol, Sequence

import numpy as np
import torch
from torch import nn

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.train import checkpoint as ckpt
from rnnkit.train import distributed as dist_utils
from rnnkit.train.early_stopping import EarlyStopping
from rnnkit.train.metrics import Mean, Metric
from rnnkit.train.optim import OptimConfig, ScheduleConfig, build_optimizer, build_schedule
from rnnkit.train.rundir import RunDir
from rnnkit.train.seed import rng_state, seed_everything, set_rng_state

__all__ = ["TrainConfig", "StepResult", "Objective", "Callback", "StepInfo", "FitResult", "Trainer", "detach_state"]

log = logging.getLogger("rnnkit.train")


# --------------------------------------------------------------------- contracts


@dataclass
class TrainConfig:
    """Everything the Trainer needs to know; a ``[train]`` table in a recipe."""

    epochs: int = 10
    max_steps: Optional[int] = None  # stop after this many optimizer steps
    max_minutes: Optional[float] = None  # stop once training (validation included) has taken this long; resumes carry it
    grad_accum: int = 1  # micro-batches per optimizer step
    clip_norm: Optional[float] = None  # clip the global grad norm to this
    clip_value: Optional[float] = None  # clip every grad element to ±this
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"  # autocast dtype (fp16 adds a GradScaler)
    seed: int = 0
    deterministic: bool = False
    device: str = "auto"  # "auto" | "cpu" | "cuda" | "cuda:1" ...
    monitor: str = "val_loss"  # metric for early stopping, plateau and restore_best
    monitor_mode: Literal["min", "max"] = "min"
    early_stopping_patience: Optional[int] = None
    early_stopping_min_delta: float = 0.0
    restore_best: bool = False  # end with the best monitored epoch's weights
    checkpoint_every_steps: Optional[int] = None  # besides every epoch end
    keep_checkpoints: int = 3
    log_every_steps: int = 20  # progress-bar refresh (a host sync) every this many steps
    quiet: bool = False
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)

    def __post_init__(self) -> None:
        for name in ("epochs", "grad_accum", "log_every_steps", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be >= 1; got {getattr(self, name)}")
        for name in ("clip_norm", "clip_value", "max_minutes"):
            v = getattr(self, name)
            if v is not None and not v > 0:
                raise ConfigError(f"train.{name} must be > 0 or none; got {v}")


@dataclass
class StepResult:
    """What an Objective returns for one batch.

    loss:    scalar tensor, the *mean* loss of the batch (what backward() sees).
    weight:  how much the batch counts in the epoch's mean loss (examples or tokens).
    updates: metric name → positional args for ``metrics[name].update(*args)``.
    state:   recurrent state to carry into the next batch (stateful LMs), else None.
    """

    loss: torch.Tensor
    weight: float | torch.Tensor = 1.0
    updates: Mapping[str, tuple] = field(default_factory=dict)
    state: Any = None


class Objective(Protocol):
    """Turns batches into losses and metric updates; the only task-specific piece.

    ``__call__`` must run the model through ``model(...)`` (under DDP ``model`` is
    the DistributedDataParallel wrapper). ``state`` is None at the start of every
    epoch and evaluation pass; return the new recurrent state in ``StepResult.state``
    to have it carried (the Trainer detaches it) or None for stateless models.
    """

    def metrics(self) -> dict[str, Metric]:
        """Fresh metric accumulators for one pass (keys match ``StepResult.updates``)."""
        ...

    def __call__(self, model: nn.Module, batch: Any, state: Any) -> StepResult: ...

    # optional, for Trainer.predict:
    # def predict(self, model: nn.Module, batch: Any, state: Any) -> tuple[Any, Any]


@dataclass
class StepInfo:
    """Passed to callbacks after every optimizer step (tensors are detached, on device)."""

    step: int
    epoch: int
    loss: torch.Tensor  # mean loss of the step's micro-batches on this process
    grad_norm: torch.Tensor  # global grad norm before clipping
    lr: float


class Callback(Protocol):
    """Any object with some of these methods; all are optional."""

    def on_step_end(self, trainer: "Trainer", info: StepInfo) -> None: ...

    def on_epoch_end(self, trainer: "Trainer", epoch: int, metrics: dict[str, float]) -> None: ...


@dataclass
class FitResult:
    history: list[dict[str, float]]  # one row per epoch (as in metrics.csv)
    global_step: int
    epochs_completed: int
    stop_reason: Literal["completed", "max_steps", "max_time", "early_stopping", "interrupted"]
    best: float | None
    checkpoint: Path | None  # the last checkpoint written (None without a run dir)

    @property
    def interrupted(self) -> bool:
        return self.stop_reason == "interrupted"


# ------------------------------------------------------------------------ helpers


def detach_state(state: Any) -> Any:
    """Detach every tensor in a (nested tuple/list/dict) recurrent state: the TBPTT cut."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


def _to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, (tuple, list)):
        return type(batch)(_to_device(b, device) for b in batch)
    if isinstance(batch, dict):
        return {k: _to_device(v, device) for k, v in batch.items()}
    if callable(getattr(batch, "to", None)) and not isinstance(batch, nn.Module):
        return batch.to(device, non_blocking=True)  # batch objects such as rnnkit.data.Batch
    return batch


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        if dist_utils.is_distributed() and torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _capture_rng() -> tuple:
    """Raw RNG snapshot, cheap enough to take at every step boundary."""
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() and torch.cuda.is_initialized() else None
    return random.getstate(), np.random.get_state(), torch.get_rng_state(), cuda


def _rng_as_state(raw: tuple) -> dict[str, Any]:
    """Turn a raw snapshot into the form of :func:`rnnkit.train.seed.rng_state`."""
    now = (random.getstate(), np.random.get_state(), torch.get_rng_state())
    random.setstate(raw[0])
    np.random.set_state(raw[1])
    torch.set_rng_state(raw[2])
    state = rng_state()
    if raw[3] is not None:
        state["cuda"] = raw[3]
    random.setstate(now[0])
    np.random.set_state(now[1])
    torch.set_rng_state(now[2])
    return state


# ------------------------------------------------------------------------ trainer


class Trainer:
    """Train, evaluate and predict with ``model`` through ``objective``.

    ``run_dir``: where checkpoints, metrics.csv, model.safetensors (and TensorBoard
    events) go; None trains without writing anything. Under DDP (see
    :mod:`rnnkit.train.distributed`) the model is wrapped in DistributedDataParallel
    and only rank 0 writes.
    """

    def __init__(
        self,
        model: nn.Module,
        objective: Objective,
        config: TrainConfig | None = None,
        run_dir: str | Path | RunDir | None = None,
        callbacks: Sequence[Any] = (),
    ) -> None:
        self.config = config or TrainConfig()
        self.objective = objective
        self.callbacks = list(callbacks)
        self.run_dir = run_dir if isinstance(run_dir, RunDir) or run_dir is None else RunDir(run_dir)
        self.device = _resolve_device(self.config.device)
        self.module = model.to(self.device)
        self.model: nn.Module = self.module
        if dist_utils.is_distributed():
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.model = DistributedDataParallel(self.module, device_ids=ids)
        self.optimizer = build_optimizer(self.module.parameters(), self.config.optim)
        self.schedule = build_schedule(self.optimizer, _no_cosine(self.config.schedule))
        amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.config.precision)
        self._amp_dtype = amp_dtype
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.config.precision == "fp16")
        self.early = EarlyStopping(self.config.monitor_mode, self.config.early_stopping_patience,
                                   self.config.early_stopping_min_delta)
        self.global_step = 0
        self.epoch = 0
        self.history: list[dict[str, float]] = []
        self._stop_requested = False
        self._best_weights: dict[str, torch.Tensor] | None = None
        self._last_checkpoint: Path | None = None
        self._is_main = dist_utils.is_main_process()

    # ------------------------------------------------------------------ public API

    def request_stop(self) -> None:
        """Ask fit() to save a checkpoint and return at the next step boundary (what Ctrl-C does)."""
        self._stop_requested = True

    def evaluate(self, batches: Iterable[Any]) -> dict[str, float]:
        """Mean loss and the objective's metrics over ``batches`` (all-reduced under DDP).

        The recurrent state is carried across batches of the pass and starts as None.
        """
        metrics = self.objective.metrics()
        loss = Mean("loss")
        was_training = self.module.training
        self.module.eval()
        _set_epoch(batches, 0)
        state = None
        with torch.no_grad():
            for batch in batches:
                batch = _to_device(batch, self.device)
                with self._autocast():
                    res = self.objective(self.module, batch, state)
                state = detach_state(res.state)
                loss.update(res.loss.detach().float(), res.weight)
                for name, args in res.updates.items():
                    metrics[name].update(*args)
        self.module.train(was_training)
        out: dict[str, float] = {}
        for m in [loss, *metrics.values()]:
            m.all_reduce(dist_utils.reduce_device())
            out.update(m.compute())
        return out

    def predict(self, batches: Iterable[Any]) -> list[Any]:
        """``objective.predict(model, batch, state) -> (outputs, state)`` for every batch, in order."""
        if not hasattr(self.objective, "predict"):
            raise ConfigError(f"{type(self.objective).__name__} has no predict(model, batch, state) method")
        was_training = self.module.training
        self.module.eval()
        _set_epoch(batches, 0)
        outputs, state = [], None
        with torch.no_grad():
            for batch in batches:
                with self._autocast():
                    out, state = self.objective.predict(self.module, _to_device(batch, self.device), state)  # type: ignore[attr-defined]
                state = detach_state(state)
                outputs.append(_to_device(out, torch.device("cpu")))
        self.module.train(was_training)
        return outputs

    def fit(self, train_batches: Iterable[Any], val_batches: Iterable[Any] | None = None,
            resume: bool = False) -> FitResult:
        """Train for ``config.epochs`` (or ``max_steps``); see the module docstring.

        ``resume=True`` continues from the newest good checkpoint in the run
        directory (damaged ones are skipped with a warning). Ctrl-C (SIGINT) saves
        a checkpoint at the next step boundary and returns with
        ``stop_reason="interrupted"``; a KeyboardInterrupt raised mid-step saves
        the state of the last boundary instead.
        """
        cfg = self.config
        seed_everything(cfg.seed, cfg.deterministic)
        n_batches = len(train_batches) if hasattr(train_batches, "__len__") else None  # type: ignore[arg-type]
        steps_per_epoch = math.ceil(n_batches / cfg.grad_accum) if n_batches else None
        total = cfg.max_steps or (steps_per_epoch * cfg.epochs if steps_per_epoch else None)
        self.schedule = build_schedule(self.optimizer, cfg.schedule, total)

        self._sampler_seed = getattr(train_batches, "seed", None)
        self._fit_start, self._seconds_before = time.perf_counter(), 0.0
        start_epoch, start_batch, pending = 0, 0, None
        if resume:
            start_epoch, start_batch, pending = self._restore(train_batches)

        previous_handler = self._install_sigint()
        stop_reason = "completed"
        self._boundary: dict[str, Any] | None = None
        try:
            for epoch in range(start_epoch, cfg.epochs):
                self.epoch = epoch
                reason = self._train_epoch(train_batches, epoch, start_batch if epoch == start_epoch else 0,
                                           pending if epoch == start_epoch else None, n_batches)
                pending = None
                if reason == "interrupted":
                    stop_reason = reason
                    break
                self._end_epoch(epoch, val_batches, epoch_done=reason not in ("max_steps", "max_time"))
                if reason in ("max_steps", "max_time"):
                    stop_reason = reason
                    break
                if self.early.should_stop:
                    stop_reason = "early_stopping"
                    log.info("early stopping: %s did not improve for %d epochs (best %.6g at epoch %d)",
                             cfg.monitor, self.early.bad_epochs, self.early.best, (self.early.best_epoch or 0) + 1)
                    break
        except KeyboardInterrupt:
            stop_reason = "interrupted"
            if self._boundary is not None:
                self._save(self._boundary)
        finally:
            self._restore_sigint(previous_handler)
        if stop_reason == "interrupted":
            log.warning("interrupted: checkpoint saved%s", f" in {self._last_checkpoint}" if self._last_checkpoint else "")
        if cfg.restore_best and self._best_weights is not None and stop_reason != "interrupted":
            self.module.load_state_dict(self._best_weights)
        if self.run_dir is not None and self._is_main:
            self.run_dir.save_weights(self.module.state_dict())
            self.run_dir.close()
        return FitResult(self.history, self.global_step, len(self.history), stop_reason,  # type: ignore[arg-type]
                         self.early.best, self._last_checkpoint)

    # --------------------------------------------------------------- one epoch

    def _train_epoch(self, batches: Iterable[Any], epoch: int, start: int, pending: dict | None,
                     n_batches: int | None) -> str:
        cfg = self.config
        _set_epoch(batches, epoch)
        if start:
            if hasattr(batches, "skip"):
                batches.skip(start)  # type: ignore[attr-defined]
                it = iter(batches)
            else:  # no skip(): draw and discard the consumed batches
                it = iter(batches)
                for _ in range(start):
                    next(it)
        else:
            it = iter(batches)
        if pending is not None:  # mid-epoch resume: the rest of the saved position
            state, self._epoch_loss, self._epoch_metrics = pending["state"], pending["loss"], pending["metrics"]
            self._grad_norms = pending["grad_norms"]
            set_rng_state(pending["rng"])  # after iter(): DataLoader draws its base seed there
        else:
            state, self._epoch_loss, self._epoch_metrics = None, Mean("loss"), self.objective.metrics()
            self._grad_norms = Mean("grad_norm")
        self._epoch_start_time = time.perf_counter()
        self.module.train()
        consumed = start
        micro = 0
        step_losses: list[torch.Tensor] = []
        bar = self._progress(n_batches, start, epoch)
        self._boundary = self._snapshot(epoch, consumed, state)
        weight_seen = 0.0
        t0 = time.perf_counter()
        try:
            for batch in it:
                batch = _to_device(batch, self.device)
                micro += 1
                boundary = micro == cfg.grad_accum
                sync_ctx = (self.model.no_sync() if not boundary and self.model is not self.module  # type: ignore[operator]
                            else contextlib.nullcontext())
                with sync_ctx:
                    with self._autocast():
                        res = self.objective(self.model, batch, state)
                    self.scaler.scale(res.loss / cfg.grad_accum).backward()
                state = detach_state(res.state)  # the TBPTT cut: no gradient into earlier chunks
                loss = res.loss.detach().float()
                step_losses.append(loss)
                self._epoch_loss.update(loss, res.weight)
                for name, args in res.updates.items():
                    self._epoch_metrics[name].update(*args)
                consumed += 1
                weight_seen += float(res.weight) if not isinstance(res.weight, torch.Tensor) else 0.0
                if bar is not None:
                    bar.update(1)
                if boundary:
                    micro = 0
                    self._optimizer_step(torch.stack(step_losses).mean(), epoch)
                    step_losses = []
                    self._boundary = self._snapshot(epoch, consumed, state)
                    if bar is not None and self.global_step % cfg.log_every_steps == 0:
                        rate = weight_seen / max(time.perf_counter() - t0, 1e-9)
                        bar.set_postfix(loss=f"{self._epoch_loss.compute()['loss']:.4f}",
                                        lr=f"{self.optimizer.param_groups[0]['lr']:.2e}",
                                        **({"items/s": f"{rate:.0f}"} if weight_seen else {}))
                    if self._should_stop():
                        self._save(self._boundary)
                        return "interrupted"
                    if cfg.checkpoint_every_steps and self.global_step % cfg.checkpoint_every_steps == 0:
                        self._save(self._boundary)
                    if cfg.max_steps and self.global_step >= cfg.max_steps:
                        return "max_steps"
                    if self._out_of_time():
                        return "max_time"
            if micro:  # a last, partial accumulation group still counts as a step
                self._optimizer_step(torch.stack(step_losses).mean(), epoch)
                self._boundary = self._snapshot(epoch, consumed, state)
                if cfg.max_steps and self.global_step >= cfg.max_steps:
                    return "max_steps"
                if self._out_of_time():
                    return "max_time"
        finally:
            if bar is not None:
                bar.close()
        return "epoch"

    def _optimizer_step(self, loss: torch.Tensor, epoch: int) -> None:
        cfg = self.config
        params = [p for p in self.module.parameters() if p.grad is not None]
        self.scaler.unscale_(self.optimizer)
        # the pre-clip global norm is what we log; max_norm=inf computes it without clipping
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm or float("inf"))
        if cfg.clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        self.schedule.step()
        self.global_step += 1
        self._grad_norms.update(grad_norm.detach().float())
        if self.callbacks:
            info = StepInfo(self.global_step, epoch, loss, grad_norm.detach(), self.optimizer.param_groups[0]["lr"])
            for cb in self.callbacks:
                if hasattr(cb, "on_step_end"):
                    cb.on_step_end(self, info)

    def _end_epoch(self, epoch: int, val_batches: Iterable[Any] | None, epoch_done: bool) -> dict[str, float]:
        cfg = self.config
        row: dict[str, float] = {"epoch": epoch + 1, "step": self.global_step,
                                 "lr": self.optimizer.param_groups[0]["lr"]}
        for m in [self._epoch_loss, *self._epoch_metrics.values()]:
            m.all_reduce(dist_utils.reduce_device())
            row.update({f"train_{k}": v for k, v in m.compute().items()})
        self._grad_norms.all_reduce(dist_utils.reduce_device())
        row["grad_norm"] = self._grad_norms.compute()["grad_norm"]
        if val_batches is not None:
            row.update({f"val_{k}": v for k, v in self.evaluate(val_batches).items()})
        row["seconds"] = time.perf_counter() - self._epoch_start_time
        monitored = row.get(cfg.monitor)
        needs_monitor = cfg.early_stopping_patience is not None or cfg.restore_best or cfg.schedule.name == "plateau"
        if monitored is None and needs_monitor:
            raise ConfigError(f"train.monitor={cfg.monitor!r} is not a logged metric; "
                              f"choose one of {', '.join(k for k in row if k not in ('epoch', 'step'))}")
        if epoch_done:
            self.schedule.epoch_end(monitored)
        if monitored is not None and self.early.update(monitored, epoch) and cfg.restore_best:
            self._best_weights = {k: v.detach().cpu().clone() for k, v in self.module.state_dict().items()}
            if self.run_dir is not None and self._is_main:
                self.run_dir.save_weights(self._best_weights, "best.safetensors")
        self.history.append(row)
        log.info("epoch %d: %s", epoch + 1, "  ".join(f"{k}={v:.4g}" for k, v in row.items()
                                                         if k not in ("epoch",)))
        if self.run_dir is not None and self._is_main:
            self.run_dir.append_metrics(row)
            tb = self.run_dir.tensorboard()
            if tb is not None:
                for k, v in row.items():
                    if k not in ("epoch", "step"):
                        tb.add_scalar(k, v, self.global_step)
        for cb in self.callbacks:
            if hasattr(cb, "on_epoch_end"):
                cb.on_epoch_end(self, epoch, row)
        position = self._snapshot(epoch + 1, 0, None) if epoch_done else self._boundary
        self._save(position)
        return row

    # ----------------------------------------------------- checkpoints and resume

    def _snapshot(self, epoch: int, consumed: int, state: Any) -> dict[str, Any]:
        """Everything about *now* that is not in the model/optimizer objects."""
        return {
            "epoch": epoch, "batch_in_epoch": consumed, "state": state, "rng": _capture_rng(),
            # references, not copies: accumulators replace their state tensor on update,
            # and converting to lists here would cost a host sync every step
            "loss": None if consumed == 0 else self._epoch_loss.state,
            "metrics": None if consumed == 0 else {k: m.state for k, m in self._epoch_metrics.items()},
            "grad_norms": None if consumed == 0 else self._grad_norms.state,
        }

    def _save(self, snap: dict[str, Any]) -> Path | None:
        if self.run_dir is None or not self._is_main:
            return None
        cfg = self.config
        trainer_state = {
            "global_step": self.global_step,
            "train_seconds": self._train_seconds(),
            "data": {"epoch": snap["epoch"], "batch_in_epoch": snap["batch_in_epoch"],
                     "sampler_seed": getattr(self, "_sampler_seed", None)},
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
            "early_stopping": self.early.state_dict(),
            "rng": _rng_as_state(snap["rng"]),
            "recurrent_state": snap["state"],
            "epoch_sums": {
                "loss": _sums(snap["loss"]), "grad_norms": _sums(snap["grad_norms"]),
                "metrics": None if snap["metrics"] is None else {k: _sums(v) for k, v in snap["metrics"].items()},
            },
            "history": self.history,
            "train_config": asdict(cfg),
        }
        path = ckpt.save_checkpoint(self.run_dir.checkpoints_dir, self.global_step, self.module.state_dict(),
                                    trainer_state, keep=cfg.keep_checkpoints)
        self.run_dir.save_weights(self.module.state_dict())
        self._last_checkpoint = path
        return path

    def _restore(self, train_batches: Iterable[Any]) -> tuple[int, int, dict | None]:
        if self.run_dir is None:
            raise ConfigError("resume=True needs a run_dir to resume from; got run_dir=None")
        c = ckpt.load_latest(self.run_dir.checkpoints_dir)
        try:
            self.module.load_state_dict(c.model_state)
        except RuntimeError as exc:
            raise CheckpointError(f"{c.path / ckpt.MODEL_FILE} does not fit the model: {exc}") from None
        s = c.trainer_state
        self.optimizer.load_state_dict(s["optimizer"])
        self.schedule.load_state_dict(s["schedule"])
        if s["scaler"] is not None:
            self.scaler.load_state_dict(s["scaler"])
        self.early.load_state_dict(s["early_stopping"])
        self.global_step = int(s["global_step"])
        self._seconds_before = float(s.get("train_seconds", 0.0))  # checkpoints before max_minutes lack it
        self.history = list(s["history"])
        if self.config.restore_best and self.run_dir is not None and (self.run_dir.path / "best.safetensors").exists():
            self._best_weights = self.run_dir.load_weights("best.safetensors")
        data = s["data"]
        seed = getattr(train_batches, "seed", None)
        if data["sampler_seed"] is not None and seed is not None and seed != data["sampler_seed"]:
            log.warning("resuming with sampler seed %s but the checkpoint was written with %s: "
                        "the data order will differ", seed, data["sampler_seed"])
        self._last_checkpoint = c.path
        log.info("resumed from %s (step %d, epoch %d, batch %d)", c.path, self.global_step,
                 data["epoch"] + 1, data["batch_in_epoch"])
        if data["batch_in_epoch"] == 0:
            set_rng_state(s["rng"])
            return int(data["epoch"]), 0, None
        sums = s["epoch_sums"]
        loss, metrics = Mean("loss"), self.objective.metrics()
        loss.load_state_dict(sums["loss"])
        for k, m in metrics.items():
            m.load_state_dict(sums["metrics"][k])
        grad_norms = Mean("grad_norm")
        grad_norms.load_state_dict(sums["grad_norms"])
        state = _to_device(s["recurrent_state"], self.device)
        return int(data["epoch"]), int(data["batch_in_epoch"]), {
            "state": state, "loss": loss, "metrics": metrics, "grad_norms": grad_norms, "rng": s["rng"]}

    # ----------------------------------------------------------------- plumbing

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self._amp_dtype)

    def _progress(self, total: int | None, initial: int, epoch: int) -> Any:
        """A tqdm bar with throughput and ETA; None when quiet, not on a TTY or not rank 0."""
        if self.config.quiet or not self._is_main or not sys.stderr.isatty():
            return None
        from tqdm.auto import tqdm

        return tqdm(total=total, initial=initial, desc=f"epoch {epoch + 1}/{self.config.epochs}",
                    unit="batch", leave=False, dynamic_ncols=True)

    def _should_stop(self) -> bool:
        return self._any_rank(self._stop_requested)

    def _train_seconds(self) -> float:
        """Training time so far, earlier runs of a resumed training included."""
        return self._seconds_before + time.perf_counter() - self._fit_start

    def _out_of_time(self) -> bool:
        if self.config.max_minutes is None:
            return False
        return self._any_rank(self._train_seconds() >= 60.0 * self.config.max_minutes)

    @staticmethod
    def _any_rank(flag: bool) -> bool:
        if not dist_utils.is_distributed():
            return flag
        # every rank must stop at the same step, or the next all-reduce hangs
        t = torch.tensor([1.0 if flag else 0.0], device=dist_utils.reduce_device())
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        return bool(t.item())

    def _install_sigint(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None
        self._stop_requested = False

        def handler(signum: int, frame: Any) -> None:
            if self._stop_requested:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            self._stop_requested = True
            log.warning("Ctrl-C: saving a checkpoint at the end of this step (press again to abort now)")

        return signal.signal(signal.SIGINT, handler)

    def _restore_sigint(self, previous: Any) -> None:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


def _sums(state: torch.Tensor | None) -> dict[str, Any]:
    return {"state": None if state is None else state.cpu().tolist()}


def _set_epoch(batches: Any, epoch: int) -> None:
    """``set_epoch`` on the batch source, or on a DataLoader's batch_sampler / sampler."""
    for obj in (batches, getattr(batches, "batch_sampler", None), getattr(batches, "sampler", None)):
        if obj is not None and hasattr(obj, "set_epoch"):
            obj.set_epoch(epoch)
            return


def _no_cosine(cfg: ScheduleConfig) -> ScheduleConfig:
    """A placeholder schedule until fit() knows the run's length (cosine needs it)."""
    from dataclasses import replace

    return replace(cfg, name="constant") if cfg.name == "cosine" else cfg
