"""rnnkit.reference — RNN, LSTM and GRU in NumPy with backpropagation through time by hand.

The teaching copy and the test oracle: every equation of the torch layers, written out
(``rnn.py``, ``lstm.py``, ``gru.py`` one layer each; ``stack.py`` layers, directions and
lengths), with the backward pass derived step by step in the comments and checked by
central differences (``gradcheck.py``). NumPy only — importing this never imports torch.
Everything is float64, batch first, parameters keyed like torch's ``state_dict``.

    >>> import numpy as np
    >>> from rnnkit import reference as ref
    >>> params = ref.init_params("lstm", input_size=7, hidden_size=11, rng=0)
    >>> x = np.random.default_rng(1).standard_normal((3, 5, 7))            # (B, T, D)
    >>> output, h_n, c_n, cache = ref.forward("lstm", params, x, lengths=np.array([5, 2, 4]))
    >>> output.shape, h_n.shape
    ((3, 5, 11), (1, 3, 11))
    >>> grads = ref.backward(cache, d_output=np.ones_like(output))
    >>> grads["weight_ih_l0"].shape, len(grads["h_steps"])
    ((44, 7), 1)
"""

from __future__ import annotations

from rnnkit.reference.gradcheck import gradcheck, relative_errors
from rnnkit.reference.gru import gru_backward, gru_forward
from rnnkit.reference.lstm import lstm_backward, lstm_forward
from rnnkit.reference.params import GATES, param_names
from rnnkit.reference.rnn import rnn_backward, rnn_forward
from rnnkit.reference.stack import ForwardCache, backward, forward, init_params

__all__ = [
    "init_params",
    "forward",
    "backward",
    "gradcheck",
    "relative_errors",
    "param_names",
    "GATES",
    "ForwardCache",
    "rnn_forward",
    "rnn_backward",
    "lstm_forward",
    "lstm_backward",
    "gru_forward",
    "gru_backward",
]
