"""bf16 on every cell and path: under CPU bf16 autocast nothing may silently run in float32.

A dispatch mode records the dtypes of every matmul-like op (``mm``, ``addmm``, oneDNN's
``mkldnn_rnn_layer`` and its backward, ...) during forward and backward; any float32 operand
fails the test. The bf16 results must stay close to float32 ones.
"""

from __future__ import annotations

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from rnnkit.nn import Recurrent
from parity_utils import CELLS, D, H, make_inputs

GEMM_OPS = {"mm", "addmm", "bmm", "baddbmm", "addmv", "mv", "matmul", "linear",
            "mkldnn_rnn_layer", "mkldnn_rnn_layer_backward", "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell"}
PATHS = ["fused", "cpu_fused"]


class GemmDtypes(TorchDispatchMode):
    """Records ``(op, [dtypes of its floating tensor arguments])`` for the matmul-like ops."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[str, list[torch.dtype]]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if name in GEMM_OPS:
            dtypes: list[torch.dtype] = []

            def walk(a):
                if isinstance(a, torch.Tensor) and a.is_floating_point():
                    dtypes.append(a.dtype)
                elif isinstance(a, (list, tuple)):
                    for b in a:
                        walk(b)

            walk(args)
            walk(list(kwargs.values()))
            self.calls.append((name, dtypes))
        return func(*args, **kwargs)


def bf16_step(rec, x, state, lengths):
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, final = rec(x, state, lengths=lengths)
    h_n = final[0] if isinstance(final, tuple) else final
    loss = out.float().square().sum() + h_n.float().sum()
    loss.backward()
    return out, final


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "padded"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
@pytest.mark.parametrize("backend", PATHS)
def test_no_cell_runs_float32_under_bf16_autocast(backend, cell, nonlinearity, bidirectional, lengths):
    rec = Recurrent(cell, D, H, num_layers=2, bidirectional=bidirectional, nonlinearity=nonlinearity, backend=backend)
    x, state = make_inputs(cell, 2, bidirectional, torch.float32)
    lengths = None if lengths is None else torch.tensor(lengths)
    with GemmDtypes() as mode:
        out, final = bf16_step(rec, x, state, lengths)
    assert rec.path == backend
    assert out.dtype == torch.bfloat16, f"{backend} {cell}: output is {out.dtype} under bf16 autocast"
    assert mode.calls, "no matmul-like op recorded: the check would be vacuous"
    float32 = [(name, dtypes) for name, dtypes in mode.calls if torch.float32 in dtypes]
    assert not float32, f"{backend} {cell} ran matmuls in float32 under bf16 autocast: {float32[:3]}"
    assert all(p.dtype == torch.float32 and p.grad is not None and p.grad.dtype == torch.float32
               for p in rec.parameters()), "master weights and their gradients stay float32"


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().float(), b.detach().float()
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


@pytest.mark.parametrize("lengths", [None, [5, 2, 4]], ids=["full", "padded"])
@pytest.mark.parametrize("cell,nonlinearity", CELLS, ids=["rnn-tanh", "rnn-relu", "lstm", "gru"])
@pytest.mark.parametrize("backend", PATHS)
def test_bf16_close_to_float32(backend, cell, nonlinearity, lengths):
    torch.manual_seed(0)
    rec = Recurrent(cell, D, H, num_layers=2, bidirectional=True, nonlinearity=nonlinearity, backend=backend)
    x, state = make_inputs(cell, 2, True, torch.float32, batch=3, steps=5)
    lengths = None if lengths is None else torch.tensor(lengths)
    out16, fin16 = bf16_step(rec, x, state, lengths)
    grads16 = {n: p.grad.clone() for n, p in rec.named_parameters()}
    rec.zero_grad()
    out32, fin32 = rec(x, state, lengths=lengths)
    h32 = fin32[0] if isinstance(fin32, tuple) else fin32
    (out32.square().sum() + h32.sum()).backward()
    assert rel_err(out16, out32) < 0.02
    h16 = fin16[0] if isinstance(fin16, tuple) else fin16
    assert rel_err(h16, h32) < 0.02
    for n, p in rec.named_parameters():
        assert rel_err(grads16[n], p.grad) < 0.05, n


@pytest.mark.parametrize("backend", PATHS)
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_carried_state_under_autocast(backend, cell):
    """A state returned under autocast (bf16) goes back in with float32 inputs, as with torch.nn (TBPTT, seq2seq)."""
    rec = Recurrent(cell, D, H, backend=backend)
    x, _ = make_inputs(cell, 1, False, torch.float32)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        _, state = rec(x)
        out, _ = rec(x, state)
    assert out.dtype == torch.bfloat16


def test_lstm_under_cpu_float16_autocast_falls_back_to_float32():
    """oneDNN has no float16 LSTM primitive on CPU ("could not create a primitive descriptor"):
    that one case runs the fused kernel in float32."""
    rec = Recurrent("lstm", D, H, num_layers=2, backend="fused")
    x, _ = make_inputs("lstm", 2, False, torch.float32)
    with torch.autocast("cpu", dtype=torch.float16):
        out, _ = rec(x)
    torch.testing.assert_close(out, rec(x)[0])
