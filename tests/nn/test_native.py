"""rnnkit.nn.native: compiled on first use into a keyed cache, and a clean fallback with a stated
reason when no compiler is there (the min cells then run the blocked scan)."""

import logging

import pytest
import torch

from rnnkit.errors import BackendError
from rnnkit.nn import MinRecurrent, native
from rnnkit.nn.min_native import KERNEL


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """A process state with no kernel loaded yet and an empty cache."""
    monkeypatch.setattr(native, "_libs", {})
    monkeypatch.setattr(native, "_reasons", {})
    monkeypatch.setenv("RNNKIT_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_builds_into_the_cache_once(fresh):
    assert native.load(KERNEL) is not None, native.unavailable(KERNEL)
    built = list((fresh / "kernels").glob(f"{KERNEL}-*.so"))
    assert len(built) == 1
    native._libs.clear()
    stamp = built[0].stat().st_mtime_ns
    assert native.load(KERNEL) is not None
    assert built[0].stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert not [p for p in (fresh / "kernels").iterdir() if p.suffix == ".so" and p not in built]


def test_no_compiler_falls_back_with_the_reason(fresh, monkeypatch, caplog):
    monkeypatch.setattr(native, "_compiler", lambda: None)
    with caplog.at_level(logging.WARNING, logger="rnnkit.nn"):
        assert native.load(KERNEL) is None
    assert "no C compiler found" in native.unavailable(KERNEL)
    assert "running its torch-ops path instead" in caplog.text
    layer = MinRecurrent("mingru", 3, 4)
    assert layer.path_for(10) == "scan"
    out, _ = layer(torch.randn(2, 10, 3))
    assert out.shape == (2, 10, 4)
    with pytest.raises(BackendError, match="backend='native' needs the compiled kernel, which is unavailable: "
                                           "no C compiler found"):
        MinRecurrent("mingru", 3, 4, backend="native")


def test_switched_off_by_the_environment(fresh, monkeypatch):
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    assert native.load(KERNEL) is None
    assert native.unavailable(KERNEL) == "RNNKIT_NATIVE=0 turns the compiled kernels off"


def test_a_failing_build_says_what_the_compiler_said(fresh, monkeypatch, tmp_path):
    bad = tmp_path / "kernels_src"
    bad.mkdir()
    (bad / "broken.c").write_text("this is not C\n")
    monkeypatch.setattr(native, "KERNELS", bad)
    assert native.load("broken") is None
    assert "failed on broken.c" in native.unavailable("broken")
    assert not list((fresh / "kernels").glob("*.so"))  # no half-written library left behind


def test_native_path_refuses_what_it_cannot_run_and_runs_half_precision_in_float32():
    layer = MinRecurrent("mingru", 3, 4, backend="native")
    with pytest.raises(BackendError, match="runs float32/float64 on the CPU; got torch.float32 on meta"):
        layer.to("meta")(torch.randn(2, 5, 3, device="meta"))
    layer = MinRecurrent("mingru", 3, 4, backend="native").to(torch.bfloat16)
    out, h = layer(torch.randn(2, 5, 3, dtype=torch.bfloat16))  # gates cast to float32 for the recurrence
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()


def test_threads_split_the_batch_and_agree():
    torch.manual_seed(0)
    layer = MinRecurrent("minlstm", 3, 8, backend="native").double()
    x = torch.randn(5, 40, 3, dtype=torch.float64, requires_grad=True)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 3):
            torch.set_num_threads(threads)
            x.grad = None
            out, _ = layer(x)
            out.pow(2).sum().backward()
            results.append((out.detach(), x.grad.clone()))
    finally:
        torch.set_num_threads(before)
    torch.testing.assert_close(results[0][0], results[1][0], rtol=0, atol=0)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=0, atol=0)


def _child_run(queue):
    torch.set_num_threads(2)
    layer = MinRecurrent("mingru", 3, 4, backend="native")
    out, _ = layer(torch.randn(4, 6, 3))
    queue.put(tuple(out.shape))


def test_a_forked_child_gets_its_own_threads():
    """The batch-splitting thread pool made in the parent does not exist in a forked child (a
    DataLoader worker, a DDP process): the child must build its own instead of waiting forever."""
    import multiprocessing as mp

    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        MinRecurrent("mingru", 3, 4, backend="native")(torch.randn(4, 6, 3))  # the parent's pool exists now
    finally:
        torch.set_num_threads(before)
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_child_run, args=(queue,))
    child.start()
    child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive, "the forked child hung on the parent's thread pool"
    assert queue.get(timeout=5) == (4, 6, 4)


def test_rnn_step_kernel_falls_back_to_the_torch_loops_with_the_reason(fresh, monkeypatch):
    """cpu_fused without its compiled loops (RNNKIT_NATIVE=0, or a torch build exporting no BLAS
    GEMM) runs its torch-ops loops: same numbers, and why_not says why."""
    from rnnkit.nn import Recurrent, cpu_native

    torch.manual_seed(0)
    rec = Recurrent("lstm", 3, 4, backend="cpu_fused")
    x = torch.randn(2, 6, 3)
    assert cpu_native.why_not(torch.float32) is None, cpu_native.why_not(torch.float32)
    want = rec(x)[0]
    monkeypatch.setenv("RNNKIT_NATIVE", "0")
    native._libs.clear()
    assert cpu_native.why_not(torch.float32) == "RNNKIT_NATIVE=0 turns the compiled kernels off"
    assert not cpu_native.ready(x)
    torch.testing.assert_close(rec(x)[0], want)
    monkeypatch.delenv("RNNKIT_NATIVE")
    native._libs.clear()
    monkeypatch.setattr(cpu_native, "_gemm", None)
    monkeypatch.setattr(cpu_native, "_gemm_reason", "this torch build exports no BLAS sgemm_/dgemm_ (test)")
    assert "exports no BLAS sgemm_" in cpu_native.why_not(torch.float32)
    torch.testing.assert_close(rec(x)[0], want)
    assert cpu_native.why_not(torch.bfloat16) == "the compiled loops take float32/float64, not torch.bfloat16"
    with pytest.raises(RuntimeError, match="the compiled RNN step kernel cannot run: this torch build exports"):
        cpu_native.rnn_forward(torch.zeros(1, 1, 4), torch.zeros(4, 4), torch.zeros(2, 1, 4), [1], False)


def test_min_kernel_saturated_gates_stay_finite():
    """Keep logits of +-1e4 must not overflow exp into inf and NaN under -ffast-math."""
    torch.manual_seed(0)
    layer = MinRecurrent("mingru", 1, 64, backend="native")  # 64 units: the vectorised loop, not the scalar tail
    x = torch.tensor([[[1e4], [-1e4], [3e4], [0.5]]], requires_grad=True)
    out, _ = layer(x)
    out.sum().backward()
    assert bool(torch.isfinite(out).all()) and bool(torch.isfinite(x.grad).all())
    scan = MinRecurrent("mingru", 1, 64, backend="scan")
    scan.load_state_dict(layer.state_dict())
    torch.testing.assert_close(out, scan(x)[0])
