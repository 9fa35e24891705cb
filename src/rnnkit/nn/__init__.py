"""rnnkit.nn — the recurrent core: cells (one step each) and the ``Recurrent`` layer.

See DESIGN.md: cells are pure steps ``cell(x_t, state) -> (h_t, state)`` with torch's
parameter names and gate order; ``Recurrent`` owns time, layers, directions, lengths
and the fused/unrolled switch.
"""

from rnnkit.nn.attention import AdditiveAttention, Attention, DotAttention, GeneralAttention, make_attention
from rnnkit.nn.crf import CRF
from rnnkit.nn.factory import ALL_CELLS, make_recurrent
from rnnkit.nn.gru_cell import GRUCell, gru_step
from rnnkit.nn.lstm_cell import LSTMCell, lstm_step
from rnnkit.nn.min_rnn import MIN_CELLS, MinRecurrent
from rnnkit.nn.recurrent import Recurrent
from rnnkit.nn.rnn_cell import RNNCell, rnn_step
from rnnkit.nn.sequence import length_mask, reverse_index, reverse_time
from rnnkit.nn.trace import Trace

__all__ = [
    "Recurrent",
    "MinRecurrent",
    "make_recurrent",
    "ALL_CELLS",
    "MIN_CELLS",
    "Trace",
    "CRF",
    "Attention",
    "DotAttention",
    "GeneralAttention",
    "AdditiveAttention",
    "make_attention",
    "RNNCell",
    "LSTMCell",
    "GRUCell",
    "rnn_step",
    "lstm_step",
    "gru_step",
    "length_mask",
    "reverse_index",
    "reverse_time",
]
