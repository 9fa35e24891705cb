"""One minGRU / minLSTM layer's recurrence through the compiled kernel ``kernels/min_recurrence.c``.

:class:`MinNativeScan` computes exactly what :class:`rnnkit.nn.min_rnn._MinScan` computes (keep
logit ``u`` and candidate pre-activation ``k_h`` (B, T, H), ``h0`` (B, H) -> h (B, T, H), and the
gradients of both), but in one pass over time forward and one backward, with the gate math fused
into the pass, instead of the blocked scan's ~3 sqrt(T) kernel calls plus a dozen elementwise
passes over (B, T, H). It saves only ``u``, ``k_h`` and ``h`` and recomputes the gates in the
backward pass. CPU, float32 and float64 only; :func:`native_ready` tells whether it can run, and
:class:`~rnnkit.nn.min_rnn.MinRecurrent` falls back to the blocked scan otherwise. With more than one
torch thread the batch is split across that many threads (ctypes releases the GIL).
"""

from __future__ import annotations

import ctypes
import os
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import Tensor

from rnnkit.nn import native

__all__ = ["MinNativeScan", "native_ready", "KERNEL"]

KERNEL = "min_recurrence"
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
_pools: dict[tuple[int, int], ThreadPoolExecutor] = {}


def native_ready(x: Tensor) -> bool:
    """Whether the compiled kernel can run for tensors like ``x`` (CPU, float32/float64, kernel built)."""
    return x.device.type == "cpu" and x.dtype in _SUFFIX and native.load(KERNEL) is not None


def _function(name: str, dtype: torch.dtype, pointers: int):
    fn = getattr(native.load(KERNEL), f"{name}_{_SUFFIX[dtype]}")
    if fn.argtypes is None:
        fn.argtypes = [ctypes.c_void_p] * pointers + [ctypes.c_long] * 4
        fn.restype = ctypes.c_int if name == "min_backward" else None
    return fn


def _run(name: str, tensors: tuple[Tensor, ...], B: int, T: int, H: int) -> None:
    """Call ``name`` over batch rows [0, B), split into one range per torch thread."""
    fn = _function(name, tensors[0].dtype, len(tensors))
    ptrs = [t.data_ptr() for t in tensors]
    workers = min(torch.get_num_threads(), B)
    bounds = [B * i // workers for i in range(workers + 1)]
    if workers == 1:
        results = [fn(*ptrs, 0, B, T, H)]
    else:
        key = (os.getpid(), workers)  # a forked child (DataLoader workers, DDP) gets its own threads
        pool = _pools.get(key) or _pools.setdefault(key, ThreadPoolExecutor(workers, "rnnkit-min"))
        results = list(pool.map(lambda i: fn(*ptrs, bounds[i], bounds[i + 1], T, H), range(workers)))
    if any(results):
        raise MemoryError(f"{name}: the kernel could not allocate its {2 * H}-number work buffer")


class MinNativeScan(torch.autograd.Function):
    """``(u, k_h, h0) -> h`` through the compiled kernel; see the module docstring."""

    @staticmethod
    def forward(ctx, u: Tensor, k_h: Tensor, h0: Tensor) -> Tensor:
        u, k_h, h0 = u.contiguous(), k_h.contiguous(), h0.contiguous()
        B, T, H = u.shape
        h = torch.empty_like(u)
        _run("min_forward", (u, k_h, h0, h), B, T, H)
        if any(ctx.needs_input_grad):
            ctx.save_for_backward(u, k_h, h0, h)
        return h

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_h: Tensor):
        u, k_h, h0, h = ctx.saved_tensors
        B, T, H = u.shape
        du, dk, dh0 = torch.empty_like(u), torch.empty_like(k_h), torch.empty_like(h0)
        _run("min_backward", (u, k_h, h0, h, grad_h.contiguous(), du, dk, dh0), B, T, H)
        return du, dk, dh0
