"""Vanilla (Elman) RNN cell: one time step.

    h_t = f(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),   f = tanh or relu

Weight layout (as ``torch.nn.RNNCell``): ``weight_ih`` (H, D), ``weight_hh`` (H, H),
``bias_ih`` (H,), ``bias_hh`` (H,). Initialisation: U(-1/sqrt(H), 1/sqrt(H)).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.cell_base import CellBase


def rnn_step(
    x_proj: Tensor,
    h: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    nonlinearity: str = "tanh",
    h_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One step given the input projection ``x_proj = x_t W_ih^T + b_ih`` (B, H).

    Returns ``(h_t, h_t)``: the output and the new state, both (B, H).
    """
    h_in = h if h_mask is None else h * h_mask  # recurrent dropout acts on the matmul's input only
    pre = x_proj + torch.nn.functional.linear(h_in, weight_hh, bias_hh)  # (B, H)
    h_t = torch.tanh(pre) if nonlinearity == "tanh" else torch.relu(pre)
    return h_t, h_t


class RNNCell(CellBase):
    """A vanilla RNN step as a module; ``state_dict`` keys equal ``torch.nn.RNNCell``'s."""

    kind = "rnn"
    gates = 1

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"):
        super().__init__(input_size, hidden_size, bias, nonlinearity)

    def step(self, x_proj: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return rnn_step(x_proj, state, self.weight_hh, self.bias_hh, self.nonlinearity)
