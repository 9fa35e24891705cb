r"""Chrono initialisation of gate biases (Tallec & Ollivier 2018, "Can recurrent neural networks
warp time?").

A gated cell keeps a fraction ``a = sigmoid(b_keep + ...)`` of its state each step, so a unit
whose keep gate sits near ``1 - 1/tau`` remembers for about ``tau`` steps. Torch's uniform bias
init puts every keep gate near 1/2: a memory of one or two steps, and a gradient that shrinks by
half per step back in time (the vanishing-gradient picture of ``docs/tutorial``). Chrono
initialisation instead draws each unit's time constant ``tau - 1 ~ U(1, max_steps - 1)`` and sets
the keep bias to ``log(tau - 1)`` (so ``sigmoid = 1 - 1/tau``) and the write bias to its negative,
spreading the units' memories over the whole range of dependencies the data has.

On the adding problem at T = 1000 (``benchmarks/rnn_vs_transformer.py adding``) minGRU and
minLSTM learn with ``chrono_init = 1000`` and stay at the mean predictor without it.

Where the biases go, per cell (gate orders as the cells' docstrings):

=========  ==========================================  =============================
cell       keep bias = log(tau - 1)                     write bias = -log(tau - 1)
=========  ==========================================  =============================
lstm       forget gate f (``bias_ih``; ``bias_hh`` 0)   input gate i
gru        update gate z (h = (1 - z) n + z h)          —
mingru     —                                            z (a = 1 - z)
minlstm    f                                            i
=========  ==========================================  =============================

A vanilla RNN has no gate to set, so it refuses ``chrono_init``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnnkit.errors import ConfigError

__all__ = ["chrono_bias", "check_chrono"]

CHRONO_CELLS = ("lstm", "gru", "mingru", "minlstm")


def check_chrono(chrono_init: int | None, cell: str, name: str = "chrono_init") -> None:
    """Raise a :class:`ConfigError` (naming the argument ``name``) unless ``chrono_init`` is None or
    an int >= 2 for a gated cell."""
    if chrono_init is None:
        return
    if not isinstance(chrono_init, int) or isinstance(chrono_init, bool) or chrono_init < 2:
        raise ConfigError(f"{name} must be None or an int >= 2 (the longest dependency expected, in "
                          f"steps); got {chrono_init!r}")
    if cell not in CHRONO_CELLS:
        raise ConfigError(f"{name} sets gate biases, and cell={cell!r} has no gate; use it with "
                          f"{', '.join(CHRONO_CELLS)}, or {name}=None")


def chrono_bias(hidden_size: int, max_steps: int, like: Tensor) -> Tensor:
    """``log(U(1, max_steps - 1))`` for each of ``hidden_size`` units, on ``like``'s device and dtype
    (drawn from torch's global generator, as every other initialiser)."""
    return torch.empty(hidden_size, dtype=like.dtype, device=like.device).uniform_(1.0, max_steps - 1.0).log_()
