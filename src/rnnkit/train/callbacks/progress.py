"""Progress, on rank 0 and never with ``train.quiet``: a tqdm bar on a terminal; off a
terminal (``nohup``, a log file, CI) plain log lines on stderr.

Off a terminal it prints one line at every epoch end and one every ``interval`` (30 s) of
training, e.g.::

    [rnnkit] epoch 1/10 step 240/1500 (16%)  loss 1.8342  accuracy 0.4120  1,523 items/s  ETA 4m10s  lr 1.00e-03

``items/s`` counts what the loss averages over: examples (classify, regress, forecast) or
tokens (tag, seq2seq, lm, generate). The main metric is the first of the task's training
metrics (``accuracy``, ``nll`` …). Under DDP the figures of a periodic line are rank 0's part
of the epoch so far (no collective is started by a clock).

Every periodic beat (on a terminal too) also hands a *partial* row to the callbacks that
have an ``on_progress_row(trainer, row)`` method — :class:`MetricsCSV` appends it to
``metrics.csv`` with ``partial = 1``, so a long first epoch is visible there. The only host
syncs are the bar's refresh every ``log_every_steps`` and a beat.
"""

from __future__ import annotations

import math
import sys
import time
from typing import Any, Callable, TextIO

from rnnkit.train.callbacks.base import Callback

__all__ = ["Progress", "format_duration"]


def format_duration(seconds: float) -> str:
    """``42s``, ``4m10s``, ``2h05m``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


class Progress(Callback):
    """One bar per epoch on a TTY (loss and lr refreshed every ``log_every_steps``); log lines
    off a TTY; a partial metrics row every ``interval`` seconds of training either way.

    ``stream`` (default: ``sys.stderr`` when training starts) and ``clock`` (default
    ``time.monotonic``) are there for tests."""

    order = 100

    def __init__(self, log_every_steps: int = 20, interval: float = 30.0, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.log_every_steps, self.interval, self.clock = log_every_steps, interval, clock
        self._stream = stream
        self.bar: Any = None
        self.enabled = self.lines = False
        self.stream: TextIO = stream if stream is not None else sys.stderr
        self._last = self._t0 = 0.0
        self._step0 = 0

    # ------------------------------------------------------------------ hooks

    def on_fit_start(self, trainer: Any) -> None:
        self.stream = self._stream if self._stream is not None else sys.stderr
        self.enabled = trainer.is_main and not trainer.config.quiet
        tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.lines = self.enabled and not tty
        self._t0 = self._last = self.clock()
        self._step0 = trainer.state.global_step  # the rate counts this process's steps only

    def on_epoch_start(self, trainer: Any, epoch: int) -> None:
        if not self.enabled:
            return
        self._epoch_t0, self._weight0 = self.clock(), self._weight(trainer)
        if self.lines:
            return
        from tqdm.auto import tqdm

        done = trainer.state.batch_in_epoch // trainer.config.grad_accum if trainer.state.epoch == epoch else 0
        self.bar = tqdm(total=trainer.steps_per_epoch, initial=done, desc=f"epoch {epoch + 1}/{trainer.epochs}",
                        unit="step", leave=False, dynamic_ncols=True, file=self.stream)

    def on_step_end(self, trainer: Any, info: Any) -> None:
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.update(1)
            if info.step % self.log_every_steps == 0:
                self.bar.set_postfix(loss=f"{float(info.loss):.4f}", lr=f"{info.lr:.2e}")
        now = self.clock()
        if now - self._last < self.interval:
            return
        self._last = now
        row = self.partial_row(trainer, info, now)
        if self.lines:
            self._print(self._line(trainer, row, now))
        for cb in trainer.callbacks:
            fn = getattr(cb, "on_progress_row", None)
            if fn is not None:
                fn(trainer, row)

    def on_epoch_end(self, trainer: Any, epoch: int, row: dict[str, float]) -> None:
        self._close()
        if not self.lines:
            return
        self._last = self.clock()
        shown = "  ".join(f"{k} {_num(v)}" for k, v in row.items() if k not in ("epoch", "step", "lr", "seconds"))
        self._print(f"epoch {epoch + 1}/{trainer.epochs} done at step {trainer.state.global_step}  {shown}  "
                    f"lr {row.get('lr', float('nan')):.2e}  ({format_duration(row.get('seconds', float('nan')))})")

    def on_fit_end(self, trainer: Any, result: Any) -> None:
        self._close()

    # ---------------------------------------------------------------- the beat

    def partial_row(self, trainer: Any, info: Any, now: float) -> dict[str, Any]:
        """The epoch so far, from this rank's running sums (no collective): the columns of an
        epoch row that are known mid-epoch, plus ``partial = 1``."""
        row: dict[str, Any] = {"epoch": info.epoch + 1, "step": info.step, "lr": info.lr}
        sums = getattr(trainer, "_sums", None) or {}
        loss = sums.get("loss")
        if loss is not None:
            row.update({f"train_{k}": v for k, v in loss.compute().items()})
        for metric in (sums.get("metrics") or {}).values():
            row.update({f"train_{k}": v for k, v in metric.compute().items()})
        row["seconds"] = now - getattr(self, "_epoch_t0", self._t0)
        row["partial"] = 1
        return row

    def _line(self, trainer: Any, row: dict[str, Any], now: float) -> str:
        cfg, step, epoch = trainer.config, row["step"], row["epoch"]
        per_epoch = trainer.steps_per_epoch
        bounds = [b for b in (cfg.max_steps, per_epoch and per_epoch * trainer.epochs) if b]
        total = min(bounds) if bounds else None
        where = f"step {step}/{total} ({100 * step / total:.0f}%)" if total else f"step {step}"
        parts = [f"epoch {epoch}/{trainer.epochs} {where}"]
        if "train_loss" in row:
            parts.append(f"loss {row['train_loss']:.4f}")
        metric = next((k for k in row if k.startswith("train_") and k != "train_loss"), None)
        if metric is not None:
            parts.append(f"{metric[len('train_'):]} {_num(row[metric])}")
        seconds = row["seconds"]
        weight = self._weight(trainer) - getattr(self, "_weight0", 0.0)
        if seconds > 0 and weight > 0:
            parts.append(f"{weight / seconds:,.0f} items/s")
        elapsed, done = now - self._t0, step - self._step0
        if total and done > 0 and elapsed > 0:
            eta = (total - step) * elapsed / done
            if cfg.max_minutes:
                eta = min(eta, max(0.0, 60.0 * cfg.max_minutes - trainer.elapsed()))
            parts.append(f"ETA {format_duration(eta)}")
        elif cfg.max_minutes:
            parts.append(f"ETA {format_duration(max(0.0, 60.0 * cfg.max_minutes - trainer.elapsed()))}")
        parts.append(f"lr {row['lr']:.2e}")
        return "  ".join(parts)

    @staticmethod
    def _weight(trainer: Any) -> float:
        """What the epoch's loss has averaged over so far on this rank (examples or tokens)."""
        loss = (getattr(trainer, "_sums", None) or {}).get("loss")
        state = getattr(loss, "state", None)
        return 0.0 if state is None else float(state[1])

    def _print(self, text: str) -> None:
        print(f"[rnnkit] {text}", file=self.stream, flush=True)

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _num(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
