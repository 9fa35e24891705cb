"""LSTM cell (Hochreiter & Schmidhuber 1997, with a forget gate): one time step.

    i, f, g, o = split(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh, 4)   # each (B, H)
    i, f, o = sigmoid(i), sigmoid(f), sigmoid(o);  g = tanh(g)
    c_t = f * c_{t-1} + i * g
    h_t = o * tanh(c_t)

Weight layout (as ``torch.nn.LSTMCell``): ``weight_ih`` (4H, D) stacking W_ii|W_if|W_ig|W_io,
``weight_hh`` (4H, H) stacking W_hi|W_hf|W_hg|W_ho, ``bias_ih`` and ``bias_hh`` (4H,).
The state is the pair ``(h, c)``. Initialisation: U(-1/sqrt(H), 1/sqrt(H)).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.cell_base import CellBase

LSTMState = tuple[Tensor, Tensor]


def lstm_step(
    x_proj: Tensor,
    state: LSTMState,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    h_mask: Tensor | None = None,
) -> tuple[Tensor, LSTMState]:
    """One step given ``x_proj = x_t W_ih^T + b_ih`` (B, 4H) and ``state = (h, c)``.

    Returns ``(h_t, (h_t, c_t))``.
    """
    h, c = state
    h_in = h if h_mask is None else h * h_mask  # recurrent dropout acts on the matmul's input only
    gates = x_proj + torch.nn.functional.linear(h_in, weight_hh, bias_hh)  # (B, 4H)
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    c_t = f * c + i * g
    h_t = o * torch.tanh(c_t)
    return h_t, (h_t, c_t)


class LSTMCell(CellBase):
    """An LSTM step as a module; ``state_dict`` keys equal ``torch.nn.LSTMCell``'s."""

    kind = "lstm"
    gates = 4

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__(input_size, hidden_size, bias)

    def step(self, x_proj: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        return lstm_step(x_proj, state, self.weight_hh, self.bias_hh)
