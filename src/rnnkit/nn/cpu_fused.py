"""The ``cpu_fused`` path: a whole-sequence forward and a hand-written backward (BPTT).

One :class:`torch.autograd.Function` per layer and direction runs what
:mod:`rnnkit.reference` spells out in NumPy, arranged so that little but GEMMs is left:

forward
    the input projection of every step in one GEMM (``x W_ih^T + b``), then per step one
    GEMM ``h_{t-1} W_hh^T`` added into that step's slice, the gate nonlinearities applied
    in place (LSTM gates are kept in the order i, f, o, g internally), and the state update.
backward
    per step the gate derivatives and one GEMM ``dpre_t W_hh``; the weight gradients, the
    bias gradients and ``dx`` are one large GEMM (or sum) each over all steps after the loop.

The time loops run in one of two ways, with the same numbers:

* compiled (:mod:`rnnkit.nn.cpu_native`, ``kernels/rnn_steps.c``, float32/float64): one BLAS call
  (the GEMM torch itself links) and one fused pass over the gates per step, no Python per step.
  This is what makes the path faster than torch's oneDNN kernels for RNN and GRU, and why
  ``backend="auto"`` picks it for them (:meth:`rnnkit.nn.Recurrent.auto_path`);
* torch ops (no compiler, ``RNNKIT_NATIVE=0``, :data:`USE_NATIVE` False, or bf16 GEMMs): every
  factor of the gate derivatives that does not depend on the incoming gradient is computed for
  all steps at once before the loop, so a step is a few small elementwise ops and one GEMM.

Precision: in float32/float64 everything runs in the input's dtype. Under CPU bf16
autocast (or ``gemm_dtype=torch.bfloat16``) the GEMM inputs are bfloat16 (fp32
accumulation inside the GEMM), while the gate math, the cell state ``c`` and, for RNN/GRU,
the hidden state are float32; outputs come back in bfloat16 as from any autocast op, and
gradients reach the float32 parameters in float32.

Variable lengths: the batch is sorted by length (longest first), so the sequences still
running at step t are a prefix of ``batch_sizes[t]`` rows, and every op of step t runs on
those rows only (packed-sequence semantics without packing). Finished sequences keep their
state, padded outputs are zero, and their gradients are zero. The reverse direction reads
each sequence reversed within its own length. Dropout between layers is ordinary autograd
dropout. A graph kept with ``retain_graph=True`` can run backward again (the work buffers go
back to the pool only when autograd frees the graph). Not supported (and so never chosen for
it): ``recurrent_dropout`` (use the unrolled path) and double backward (``create_graph=True``
through the recurrence raises a :class:`~rnnkit.errors.BackendError` that says to use
``backend="fused"`` or ``"unrolled"``).
"""

from __future__ import annotations

import weakref

import torch
import torch.nn.functional as F
from torch import Tensor

from rnnkit.errors import BackendError
from rnnkit.nn import cpu_native

GATES = {"rnn": 1, "lstm": 4, "gru": 3}

# Work buffers are recycled between calls: a fresh multi-megabyte tensor per step costs
# page faults (measured: a (28, 64, 512) zero fill took 1.2 ms inside a training step
# against 37 us on a recycled one), more than the elementwise work itself.
_POOL: dict[tuple, list[Tensor]] = {}
_POOL_DEPTH = 4


def _take(shape: tuple, dtype: torch.dtype, device, zero: bool = False) -> Tensor:
    stack = _POOL.get((shape, dtype, device))
    t = stack.pop() if stack else torch.empty(shape, dtype=dtype, device=device)
    return t.zero_() if zero else t


def _give(*tensors: Tensor | None) -> None:
    seen = set()
    for t in tensors:
        if t is None or id(t) in seen or t.device.type != "cpu":
            continue
        seen.add(id(t))
        stack = _POOL.setdefault((tuple(t.shape), t.dtype, t.device), [])
        if len(stack) < _POOL_DEPTH:
            stack.append(t)


def _lstm_perm(H: int, device) -> tuple[Tensor, Tensor]:
    """Row order (i, f, o, g) from torch's (i, f, g, o), and its inverse."""
    ar = torch.arange(H, device=device)
    perm = torch.cat([ar, ar + H, ar + 3 * H, ar + 2 * H])
    return perm, torch.argsort(perm)


class _Layer(torch.autograd.Function):
    """One layer, one direction over time-major ``x`` (T, B, D), batch sorted by length."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, cell, nonlinearity, batch_sizes, last, gemm_dtype):
        with torch.autocast(x.device.type, enabled=False):
            return _forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, cell, nonlinearity, batch_sizes, last, gemm_dtype)

    @staticmethod
    def backward(ctx, *grads):
        if torch.is_grad_enabled():  # backward(create_graph=True): the hand-written BPTT is not differentiable
            raise BackendError(
                "the cpu_fused path cannot be differentiated twice (a backward pass with create_graph=True, e.g. a "
                "gradient penalty); run the recurrent layers with backend='fused' or 'unrolled' (model.backend in a "
                "config): backend='auto' takes cpu_fused for RNN/GRU training on the CPU")
        with torch.autocast(ctx.device_type, enabled=False):
            return _backward(ctx, *grads) + (None,) * 5


def _forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, cell, nonlinearity, batch_sizes, last, gemm_dtype):
    T, B, D = x.shape
    H = w_hh.shape[1]
    G = GATES[cell] * H
    cd = torch.float32 if gemm_dtype is not None else x.dtype  # gate math and state
    gd = gemm_dtype if gemm_dtype is not None else x.dtype  # GEMM inputs
    mixed = gd != cd
    bs_list = batch_sizes if batch_sizes is not None else [B] * T
    native = not mixed and native_loops_ready(x)
    lstm, gru = cell == "lstm", cell == "gru"
    perm = inv = None
    if lstm:
        perm, inv = _lstm_perm(H, x.device)
        w_ih, w_hh = w_ih.index_select(0, perm), w_hh.index_select(0, perm)
        b_ih = None if b_ih is None else b_ih.index_select(0, perm)
        b_hh = None if b_hh is None else b_hh.index_select(0, perm)
    wi = w_ih.to(gd)  # (G, D)
    wh = w_hh.to(gd)  # (G, H)
    whT = wh.t()
    x2 = x.reshape(T * B, D).to(gd)
    dev = x.device
    padded = batch_sizes is not None  # rows past batch_sizes[t] are never written: zero them first
    # input projection of all steps, with the biases that add straight in
    bias = b_ih if gru else (b_ih + b_hh if b_ih is not None else None)
    proj = _take((T, B, G), cd, dev)
    proj2 = proj.view(T * B, G)
    if mixed:
        tmp = _take((T * B, G), gd, dev)
        torch.mm(x2, wi.t(), out=tmp)
        torch.add(bias.to(cd), tmp, out=proj2) if bias is not None else proj2.copy_(tmp)
        _give(tmp)
    elif bias is not None:
        torch.addmm(bias, x2, wi.t(), out=proj2)
    else:
        torch.mm(x2, wi.t(), out=proj2)
    bhh = None if b_hh is None else b_hh.to(cd)

    if lstm:
        hs = _take((T + 1, B, H), gd, dev, zero=padded)  # h in the GEMM dtype: only GEMMs and the output read it
        hs[0] = h0
        cs = _take((T + 1, B, H), cd, dev)
        cs[0] = c0
        tanh_c = _take((T, B, H), cd, dev)
        if native:
            cpu_native.lstm_forward(proj, wh, hs, cs, tanh_c, bs_list)
        for t in range(0 if native else T):
            bs = bs_list[t]
            gates = proj[t, :bs]
            if mixed:
                gates.add_(torch.mm(hs[t, :bs], whT))
            else:
                gates.addmm_(hs[t, :bs], whT)
            gates[:, :3 * H].sigmoid_()
            gates[:, 3 * H:].tanh_()
            c = cs[t + 1, :bs]
            torch.mul(gates[:, H:2 * H], cs[t, :bs], out=c)
            c.addcmul_(gates[:, :H], gates[:, 3 * H:])
            tc = torch.tanh(c, out=tanh_c[t, :bs])
            torch.mul(gates[:, 2 * H:3 * H], tc, out=hs[t + 1, :bs])
        ctx.save_for_backward(x2, wi, wh, hs, cs, tanh_c, proj)
        pooled = (hs, cs, tanh_c, proj)
        out = hs[1:].clone()
        if last is None:
            h_n, c_n = hs[T].clone(), cs[T].to(gd, copy=True)
        else:
            rows = torch.arange(B, device=x.device)
            h_n, c_n = hs[last, rows], cs[last, rows].to(gd)
        result = (out, h_n, c_n)
    else:
        hs = _take((T + 1, B, H), cd, dev, zero=padded)
        hs[0] = h0
        hsg = _take((T + 1, B, H), gd, dev, zero=padded) if mixed else hs  # the GEMM copy of h
        if mixed:
            hsg[0] = h0
        hp = _take((T, B, G), cd, dev) if gru else None
        if native and gru:
            cpu_native.gru_forward(proj, wh, bhh, hs, hp, bs_list)
        elif native:
            cpu_native.rnn_forward(proj, wh, hs, bs_list, nonlinearity == "relu")
        for t in range(0 if native else T):
            bs = bs_list[t]
            if gru:
                hpt = hp[t, :bs]
                if mixed:
                    mm = torch.mm(hsg[t, :bs], whT)
                    torch.add(bhh, mm, out=hpt) if bhh is not None else hpt.copy_(mm)
                elif bhh is not None:
                    torch.addmm(bhh, hsg[t, :bs], whT, out=hpt)
                else:
                    torch.mm(hsg[t, :bs], whT, out=hpt)
                a = proj[t, :bs]
                rz = a[:, :2 * H].add_(hpt[:, :2 * H]).sigmoid_()
                n = a[:, 2 * H:].addcmul_(rz[:, :H], hpt[:, 2 * H:]).tanh_()
                torch.lerp(n, hs[t, :bs], rz[:, H:], out=hs[t + 1, :bs])  # n + z (h - n)
            else:
                pre = proj[t, :bs]
                if mixed:
                    pre.add_(torch.mm(hsg[t, :bs], whT))
                else:
                    pre.addmm_(hsg[t, :bs], whT)
                if nonlinearity == "tanh":
                    torch.tanh(pre, out=hs[t + 1, :bs])
                else:
                    torch.clamp_min(pre, 0, out=hs[t + 1, :bs])
            if mixed:
                hsg[t + 1, :bs].copy_(hs[t + 1, :bs])
        ctx.save_for_backward(x2, wi, wh, hs, hsg, proj, hp if gru else hs)
        pooled = (hs, hsg, proj, hp)
        out = hsg[1:].clone()
        if last is None:
            h_n = hsg[T].clone()
        else:
            h_n = hsg[last, torch.arange(B, device=x.device)]
        result = (out, h_n)
    ctx.cfg = (cell, nonlinearity, bs_list, T, B, D, H, G, cd, gd, mixed, inv, b_ih is not None,
               x.dtype, h0.dtype, w_ih.dtype, padded, native)
    ctx.device_type = x.device.type
    if any(ctx.needs_input_grad):
        # the saved buffers go back to the pool when autograd frees this node (the graph is
        # dropped), not after the backward pass: a retain_graph=True graph can run backward again
        weakref.finalize(ctx, _give, *pooled)
    else:  # no backward will come: recycle now
        _give(*pooled)
    return result


def _backward(ctx, g_out, g_hn, g_cn=None):
    cell, nonlinearity, bs_list, T, B, D, H, G, cd, gd, mixed, inv, has_bias, x_dtype, h_dtype, w_dtype, padded, \
        native = ctx.cfg
    dev = ctx.saved_tensors[0].device
    scratch: list[Tensor] = []

    def take(shape, dtype, zero=False):
        t = _take(shape, dtype, dev, zero)
        scratch.append(t)
        return t

    lstm, gru = cell == "lstm", cell == "gru"
    need_x = ctx.needs_input_grad[0]
    # a private copy (updated in place), row-major like g_out: the compiled loops read plain arrays
    Gh = g_hn.to(cd, copy=True).contiguous() if g_hn is not None \
        else torch.zeros(B, H, dtype=cd, device=ctx.saved_tensors[0].device)
    g_out = None if g_out is None else g_out.to(cd).contiguous()
    if lstm and native:
        x2, wi, wh, hs, cs, tanh_c, act = ctx.saved_tensors
        Gc = g_cn.to(cd, copy=True).contiguous() if g_cn is not None else torch.zeros_like(Gh)
        dpre = take((T, B, G), gd, zero=padded)
        cpu_native.lstm_backward(wh, act, cs, tanh_c, g_out, Gh, Gc, dpre, bs_list)
        d_in = d_rec = dpre
        h_prev = hs[:-1]
        dh0, dc0 = Gh, Gc
    elif gru and native:
        x2, wi, wh, hs, hsg, act, hp = ctx.saved_tensors
        dxp = take((T, B, G), gd, zero=padded)
        dhp = take((T, B, G), gd, zero=padded)
        cpu_native.gru_backward(wh, act, hp, hs, g_out, Gh, dxp, dhp, bs_list)
        d_in, d_rec = dxp, dhp
        h_prev = hsg[:-1]
        dh0, dc0 = Gh, None
    elif native:
        x2, wi, wh, hs, hsg, _, _ = ctx.saved_tensors
        dpre = take((T, B, G), gd, zero=padded)
        cpu_native.rnn_backward(wh, hs, g_out, Gh, dpre, bs_list, nonlinearity == "relu")
        d_in = d_rec = dpre
        h_prev = hsg[:-1]
        dh0, dc0 = Gh, None
    elif lstm:
        x2, wi, wh, hs, cs, tanh_c, act = ctx.saved_tensors
        Gc = g_cn.to(cd, copy=True) if g_cn is not None else torch.zeros_like(Gh)
        # step-independent factors, for all steps at once
        sig = act[..., :3 * H]
        g = act[..., 3 * H:]
        A = take((T, B, H), cd)
        torch.mul(tanh_c, tanh_c, out=A).neg_().add_(1).mul_(act[..., 2 * H:3 * H])  # o (1 - tanh(c)^2)
        K = take((T, B, G), cd)  # dpre = [dc, dc, dh, dc] * K, gates (i, f, o, g)
        torch.mul(sig, sig, out=K[..., :3 * H]).neg_().add_(sig)  # s (1 - s)
        K[..., :H].mul_(g)
        K[..., H:2 * H].mul_(cs[:-1])
        K[..., 2 * H:3 * H].mul_(tanh_c)
        torch.mul(g, g, out=K[..., 3 * H:]).neg_().add_(1).mul_(act[..., :H])
        dpre = take((T, B, G), gd, zero=padded)
        for t in range(T - 1, -1, -1):
            bs = bs_list[t]
            dh = Gh[:bs]
            if g_out is not None:
                dh.add_(g_out[t, :bs])
            dc = Gc[:bs].addcmul_(dh, A[t, :bs])
            dp = dpre[t, :bs]
            torch.mul(dc.unsqueeze(1), K[t, :bs].view(bs, 4, H), out=dp.view(bs, 4, H))
            torch.mul(dh, K[t, :bs, 2 * H:3 * H], out=dp[:, 2 * H:3 * H])
            dc.mul_(act[t, :bs, H:2 * H])  # carry to t-1: dc * f
            if mixed:
                Gh[:bs].copy_(torch.mm(dp, wh))
            else:
                torch.mm(dp, wh, out=Gh[:bs])
        d_in = d_rec = dpre
        h_prev = hs[:-1]
        dh0, dc0 = Gh, Gc
    elif gru:
        x2, wi, wh, hs, hsg, act, hp = ctx.saved_tensors
        r, z, n = act[..., :H], act[..., H:2 * H], act[..., 2 * H:]
        hn = hp[..., 2 * H:]
        QP = take((T, B, 2 * H), cd)
        Q, P = QP[..., :H], QP[..., H:]
        torch.sub(hs[:-1], n, out=Q).mul_(z)
        Q.addcmul_(Q, z, value=-1)  # dpre_z = dh * Q,  Q = (h - n) z (1 - z)
        torch.mul(n, n, out=P).neg_().add_(1)
        P.addcmul_(P, z, value=-1)  # dpre_n = dh * P,  P = (1 - n^2)(1 - z)
        R = take((T, B, H), cd)
        torch.mul(r, r, out=R).neg_().add_(r).mul_(hn)  # dpre_r = dpre_n * R,  R = r (1 - r) hn
        dxp = take((T, B, G), gd, zero=padded)
        dhp = take((T, B, G), gd, zero=padded)
        for t in range(T - 1, -1, -1):
            bs = bs_list[t]
            dh = Gh[:bs]
            if g_out is not None:
                dh.add_(g_out[t, :bs])
            dx_t, dh_t = dxp[t, :bs], dhp[t, :bs]
            torch.mul(dh.unsqueeze(1), QP[t, :bs].view(bs, 2, H), out=dx_t[:, H:].view(bs, 2, H))
            dpn = dx_t[:, 2 * H:]
            torch.mul(dpn, R[t, :bs], out=dx_t[:, :H])
            dh_t[:, :2 * H].copy_(dx_t[:, :2 * H])
            torch.mul(dpn, r[t, :bs], out=dh_t[:, 2 * H:])
            carry = dh * z[t, :bs]
            if mixed:
                torch.add(carry, torch.mm(dh_t, wh), out=Gh[:bs])
            else:
                torch.addmm(carry, dh_t, wh, out=Gh[:bs])
        d_in, d_rec = dxp, dhp
        h_prev = hsg[:-1]
        dh0, dc0 = Gh, None
    else:
        x2, wi, wh, hs, hsg, _, _ = ctx.saved_tensors
        h = hs[1:]
        Dv = take((T, B, H), cd)
        if nonlinearity == "tanh":
            torch.mul(h, h, out=Dv).neg_().add_(1)
        else:
            torch.sign(h, out=Dv)  # h = relu(.) >= 0: 1 where positive, else 0
        dpre = take((T, B, G), gd, zero=padded)
        for t in range(T - 1, -1, -1):
            bs = bs_list[t]
            dh = Gh[:bs]
            if g_out is not None:
                dh.add_(g_out[t, :bs])
            dp = torch.mul(dh, Dv[t, :bs], out=dpre[t, :bs])
            if mixed:
                Gh[:bs].copy_(torch.mm(dp, wh))
            else:
                torch.mm(dp, wh, out=Gh[:bs])
        d_in = d_rec = dpre
        h_prev = hsg[:-1]
        dh0, dc0 = Gh, None

    d_in2 = d_in.view(T * B, G)
    d_rec2 = d_rec.view(T * B, G)
    dw_ih = torch.mm(d_in2.t(), x2).to(w_dtype)
    dw_hh = torch.mm(d_rec2.t(), h_prev.reshape(T * B, H)).to(w_dtype)
    db_ih = db_hh = None
    if has_bias:
        db_ih = d_in2.sum(0, dtype=cd).to(w_dtype)
        db_hh = db_ih if d_rec is d_in else d_rec2.sum(0, dtype=cd).to(w_dtype)
    dx = torch.mm(d_in2, wi).view(T, B, D).to(x_dtype) if need_x else None
    if inv is not None:
        dw_ih, dw_hh = dw_ih.index_select(0, inv), dw_hh.index_select(0, inv)
        if has_bias:
            db_ih = db_ih.index_select(0, inv)
            db_hh = db_ih if db_hh is None else db_hh.index_select(0, inv)
    dh0 = dh0.to(h_dtype)
    dc0 = None if dc0 is None else dc0.to(h_dtype)
    _give(*scratch)
    return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh


def native_loops_ready(x: Tensor) -> bool:
    """Whether the time loops run in the compiled kernel (:mod:`rnnkit.nn.cpu_native`) for tensors
    like ``x`` (float32/float64 on the CPU, kernel built, :data:`USE_NATIVE`)."""
    return USE_NATIVE and cpu_native.ready(x)


#: set False to run the torch-ops loops even where the compiled kernel could (tests compare the two)
USE_NATIVE = True


def _time_reverse_index(lengths: Tensor | None, T: int, B: int, device) -> Tensor | None:
    """(T, B) index reversing each sequence within its own length (time-major)."""
    if lengths is None:
        return None
    steps = torch.arange(T, device=device).unsqueeze(1)  # (T, 1)
    lens = lengths.unsqueeze(0)  # (1, B)
    return torch.where(steps < lens, lens - 1 - steps, steps)


def _reverse(x: Tensor, index: Tensor | None) -> Tensor:
    if index is None:
        return x.flip(0)
    return x.gather(0, index.unsqueeze(-1).expand_as(x))


def gemm_dtype_for(x: Tensor) -> torch.dtype | None:
    """bfloat16 under bf16 autocast on ``x``'s device, else None (compute in x's dtype)."""
    dev = x.device.type
    if torch.is_autocast_enabled(dev) and torch.get_autocast_dtype(dev) == torch.bfloat16:
        return torch.bfloat16
    return None


def run_cpu_fused(rec, x: Tensor, hx, lengths: Tensor | None, gemm_dtype: torch.dtype | None = None):
    """Run ``rec`` (a :class:`~rnnkit.nn.recurrent.Recurrent`) over ``x`` (B, T, D) → ``(output, state)``."""
    gemm_dtype = gemm_dtype if gemm_dtype is not None else gemm_dtype_for(x)
    lstm = rec.cell == "lstm"
    B, T, _ = x.shape
    h0, c0 = hx if lstm else (hx, None)
    x_tm = x.transpose(0, 1)
    order = unorder = sorted_lengths = None
    batch_sizes = None
    if lengths is not None:
        lengths = lengths.to(x.device)
        order = torch.argsort(lengths, descending=True, stable=True)
        unorder = torch.argsort(order)
        sorted_lengths = lengths.index_select(0, order)
        counts = sorted_lengths.tolist()
        batch_sizes, j = [], B
        for t in range(T):  # sequences still running at step t: those with length > t
            while j > 0 and counts[j - 1] <= t:
                j -= 1
            batch_sizes.append(j)
        x_tm = x_tm.index_select(1, order)
        h0 = h0.index_select(1, order)
        c0 = None if c0 is None else c0.index_select(1, order)
    rev = _time_reverse_index(sorted_lengths, T, B, x.device) if rec.bidirectional else None
    h_n, c_n = [], []
    layer_in = x_tm
    for layer in range(rec.num_layers):
        outs = []
        for d in range(rec.num_directions):
            k = layer * rec.num_directions + d
            w_ih, w_hh, b_ih, b_hh = rec.layer_weights(layer, d)
            inp = layer_in if d == 0 else _reverse(layer_in, rev)
            res = _Layer.apply(inp.contiguous(), h0[k], None if c0 is None else c0[k], w_ih, w_hh, b_ih, b_hh,
                               rec.cell, rec.nonlinearity, batch_sizes, sorted_lengths, gemm_dtype)
            out = res[0]
            outs.append(out if d == 0 else _reverse(out, rev))
            h_n.append(res[1])
            if lstm:
                c_n.append(res[2])
        layer_in = torch.cat(outs, 2) if len(outs) > 1 else outs[0]
        if layer < rec.num_layers - 1 and rec.dropout > 0 and rec.training:
            layer_in = F.dropout(layer_in, rec.dropout, True)
    output = layer_in.transpose(0, 1)
    h = torch.stack(h_n)
    c = torch.stack(c_n) if lstm else None
    if unorder is not None:
        output = output.index_select(0, unorder)
        h = h.index_select(1, unorder)
        c = None if c is None else c.index_select(1, unorder)
    return output, ((h, c) if lstm else h)
