"""Shared machinery of the parity tests: one scalar loss with random weights on every
output, and a function that returns outputs, final states and all gradients."""

from __future__ import annotations

import torch

TORCH_RNN = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}
# (cell, nonlinearity) pairs covering every cell
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]
B, T, D, H = 3, 5, 7, 11
TOL = {torch.float64: dict(rtol=1e-8, atol=1e-12), torch.float32: dict(rtol=1e-5, atol=1e-6)}


def make_inputs(cell, num_layers, bidirectional, dtype, seed=0, batch=B, steps=T):
    g = torch.Generator().manual_seed(seed)
    dirs = 2 if bidirectional else 1
    x = torch.randn(batch, steps, D, generator=g, dtype=dtype)
    h0 = torch.randn(num_layers * dirs, batch, H, generator=g, dtype=dtype)
    state = (h0, torch.randn(num_layers * dirs, batch, H, generator=g, dtype=dtype)) if cell == "lstm" else h0
    return x, state


def loss_weights(out_shape, state_shape, is_lstm, dtype, seed=1):
    g = torch.Generator().manual_seed(seed)
    w_out = torch.randn(out_shape, generator=g, dtype=dtype)
    w_h = torch.randn(state_shape, generator=g, dtype=dtype)
    w_c = torch.randn(state_shape, generator=g, dtype=dtype) if is_lstm else None
    return w_out, w_h, w_c


def run_with_grads(module, x, state, lengths=None, weights=None):
    """Forward, the loss ``sum(out*W) + sum(h_n*Wh) (+ sum(c_n*Wc))``, backward.

    Returns a dict: output, h_n, c_n, and grads for x, h0, c0 and every parameter.
    ``module`` is a torch.nn.RNNBase or a rnnkit Recurrent.
    """
    is_lstm = isinstance(state, tuple)
    x = x.detach().clone().requires_grad_(True)
    state = tuple(s.detach().clone().requires_grad_(True) for s in state) if is_lstm else state.detach().clone().requires_grad_(True)
    module.zero_grad()
    if lengths is None:
        out, final = module(x, state)
    elif isinstance(module, torch.nn.RNNBase):
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, final = module(packed, state)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])
    else:
        out, final = module(x, state, lengths=lengths)
    h_n, c_n = final if is_lstm else (final, None)
    if weights is None:
        weights = loss_weights(out.shape, h_n.shape, is_lstm, x.dtype)
    w_out, w_h, w_c = weights
    loss = (out * w_out).sum() + (h_n * w_h).sum() + ((c_n * w_c).sum() if is_lstm else 0)
    loss.backward()
    result = {"output": out.detach(), "h_n": h_n.detach(), "x.grad": x.grad, "h0.grad": (state[0] if is_lstm else state).grad}
    if is_lstm:
        result["c_n"] = c_n.detach()
        result["c0.grad"] = state[1].grad
    for name, p in module.named_parameters():
        result[f"{name}.grad"] = p.grad.clone()
    return result


def assert_same(a: dict, b: dict, dtype, keys=None):
    keys = keys if keys is not None else a.keys()
    for key in keys:
        torch.testing.assert_close(a[key], b[key], **TOL[dtype], msg=lambda m, k=key: f"{k}: {m}")
