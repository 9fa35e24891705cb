"""Reading and writing the Trainer's checkpoint state (the LoopState plus optimizer, schedule,
scaler and callback states); every field read back is validated."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable

import torch

from rnnkit.errors import CheckpointError, ConfigError
from rnnkit.train import checkpoint as ckpt
from rnnkit.train.contracts import to_device
from rnnkit.train.loop_state import LoopState, rng_as_state
from rnnkit.train.metrics import Mean
from rnnkit.train.seed import set_rng_state

__all__ = ["rank_part", "restore"]

log = logging.getLogger("rnnkit.train")


def rank_part(live: dict[str, Any]) -> dict[str, Any]:
    """This rank's share of the LoopState at the last boundary, in checkpoint form."""
    sums = live["sums"]
    return {"rng": rng_as_state(live["rng"]), "recurrent_state": to_device(live["state"], torch.device("cpu")),
            "epoch_sums": None if sums is None else {
                "loss": _sums(sums["loss"]), "grad_norms": _sums(sums["grad_norms"]),
                "metrics": {k: _sums(v) for k, v in sums["metrics"].items()}}}


def restore(trainer: Any, view: Any) -> None:
    """Load the newest good checkpoint of ``trainer.run_dir`` into the trainer (weights, optimizer,
    schedule, scaler, callbacks, LoopState); every field is validated."""
    if trainer.run_dir is None:
        raise ConfigError("resume=True needs a run_dir to resume from; got run_dir=None")
    c = ckpt.load_latest(trainer.run_dir.checkpoints_dir)
    src = c.path / ckpt.STATE_FILE
    try:
        trainer.module.load_state_dict(c.model_state)
    except RuntimeError as exc:
        raise CheckpointError(f"{c.path / ckpt.MODEL_FILE} does not fit the model: {exc}") from None
    s = c.trainer_state
    loop = LoopState.from_dict(s.get("loop") if isinstance(s, dict) else None, src)
    _load(trainer.optimizer.load_state_dict, s, "optimizer", src)
    _load(trainer.schedule.load_state_dict, s, "schedule", src)
    if s.get("scaler") is not None:
        _load(trainer.scaler.load_state_dict, s, "scaler", src)
    if trainer.average is not None:
        if s.get("average") is None:
            log.warning("%s holds no weight average (train.ema_decay was not set when it was written): "
                        "the average starts again from the resumed weights", src)
            trainer.average.reset()
        else:
            _load(trainer.average.load_state_dict, s, "average", src)
    elif s.get("average") is not None:
        log.warning("%s holds a weight average but train.ema_decay is none now: training goes on "
                    "without it, from the checkpoint's training weights", src)
    for cb in trainer.callbacks:
        key = getattr(cb, "state_key", None)
        if key in loop.callbacks:
            _load(cb.load_state_dict, loop.callbacks, key, src)
    if loop.world_size != trainer.world:
        log.warning("the checkpoint was written by %d processes and %d are running: the data order and "
                    "random streams differ from the original run", loop.world_size, trainer.world)
    i = trainer.rank if trainer.rank < loop.world_size else 0
    if loop.sampler_seed is not None and view.seed is not None and view.seed != loop.sampler_seed:
        log.warning("resuming with sampler seed %s but the checkpoint was written with %s: "
                    "the data order will differ", view.seed, loop.sampler_seed)
    trainer.state, trainer.last_checkpoint = loop, c.path
    trainer._seconds_before = loop.train_seconds
    log.info("resumed from %s (step %d, epoch %d, batch %d)", c.path, loop.global_step, loop.epoch + 1,
             loop.batch_in_epoch)
    if loop.batch_in_epoch == 0:
        set_rng_state(loop.rng[i])
        return
    sums = {"loss": Mean("loss"), "grad_norms": Mean("grad_norm"), "metrics": trainer.objective.metrics()}
    saved = loop.epoch_sums[i]
    try:
        sums["loss"].load_state_dict(saved["loss"])
        sums["grad_norms"].load_state_dict(saved["grad_norms"])
        for k, m in sums["metrics"].items():
            m.load_state_dict(saved["metrics"][k])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(f"{src}: field loop.epoch_sums[{i}] does not fit the objective's metrics "
                              f"({type(exc).__name__}: {exc})") from None
    trainer._live = {"resume_rng": loop.rng[i], "state": to_device(loop.recurrent_state[i], trainer.device),
                  "sums": sums}


def _sums(state: torch.Tensor | None) -> dict[str, Any]:
    return {"state": None if state is None else state.cpu().tolist()}


def _load(fn: Callable[[Any], None], table: Any, key: str, src: Path) -> None:
    """``fn(table[key])``, any failure a CheckpointError naming the file and the field."""
    if not isinstance(table, dict) or key not in table:
        raise CheckpointError(f"{src}: field {key} is missing")
    try:
        fn(table[key])
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as exc:
        raise CheckpointError(f"{src}: field {key} cannot be restored ({type(exc).__name__}: {exc})") from None
