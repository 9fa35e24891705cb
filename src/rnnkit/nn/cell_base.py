"""What every cell module shares: parameters with torch's names, the input projection,
and the boundary checks of a single step."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError, ShapeError


class CellBase(nn.Module):
    """Base of :class:`RNNCell`, :class:`LSTMCell`, :class:`GRUCell`.

    Subclasses set ``kind`` and ``gates`` (rows of W per hidden unit) and implement
    ``step(x_proj, state)``. ``forward(x_t, state)`` projects the input, then steps:
    a cell is a pure function of ``(x_t, state) -> (h_t, state)``.
    """

    kind: str = ""
    gates: int = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ConfigError(f"{name} must be a positive int; got {value!r}")
        if nonlinearity not in ("tanh", "relu"):
            raise ConfigError(f"nonlinearity must be 'tanh' or 'relu'; got {nonlinearity!r}")
        self.input_size, self.hidden_size, self.bias, self.nonlinearity = input_size, hidden_size, bias, nonlinearity
        rows = self.gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def zero_state(self, batch_size: int, like: Tensor):
        h = like.new_zeros(batch_size, self.hidden_size)
        return (h, h.clone()) if self.kind == "lstm" else h

    def forward(self, x_t: Tensor, state=None):
        """``x_t`` (B, D), ``state`` (B, H) or ``(h, c)`` for LSTM → ``(h_t (B, H), new state)``."""
        if x_t.dim() != 2 or x_t.shape[-1] != self.input_size:
            raise ShapeError(
                f"x_t must have shape (B, {self.input_size}) because input_size={self.input_size}; "
                f"got {tuple(x_t.shape)}"
            )
        if state is None:
            state = self.zero_state(x_t.shape[0], x_t)
        for s in state if isinstance(state, tuple) else (state,):
            if s.shape != (x_t.shape[0], self.hidden_size):
                raise ShapeError(
                    f"state must have shape ({x_t.shape[0]}, {self.hidden_size}) (B, H); got {tuple(s.shape)}"
                )
        x_proj = nn.functional.linear(x_t, self.weight_ih, self.bias_ih)
        return self.step(x_proj, state)

    def step(self, x_proj: Tensor, state):  # pragma: no cover - abstract
        raise NotImplementedError

    def extra_repr(self) -> str:
        extra = f", nonlinearity={self.nonlinearity!r}" if self.kind == "rnn" else ""
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias}{extra}"
