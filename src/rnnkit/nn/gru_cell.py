"""GRU cell: one time step, in the form torch and cuDNN compute.

    r = sigmoid(x_t W_ir^T + b_ir + h_{t-1} W_hr^T + b_hr)
    z = sigmoid(x_t W_iz^T + b_iz + h_{t-1} W_hz^T + b_hz)
    n = tanh(x_t W_in^T + b_in + r * (h_{t-1} W_hn^T + b_hn))
    h_t = (1 - z) * n + z * h_{t-1}

This departs from Cho et al. (2014), where the reset gate multiplies h_{t-1} *before*
the matmul, ``tanh(W_in x + W_hn (r * h))``. Applying it after lets all three hidden
matmuls run as one GEMM per step, which is why cuDNN (and so torch) chose it; the
two variants train equally well but their weights are not interchangeable.

Weight layout (as ``torch.nn.GRUCell``): ``weight_ih`` (3H, D) stacking W_ir|W_iz|W_in,
``weight_hh`` (3H, H) stacking W_hr|W_hz|W_hn, ``bias_ih``, ``bias_hh`` (3H,).
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.nn.cell_base import CellBase


def gru_step(
    x_proj: Tensor,
    h: Tensor,
    weight_hh: Tensor,
    bias_hh: Tensor | None,
    h_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """One step given ``x_proj = x_t W_ih^T + b_ih`` (B, 3H). Returns ``(h_t, h_t)``."""
    # recurrent dropout masks the matmul's input only; the carry z * h keeps the true state
    h_in = h if h_mask is None else h * h_mask
    h_proj = torch.nn.functional.linear(h_in, weight_hh, bias_hh)  # (B, 3H)
    x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
    h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    h_t = (1 - z) * n + z * h
    return h_t, h_t


class GRUCell(CellBase):
    """A GRU step as a module; ``state_dict`` keys equal ``torch.nn.GRUCell``'s."""

    kind = "gru"
    gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__(input_size, hidden_size, bias)

    def step(self, x_proj: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        return gru_step(x_proj, state, self.weight_hh, self.bias_hh)
