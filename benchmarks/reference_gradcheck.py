"""Relative error of the NumPy reference's hand-written BPTT against central differences.

    python benchmarks/reference_gradcheck.py

float64, B=3, T=5, D=7, H=11 (single layer) and a 2-layer bidirectional stack with
lengths [5, 2, 4] (H=6); the error is per array, ||a - n|| / (||a|| + ||n||), max over
every parameter, the inputs and the initial states.
"""

from __future__ import annotations

import numpy as np

from rnnkit import reference as ref

CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


def check(cell: str, nonlinearity: str, num_layers: int, bidirectional: bool, hidden: int, lengths) -> float:
    rng = np.random.default_rng(0)
    dirs = 2 if bidirectional else 1
    params = ref.init_params(cell, 7, hidden, num_layers=num_layers, bidirectional=bidirectional, rng=1)
    x = rng.standard_normal((3, 5, 7))
    h0 = rng.standard_normal((num_layers * dirs, 3, hidden))
    c0 = rng.standard_normal((num_layers * dirs, 3, hidden)) if cell == "lstm" else None
    return ref.gradcheck(cell, params, x, h0, c0, num_layers=num_layers, bidirectional=bidirectional,
                         nonlinearity=nonlinearity, lengths=lengths)


def main() -> None:
    print(f"{'cell':<9} {'1 layer, H=11':>14} {'2 layers bi + lengths, H=6':>28}")
    for cell, nonlinearity in CELLS:
        single = check(cell, nonlinearity, 1, False, 11, None)
        stacked = check(cell, nonlinearity, 2, True, 6, np.array([5, 2, 4]))
        print(f"{cell + '-' + nonlinearity if cell == 'rnn' else cell:<9} {single:>14.2e} {stacked:>28.2e}")


if __name__ == "__main__":
    main()
