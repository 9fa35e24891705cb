"""The Trainer: fit / evaluate / predict for any model, through an Objective.

The loop is small: for each epoch, for each batch of this rank's shard, forward +
backward (loss × 0 on a DDP padding batch), and at every optimizer-step boundary:
clip, step, advance the schedule, record the boundary in ``self.state`` (a
:class:`~rnnkit.train.loop_state.LoopState`, which *is* the checkpoint), run the
callbacks' ``on_step_end`` and ask :meth:`Trainer.should_stop`. Everything else —
time budget, early stopping, checkpoints, metrics.csv, TensorBoard, progress — is a
:class:`~rnnkit.train.callbacks.Callback`.

Exact resume: a checkpoint is taken only at a step boundary and holds the weights,
optimizer, schedule, grad scaler and the LoopState (every rank's RNG streams, data
position, carried recurrent state and running epoch sums). Resuming restores all of
it, asks the batch source for the same epoch and skips the consumed batches, so on
CPU the resumed run ends with bit-identical weights, under DDP too.

Seeding is the caller's: seed once (``rnnkit.train.seed_everything``) before building
the data and the model; fit() does not reseed.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import signal
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.train import checkpoint as ckpt
from rnnkit.train.averaging import WeightEMA
from rnnkit.train import distributed as dist_utils
from rnnkit.train.callbacks import Callback, EarlyStop, default_callbacks
from rnnkit.train.contracts import (FitResult, Objective, StepInfo, StepResult, detach_state, set_epoch,
                                    to_device)
from rnnkit.train import state_io
from rnnkit.train.loop_state import LoopState, capture_rng
from rnnkit.train.metrics import Mean
from rnnkit.train.nonfinite import NonFiniteWatch
from rnnkit.train.optim import build_optimizer, build_schedule
from rnnkit.train.rundir import RunDir
from rnnkit.train.seed import set_rng_state
from rnnkit.train.sharding import ShardView
from rnnkit.train.train_config import TrainConfig

__all__ = ["TrainConfig", "StepResult", "Objective", "Callback", "StepInfo", "FitResult", "Trainer", "detach_state"]

log = logging.getLogger("rnnkit.train")
STOP_REASONS = ("interrupted", "max_steps", "max_time", "early_stopping")  # the first one raised wins
_set_epoch, _to_device = set_epoch, to_device  # old private names


class Trainer:
    """Train, evaluate and predict with ``model`` through ``objective``.

    ``run_dir``: where checkpoints, metrics.csv, model.safetensors (and TensorBoard
    events) go; None trains without writing anything. ``callbacks`` run after the
    defaults built from ``config`` (see :mod:`rnnkit.train.callbacks.base` for the order).
    Under DDP (a process group joined, e.g. :func:`rnnkit.train.distributed.init_distributed`)
    the model is wrapped in DistributedDataParallel, every batch source is sharded
    (:mod:`rnnkit.train.sharding`) and only rank 0 writes.
    """

    def __init__(self, model: nn.Module, objective: Objective, config: TrainConfig | None = None,
                 run_dir: str | Path | RunDir | None = None, callbacks: Sequence[Any] = ()) -> None:
        self.config = cfg = config or TrainConfig()
        self.objective = objective
        self.run_dir = run_dir if isinstance(run_dir, RunDir) or run_dir is None else RunDir(run_dir)
        self.device = _resolve_device(cfg.device)
        self.module = model.to(self.device)
        self.model: nn.Module = dist_utils.wrap_ddp(self.module, self.device)
        self.rank, self.world = dist_utils.rank(), dist_utils.world_size()
        self.is_main = self.rank == 0
        self.optimizer = build_optimizer(self.module.parameters(), cfg.optim)
        # train.ema_decay: the averaged weights are the ones validated, kept as best and saved
        self.average = WeightEMA(self.module, cfg.ema_decay) if cfg.ema_decay is not None else None
        self.schedule: Any = None  # built once by fit(), knowing the run's length
        self._amp_dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(cfg.precision)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.precision == "fp16")
        listed = default_callbacks(cfg) + list(callbacks)
        self.callbacks = sorted(listed, key=lambda cb: getattr(cb, "order", 0))  # stable: ties keep list order
        self.early = next(cb.tracker for cb in self.callbacks if isinstance(cb, EarlyStop))
        self.state = LoopState()
        self.watch = NonFiniteWatch()
        self.resumed = False
        self.steps_per_epoch: int | None = None
        self.epochs = cfg.planned_epochs(None)  # set by fit() once the epoch length is known
        self.last_checkpoint: Path | None = None
        self._stop: set[str] = set()
        self._clock0, self._seconds_before = time.perf_counter(), 0.0
        self._live: dict[str, Any] = {"rng": None, "state": None, "sums": None}  # this rank at the boundary
        self._collectives_ok = True

    # ------------------------------------------------------------------ public API

    @property
    def global_step(self) -> int:
        return self.state.global_step

    @property
    def history(self) -> list[dict[str, float]]:
        return self.state.history

    def deliverable_state(self) -> dict[str, torch.Tensor]:
        """The weights the run hands over (validated, kept as best, saved as model.safetensors):
        the moving average under ``train.ema_decay``, the module's own otherwise."""
        if self.average is not None:
            return self.average.state()
        return self.module.state_dict()

    def request_stop(self, reason: str = "interrupted") -> None:
        """Stop at the next step boundary (Ctrl-C: ``interrupted``, which saves a checkpoint and skips validation)."""
        if reason not in STOP_REASONS:
            raise ConfigError(f"stop reason must be one of {', '.join(STOP_REASONS)}; got {reason!r}")
        self._stop.add(reason)

    def elapsed(self) -> float:
        """Training seconds so far on this process, earlier runs of a resumed training included."""
        return self._seconds_before + time.perf_counter() - self._clock0

    def should_stop(self) -> str | None:
        """Every stop reason raised since the last call, agreed across ranks with one all-reduce
        (which also agrees on the elapsed time the schedule runs on)."""
        cfg, st = self.config, self.state
        if cfg.max_steps and st.global_step >= cfg.max_steps:
            self._stop.add("max_steps")
        *flags, seconds = dist_utils.all_reduce_max([float(r in self._stop) for r in STOP_REASONS] + [self.elapsed()])
        st.train_seconds = seconds
        return next((r for r, f in zip(STOP_REASONS, flags) if f), None)

    def evaluate(self, batches: Iterable[Any]) -> dict[str, float]:
        """Mean loss and the objective's metrics over ``batches``: under DDP each rank scores its
        shard and the sums are all-reduced, so the whole split counts exactly once.

        The recurrent state is carried across batches of the pass and starts as None.
        """
        metrics, loss = self.objective.metrics(), Mean("loss")
        was_training = self.module.training
        self.module.eval()
        view = ShardView(batches, self.rank, self.world, pad=False)
        view.set_epoch(0)
        state = None
        with torch.no_grad():
            for batch, _ in view:
                with self._autocast():
                    res = self.objective(self.module, to_device(batch, self.device), state)
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
        """``objective.predict(model, batch, state) -> (outputs, state)`` for every batch, in order (not sharded)."""
        fn: Callable | None = getattr(self.objective, "predict", None)
        if fn is None:
            raise ConfigError(f"{type(self.objective).__name__} has no predict(model, batch, state) method")
        was_training = self.module.training
        self.module.eval()
        set_epoch(batches, 0)
        outputs, state = [], None
        with torch.no_grad():
            for batch in batches:
                with self._autocast():
                    out, state = fn(self.module, to_device(batch, self.device), state)
                state = detach_state(state)
                outputs.append(to_device(out, torch.device("cpu")))
        self.module.train(was_training)
        return outputs

    def fit(self, train_batches: Iterable[Any], val_batches: Iterable[Any] | None = None,
            resume: bool = False) -> FitResult:
        """Train for ``config.epochs`` (more to reach ``config.min_steps``; or until a stop reason);
        see the module docstring.

        ``resume=True`` continues from the newest good checkpoint in the run directory
        (damaged ones are skipped with a warning). Ctrl-C (SIGINT) saves a checkpoint at
        the next step boundary and returns with ``stop_reason="interrupted"``; a
        KeyboardInterrupt raised mid-step saves the last boundary instead (single process).
        """
        cfg = self.config
        view = ShardView(train_batches, self.rank, self.world, pad=True)
        n = view.known_len()
        self.steps_per_epoch = math.ceil(n / cfg.grad_accum) if n else None
        self.epochs = cfg.planned_epochs(self.steps_per_epoch)  # train.epochs, or more to reach train.min_steps
        bounds = [b for b in (cfg.max_steps, self.steps_per_epoch and self.steps_per_epoch * self.epochs) if b]
        self.schedule = build_schedule(self.optimizer, cfg.schedule, min(bounds) if bounds else None,
                                       60.0 * cfg.max_minutes if cfg.max_minutes else None, cfg.mode)
        self.state = LoopState(sampler_seed=view.seed, world_size=self.world)
        self._stop, self._clock0, self._seconds_before = set(), time.perf_counter(), 0.0
        self.resumed, self._collectives_ok = resume, True
        if self.average is not None:
            self.average.reset()  # from the weights fit() starts with (a resume loads its own below)
        if resume:
            state_io.restore(self, view)
        previous_handler = self._install_sigint()
        self._hooks("on_fit_start")
        stop: str | None = None
        try:
            for epoch in range(self.state.epoch, self.epochs):
                stop = self._train_epoch(view, epoch)
                if stop == "interrupted":
                    break
                self._end_epoch(epoch, val_batches, n)
                stop = stop or self.should_stop()
                if stop:
                    break
        except KeyboardInterrupt:
            stop, self._collectives_ok = "interrupted", not dist_utils.is_distributed()
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        if self.average is not None and stop != "interrupted":
            self.module.load_state_dict(self.average.state())  # end with the averaged weights
        result = FitResult(self.state.history, self.state.global_step, len(self.state.history),
                           stop or "completed", self.early.best, None)  # type: ignore[arg-type]
        self._hooks("on_fit_end", result)
        result.checkpoint = self.last_checkpoint
        if result.interrupted and self.is_main:
            log.warning("interrupted: checkpoint saved%s", f" in {self.last_checkpoint}" if self.last_checkpoint else "")
        return result

    # --------------------------------------------------------------- one epoch

    def _train_epoch(self, view: ShardView, epoch: int) -> str | None:
        cfg, st = self.config, self.state
        start = st.batch_in_epoch if epoch == st.epoch else 0
        view.set_epoch(epoch)
        view.skip(start)
        rng = capture_rng()  # the epoch-start boundary: before iter() draws from it
        it = iter(view)
        if start:  # mid-epoch resume: after iter(), where a DataLoader draws its base seed
            set_rng_state(self._live.pop("resume_rng"))
            state, sums = self._live["state"], self._live["sums"]
        else:
            state, sums = None, {"loss": Mean("loss"), "grad_norms": Mean("grad_norm"),
                                 "metrics": self.objective.metrics()}
        st.epoch, st.batch_in_epoch = epoch, start
        self._sums, self._epoch_t0 = sums, time.perf_counter()
        self._boundary(start, state, None if start else rng)
        self.module.train()
        self._hooks("on_epoch_start", epoch)
        consumed, micro, losses, pad_loss = start, 0, [], None
        for batch, real in it:
            batch = to_device(batch, self.device)
            micro += 1
            sync = micro == cfg.grad_accum or self.model is self.module
            with contextlib.nullcontext() if sync else self.model.no_sync():  # type: ignore[operator]
                with self._autocast():
                    res = self.objective(self.model, batch, state)
                loss = res.loss if real else res.loss * 0.0  # a padding batch: zero gradient, no sums
                self.scaler.scale(loss / cfg.grad_accum).backward()
            if real:
                state = detach_state(res.state)  # the TBPTT cut: no gradient into earlier chunks
                losses.append(res.loss.detach().float())
                sums["loss"].update(losses[-1], res.weight)
                for name, args in res.updates.items():
                    sums["metrics"][name].update(*args)
            else:
                pad_loss = res.loss.detach().float()
            consumed += 1
            if micro == cfg.grad_accum:
                micro, stop = 0, self._step(epoch, consumed, state, losses, pad_loss)
                losses, pad_loss = [], None
                if stop:
                    return stop
        if micro:  # a last, partial accumulation group still counts as a step
            stop = self._step(epoch, consumed, state, losses, pad_loss)
            if stop:
                return stop
        return None

    def _step(self, epoch: int, consumed: int, state: Any, losses: list, pad_loss: Any) -> str | None:
        cfg, st = self.config, self.state
        params = [p for p in self.module.parameters() if p.grad is not None]
        self.scaler.unscale_(self.optimizer)
        # the pre-clip global norm is what we log; max_norm=inf computes it without clipping
        grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.clip_norm or float("inf")).detach()
        if cfg.clip_value is not None:
            torch.nn.utils.clip_grad_value_(params, cfg.clip_value)
        lr = self.optimizer.param_groups[0]["lr"]
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        if self.average is not None:
            self.average.update()
        st.global_step += 1
        self.schedule.elapsed = st.train_seconds  # agreed by every rank at the last boundary
        self.schedule.step()
        loss = torch.stack(losses).mean() if losses else pad_loss
        if losses:
            self._sums["grad_norms"].update(grad_norm.float())
            self.watch.observe(st.global_step, loss, grad_norm)
        st.batch_in_epoch = consumed
        self._boundary(consumed, state)
        if st.global_step % cfg.log_every_steps == 0:
            self.watch.check(self.module, self.last_checkpoint)
        self._hooks("on_step_end", StepInfo(st.global_step, epoch, loss, grad_norm, lr))
        return self.should_stop()

    def _boundary(self, consumed: int, state: Any, rng: tuple | None = None) -> None:
        """Remember this rank's part of the LoopState at a step boundary (no copies, no host sync:
        accumulators replace their state tensor on update, so references stay boundary values)."""
        s = self._sums
        self._live.update(rng=rng or capture_rng(), state=state, sums=None if consumed == 0 else {
            "loss": s["loss"].state, "grad_norms": s["grad_norms"].state,
            "metrics": {k: m.state for k, m in s["metrics"].items()}})

    def _end_epoch(self, epoch: int, val_batches: Iterable[Any] | None, n: int | None) -> None:
        cfg, st = self.config, self.state
        self.watch.check(self.module, self.last_checkpoint)  # before anything is written
        row: dict[str, float] = {"epoch": epoch + 1, "step": st.global_step, "lr": self.optimizer.param_groups[0]["lr"]}
        for m in [self._sums["loss"], *self._sums["metrics"].values()]:
            row.update({f"train_{k}": v for k, v in _reduced(m).compute().items()})
        row["grad_norm"] = _reduced(self._sums["grad_norms"]).compute()["grad_norm"]
        if val_batches is not None:
            with self.average.swapped() if self.average is not None else contextlib.nullcontext():
                row.update({f"val_{k}": v for k, v in self.evaluate(val_batches).items()})
        row["seconds"] = time.perf_counter() - self._epoch_t0
        monitored = row.get(cfg.monitored)
        if monitored is None and (cfg.early_stopping_patience is not None or cfg.restore_best
                                  or cfg.schedule.name == "plateau"):
            why = (" (there is no validation split: give one (--val, or data.val_fraction > 0 in a task run))"
                   if val_batches is None and cfg.monitored.startswith("val_") else "")
            raise ConfigError(f"train.monitor={cfg.monitored!r} is not a logged metric{why}; "
                              f"choose one of {', '.join(k for k in row if k not in ('epoch', 'step'))}")
        if n is None or st.batch_in_epoch >= n:  # the epoch ran to its end (not cut by a stop)
            self.schedule.epoch_end(monitored)
            st.epoch, st.batch_in_epoch = epoch + 1, 0
            self._live.update(rng=capture_rng(), state=None, sums=None)
        st.history.append(row)
        log.info("epoch %d: %s", epoch + 1, "  ".join(f"{k}={v:.4g}" for k, v in row.items() if k != "epoch"))
        self._hooks("on_epoch_end", epoch, row)

    # ----------------------------------------------------- checkpoints and resume

    def save_checkpoint(self) -> Path | None:
        """Write the LoopState at the last step boundary (a collective under DDP: every rank
        calls it at the same point; rank 0 writes). Returns the folder on rank 0."""
        if self.run_dir is None or not self._collectives_ok:
            return None
        self.watch.check(self.module, self.last_checkpoint)
        parts = dist_utils.gather_to_main(state_io.rank_part(self._live))
        if parts is None:
            return None
        st = self.state
        st.train_seconds, st.world_size = self.elapsed(), len(parts)
        for name in ("rng", "recurrent_state", "epoch_sums"):
            setattr(st, name, [p[name] for p in parts])
        st.callbacks = {cb.state_key: sd for cb in self.callbacks
                        if callable(getattr(cb, "state_dict", None)) and (sd := cb.state_dict()) is not None}
        trainer_state = {"loop": st.to_dict(), "optimizer": self.optimizer.state_dict(),
                         "schedule": self.schedule.state_dict(),
                         "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else None,
                         "average": self.average.state_dict() if self.average is not None else None,
                         "train_config": asdict(self.config)}
        path = ckpt.save_checkpoint(self.run_dir.checkpoints_dir, st.global_step, self.module.state_dict(),
                                    trainer_state, keep=self.config.keep_checkpoints)
        self.run_dir.save_weights(self.deliverable_state())
        self.last_checkpoint = path
        return path

    # ----------------------------------------------------------------- plumbing

    def _hooks(self, name: str, *args: Any) -> None:
        for cb in self.callbacks:
            fn = getattr(cb, name, None)
            if fn is not None:
                fn(self, *args)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self._amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self._amp_dtype)

    def _install_sigint(self) -> Any:
        if threading.current_thread() is not threading.main_thread():
            return None

        def handler(signum: int, frame: Any) -> None:
            if "interrupted" in self._stop:  # a second Ctrl-C: stop now
                raise KeyboardInterrupt
            self._stop.add("interrupted")
            log.warning("Ctrl-C: saving a checkpoint at the end of this step (press again to abort now)")

        return signal.signal(signal.SIGINT, handler)


def _resolve_device(name: str) -> torch.device:
    if name == "auto":
        if dist_utils.is_distributed() and torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _reduced(metric: Any) -> Any:
    """A copy of ``metric`` summed over the ranks (the original keeps this rank's sums)."""
    m = copy.copy(metric)
    m.state = None if metric.state is None else metric.state.clone()
    m.all_reduce(dist_utils.reduce_device())
    return m
