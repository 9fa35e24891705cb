"""The time loops of the ``cpu_fused`` path through the compiled kernel ``kernels/rnn_steps.c``.

:mod:`rnnkit.nn.cpu_fused` computes everything around the loops (the input projection of all
steps, the weight gradients, ``dx``) as large torch GEMMs; what is left is one small GEMM and a few
elementwise ops per step, whose dispatch from Python costs more than their arithmetic at small
shapes. These functions run those loops in C instead: one BLAS call and one fused pass over the
gates per step. The BLAS is the one torch itself links (its exported ``sgemm_``/``dgemm_``, MKL on
x86 builds), so the GEMMs are the same kind that torch's own ops would run.

CPU, float32 and float64 only (bf16 GEMMs stay on the torch-ops loops). :func:`ready` says whether
the kernel can run; when it cannot (no compiler, ``RNNKIT_NATIVE=0``, a torch build whose library
exports no ``sgemm_``), :func:`why_not` gives the reason and ``cpu_fused`` keeps its torch-ops loops,
which compute the same numbers.
"""

from __future__ import annotations

import ctypes
import logging
from pathlib import Path

import torch
from torch import Tensor

from rnnkit.nn import native

__all__ = ["ready", "why_not", "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "gru_forward",
           "gru_backward", "KERNEL"]

KERNEL = "rnn_steps"
_SUFFIX = {torch.float32: "f32", torch.float64: "f64"}
_GEMM_SYMBOL = {torch.float32: "sgemm_", torch.float64: "dgemm_"}
_gemm: dict[torch.dtype, int] | None = None
_gemm_reason: str | None = None
log = logging.getLogger("rnnkit.nn")


def _find_gemm() -> None:
    """Addresses of torch's exported BLAS GEMMs (once per process)."""
    global _gemm, _gemm_reason
    if _gemm is not None or _gemm_reason is not None:
        return
    libs = sorted((Path(torch.__file__).parent / "lib").glob("libtorch_cpu.*"))
    if not libs:
        _gemm_reason = "torch's libtorch_cpu library was not found"
        return
    try:
        lib = ctypes.CDLL(str(libs[0]))
        _gemm = {dt: ctypes.cast(getattr(lib, name), ctypes.c_void_p).value for dt, name in _GEMM_SYMBOL.items()}
    except (OSError, AttributeError) as exc:
        _gemm_reason = f"this torch build exports no BLAS sgemm_/dgemm_ ({exc})"
        log.warning("rnnkit: the compiled RNN step kernel is unavailable (%s); cpu_fused runs its torch-ops "
                    "loops instead (same numbers, slower)", _gemm_reason)


def why_not(dtype: torch.dtype = torch.float32) -> str | None:
    """Why the kernel cannot run for ``dtype`` on the CPU, or None when it can."""
    if dtype not in _SUFFIX:
        return f"the compiled loops take float32/float64, not {dtype}"
    reason = native.unavailable(KERNEL)
    if reason is not None:
        return reason
    _find_gemm()
    return _gemm_reason


def ready(x: Tensor) -> bool:
    """Whether the compiled loops can run for tensors like ``x`` (CPU, float32/float64, built)."""
    return x.device.type == "cpu" and why_not(x.dtype) is None


def _call(name: str, dtype: torch.dtype, *args) -> None:
    reason = why_not(dtype)
    if reason is not None:
        raise RuntimeError(f"the compiled RNN step kernel cannot run: {reason}")
    fn = getattr(native.load(KERNEL), f"{name}_{_SUFFIX[dtype]}")
    converted = []
    for a in args:
        if isinstance(a, Tensor):
            converted.append(ctypes.c_void_p(a.data_ptr()))
        elif a is None:
            converted.append(ctypes.c_void_p(None))
        else:
            converted.append(ctypes.c_long(a))
    fn.restype = None
    fn(ctypes.c_void_p(_gemm[dtype]), *converted)


def _sizes(bs_list: list[int]) -> Tensor:
    return torch.tensor(bs_list, dtype=torch.long)


def rnn_forward(proj: Tensor, w: Tensor, hs: Tensor, bs_list: list[int], relu: bool) -> None:
    """``hs[1:]`` from ``proj`` (T, B, H; pre-activations, overwritten) and ``hs[0]``."""
    T, B, H = proj.shape
    _call("rnn_forward", proj.dtype, T, B, H, _sizes(bs_list), proj, w, hs, int(relu))


def rnn_backward(w: Tensor, hs: Tensor, g_out: Tensor | None, gh: Tensor, dpre: Tensor, bs_list: list[int],
                 relu: bool) -> None:
    """``dpre`` per step; ``gh`` goes in as dL/dh_T and comes out as dL/dh_0."""
    T, B, H = dpre.shape
    _call("rnn_backward", dpre.dtype, T, B, H, _sizes(bs_list), w, hs, g_out, gh, dpre, int(relu))


def lstm_forward(proj: Tensor, w: Tensor, hs: Tensor, cs: Tensor, tanh_c: Tensor, bs_list: list[int]) -> None:
    """Gates (i, f, o, g) activated in ``proj``; ``hs``, ``cs``, ``tanh(c)`` filled from step 1."""
    T, B, H = tanh_c.shape
    _call("lstm_forward", proj.dtype, T, B, H, _sizes(bs_list), proj, w, hs, cs, tanh_c)


def lstm_backward(w: Tensor, act: Tensor, cs: Tensor, tanh_c: Tensor, g_out: Tensor | None, gh: Tensor,
                  gc: Tensor, dpre: Tensor, bs_list: list[int]) -> None:
    T, B, H = tanh_c.shape
    _call("lstm_backward", dpre.dtype, T, B, H, _sizes(bs_list), w, act, cs, tanh_c, g_out, gh, gc, dpre)


def gru_forward(proj: Tensor, w: Tensor, bhh: Tensor | None, hs: Tensor, hp: Tensor, bs_list: list[int]) -> None:
    """Gates (r, z, n) activated in ``proj``; ``hp`` = h W_hh^T + b_hh per step; ``hs`` from step 1."""
    T, B, G = proj.shape
    _call("gru_forward", proj.dtype, T, B, G // 3, _sizes(bs_list), proj, w, bhh, hs, hp)


def gru_backward(w: Tensor, act: Tensor, hp: Tensor, hs: Tensor, g_out: Tensor | None, gh: Tensor, dxp: Tensor,
                 dhp: Tensor, bs_list: list[int]) -> None:
    T, B, G = act.shape
    _call("gru_backward", act.dtype, T, B, G // 3, _sizes(bs_list), w, act, hp, hs, g_out, gh, dxp, dhp)
