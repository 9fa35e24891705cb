"""``make_recurrent``: the one place a model turns ``cell`` into a recurrent layer.

``"rnn" | "lstm" | "gru"`` build a :class:`~rnnkit.nn.recurrent.Recurrent`; ``"mingru" |
"minlstm"`` a :class:`~rnnkit.nn.min_rnn.MinRecurrent`. Both have the same contract:
``forward(x, state=None, lengths=None) -> (output (B, T, dirs*H), state)``, and the attributes
``num_directions``, ``output_size``, ``hidden_size``, ``num_layers``.

The models' ``backend`` names map onto the min cells' paths: ``"auto"`` → ``"auto"`` (the
compiled CPU kernel or the parallel scan, one-step calls sequential), ``"fused"`` → ``"scan"``,
``"unrolled"`` → ``"sequential"``.
"""

from __future__ import annotations

from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.nn.min_rnn import MIN_CELLS, MinRecurrent
from rnnkit.nn.recurrent import Recurrent

__all__ = ["make_recurrent", "ALL_CELLS", "MIN_CELLS"]

ALL_CELLS = ("rnn", "lstm", "gru") + MIN_CELLS
_MIN_BACKEND = {"auto": "auto", "fused": "scan", "unrolled": "sequential", "scan": "scan", "sequential": "sequential",
                "native": "native"}


def make_recurrent(
    cell: str,
    input_size: int,
    hidden_size: int,
    num_layers: int = 1,
    bidirectional: bool = False,
    dropout: float = 0.0,
    backend: str = "auto",
    recurrent_dropout: float = 0.0,
    **kwargs,
) -> nn.Module:
    """A :class:`Recurrent` or :class:`MinRecurrent` for ``cell`` (see the module docstring)."""
    if cell in MIN_CELLS:
        if recurrent_dropout:
            raise ConfigError(
                f"recurrent_dropout={recurrent_dropout} does not apply to cell={cell!r}: its gates read only "
                "the input (there is no W_hh to mask); use dropout, or recurrent_dropout=0"
            )
        if backend not in _MIN_BACKEND:
            raise ConfigError(f"backend must be one of {', '.join(map(repr, _MIN_BACKEND))} for cell={cell!r}; "
                              f"got {backend!r}")
        return MinRecurrent(cell, input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                            dropout=dropout, backend=_MIN_BACKEND[backend], **kwargs)
    return Recurrent(cell, input_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                     dropout=dropout, backend=backend, recurrent_dropout=recurrent_dropout, **kwargs)
