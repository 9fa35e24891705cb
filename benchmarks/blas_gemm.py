"""GEMM rates of the BLAS routines torch exports, beside torch.mm, on one thread.

The compiled time loops of ``cpu_fused`` (``src/rnnkit/nn/kernels/rnn_steps.c``) call the
BLAS GEMM that torch links and exports (``sgemm_``/``dgemm_``; MKL on x86 builds). This script
shows why they run float32 only: the one bf16 GEMM torch's library exports,
``cblas_gemm_bf16bf16f32`` (MKL), is measured here against ``torch.mm`` in bf16 (oneDNN), which a C
kernel cannot call. Printed per shape (M x N x K, row-major ``A (M, K) @ W (N, K)^T`` as the
recurrent step ``h W_hh^T``): GFLOP/s of MKL ``sgemm_``, ``torch.mm`` fp32, MKL
``cblas_gemm_bf16bf16f32`` and ``torch.mm`` bf16; median of ``--repeats`` timings.

    python benchmarks/blas_gemm.py
    python benchmarks/blas_gemm.py --shapes 64x512x128,64x256x256 --repeats 7
"""

from __future__ import annotations

import argparse
import ctypes
import statistics
import time
from pathlib import Path

import torch

ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112  # CBLAS enums


def _lib() -> ctypes.CDLL:
    libs = sorted((Path(torch.__file__).parent / "lib").glob("libtorch_cpu.*"))
    if not libs:
        raise SystemExit("torch's libtorch_cpu library was not found")
    return ctypes.CDLL(str(libs[0]))


def rate(fn, flops: float, calls: int, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter() - t) / calls)
    return flops / statistics.median(times) / 1e9


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", default="1024x1024x1024,64x512x128,64x384x128,64x256x256",
                   help="MxNxK list (A (M, K) times W (N, K) transposed)")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    lib = _lib()
    sgemm = getattr(lib, "sgemm_", None)
    bf16 = getattr(lib, "cblas_gemm_bf16bf16f32", None)
    if bf16 is not None:
        bf16.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p,
                                              ctypes.c_int, ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
    print(f"torch {torch.__version__}, 1 thread; exported: sgemm_ {'yes' if sgemm else 'no'}, "
          f"cblas_gemm_bf16bf16f32 {'yes' if bf16 else 'no'}")
    print(f"{'M x N x K':>16} {'sgemm_':>9} {'mm fp32':>9} {'mkl bf16':>9} {'mm bf16':>9}   GFLOP/s")
    for shape in args.shapes.split(","):
        M, N, K = (int(v) for v in shape.lower().split("x"))
        a, w, c = torch.randn(M, K), torch.randn(N, K), torch.zeros(M, N)
        ab, wb = a.bfloat16(), w.bfloat16()
        flops = 2.0 * M * N * K
        calls = max(1, int(2e8 // flops))
        ints = [ctypes.c_int(v) for v in (N, M, K)]
        one, zero = ctypes.c_float(1.0), ctypes.c_float(0.0)
        ptr = [ctypes.c_void_p(t.data_ptr()) for t in (w, a, c)]
        cells = []
        if sgemm is not None:  # column-major: C^T (N, M) = W (N, K) A^T
            cells.append(rate(lambda: sgemm(b"T", b"N", *(ctypes.byref(i) for i in ints), ctypes.byref(one), ptr[0],
                                            ctypes.byref(ints[2]), ptr[1], ctypes.byref(ints[2]),
                                            ctypes.byref(zero), ptr[2], ctypes.byref(ints[0])),
                              flops, calls, args.repeats))
        else:
            cells.append(float("nan"))
        cells.append(rate(lambda: torch.mm(a, w.t(), out=c), flops, calls, args.repeats))
        if bf16 is not None:
            cells.append(rate(lambda: bf16(ROW_MAJOR, NO_TRANS, TRANS, M, N, K, 1.0, ab.data_ptr(), K, wb.data_ptr(),
                                           K, 0.0, c.data_ptr(), N), flops, calls, args.repeats))
        else:
            cells.append(float("nan"))
        cells.append(rate(lambda: torch.mm(ab, wb.t()), flops, calls, args.repeats))
        print(f"{shape:>16} " + " ".join(f"{v:>9.0f}" for v in cells))


if __name__ == "__main__":
    main()
