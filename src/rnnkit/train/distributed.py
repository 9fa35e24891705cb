"""Multi-process training with DistributedDataParallel, started by ``torchrun``.

``torchrun --nproc_per_node=N`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them and
joins the process group (nccl when CUDA is available, else gloo). Without
those variables everything here degrades to a single process, so the same code
runs on a laptop and on many GPUs. Rank 0 alone logs, writes checkpoints and
metrics; every rank reads its shard of the data, cut by the Trainer
(:mod:`rnnkit.train.sharding`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = [
    "DistInfo",
    "init_distributed",
    "teardown",
    "is_distributed",
    "rank",
    "world_size",
    "is_main_process",
    "barrier",
    "all_reduce_mean",
    "shard_slice",
    "reduce_device",
    "quiet_non_main_logging",
    "all_reduce_max",
    "gather_to_main",
    "wrap_ddp",
]


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None  # None when running as a single process


def init_distributed(backend: str | None = None, device: str | None = None) -> DistInfo:
    """Join the process group described by torchrun's environment variables.

    ``backend``: "gloo" or "nccl"; default nccl when CUDA is available, else gloo.
    ``device``: "cpu"/"cuda"; default cuda:LOCAL_RANK when available. With
    WORLD_SIZE unset or 1 no group is created and rank 0 of 1 is returned.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rnk = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available() if device is None else device.startswith("cuda")
    dev = torch.device(f"cuda:{local}" if use_cuda else "cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if world <= 1:
        return DistInfo(0, 1, 0, dev, None)
    backend = backend or ("nccl" if use_cuda else "gloo")
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rnk, world_size=world)
    quiet_non_main_logging()
    return DistInfo(rnk, world, local, dev, backend)


def teardown() -> None:
    """Leave the process group (safe to call when none was joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def is_distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return rank() == 0


def barrier() -> None:
    if is_distributed():
        dist.barrier()


def reduce_device() -> torch.device:
    """The device a tensor must be on for a collective: cuda for nccl, cpu for gloo."""
    if is_distributed() and dist.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def all_reduce_mean(value: torch.Tensor) -> torch.Tensor:
    """Mean of ``value`` over all processes (itself when single-process)."""
    if not is_distributed():
        return value
    t = value.detach().to(reduce_device(), torch.float64).clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return (t / dist.get_world_size()).to(value.device)


def shard_slice(n: int, rank: int, world_size: int) -> slice:
    """The contiguous part of ``n`` items that ``rank`` of ``world_size`` owns.

    ``n`` must divide evenly (every rank must take the same number of steps under
    DDP, or the collective in backward() hangs): callers drop or pad the rest.
    """
    per = n // world_size
    return slice(rank * per, (rank + 1) * per)


def all_reduce_max(values: list[float]) -> list[float]:
    """Element-wise max of ``values`` over all processes: one collective (itself when single-process)."""
    if not is_distributed():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=reduce_device())
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def gather_to_main(obj: object) -> list | None:
    """Every rank's ``obj`` as a list on rank 0 (index = rank), None on the others.

    A collective: every rank must call it at the same point. Single-process: ``[obj]``.
    """
    if not is_distributed():
        return [obj]
    out: list | None = [None] * dist.get_world_size() if is_main_process() else None
    dist.gather_object(obj, out, dst=0)
    return out


def wrap_ddp(module: torch.nn.Module, device: torch.device) -> torch.nn.Module:
    """``module`` in DistributedDataParallel under DDP, else ``module`` itself."""
    if not is_distributed():
        return module
    from torch.nn.parallel import DistributedDataParallel

    return DistributedDataParallel(module, device_ids=[device.index] if device.type == "cuda" else None)


class _MainOnly(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003
        return is_main_process()


def quiet_non_main_logging(logger_name: str = "rnnkit") -> None:
    """Drop rnnkit log records on every rank but 0 (idempotent)."""
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, _MainOnly) for f in logger.filters):
        logger.addFilter(_MainOnly())
