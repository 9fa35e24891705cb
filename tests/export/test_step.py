"""Recurrent.step (the generation loop's per-token path: cell ops, no checks) equals forward
on one-step chunks, and LanguageModel.generate through it writes what the checked path writes."""

from __future__ import annotations

import pytest
import torch

from rnnkit.models.language_model import LanguageModel
from rnnkit.nn.recurrent import Recurrent


@pytest.mark.parametrize("cell,nonlinearity", [("lstm", "tanh"), ("gru", "tanh"), ("rnn", "tanh"), ("rnn", "relu")])
def test_step_equals_forward(cell, nonlinearity):
    torch.manual_seed(0)
    rnn = Recurrent(cell, 5, 7, num_layers=3, nonlinearity=nonlinearity).eval()
    x = torch.randn(4, 6, 5)
    with torch.no_grad():
        full, final = rnn(x)
        state = (torch.zeros(3, 4, 7), torch.zeros(3, 4, 7)) if cell == "lstm" else torch.zeros(3, 4, 7)
        outs = []
        for t in range(6):
            h, state = rnn.step(x[:, t], state)
            outs.append(h)
    torch.testing.assert_close(torch.stack(outs, 1), full, atol=1e-6, rtol=0)
    for a, b in zip(state if cell == "lstm" else (state,), final if cell == "lstm" else (final,)):
        torch.testing.assert_close(a, b, atol=1e-6, rtol=0)


def test_generate_fast_path_equals_the_checked_path(monkeypatch):
    torch.manual_seed(0)
    lm = LanguageModel(vocab_size=11, embedding_dim=6, hidden_size=8, num_layers=2).eval()
    prime = torch.tensor([[1, 2, 3], [4, 5, 0]])
    lengths = torch.tensor([3, 2])
    fast = lm.generate(prime, 25, temperature=0.9, top_p=0.9, seed=4, prime_lengths=lengths)
    greedy = lm.generate(prime, 25, temperature=0, prime_lengths=lengths)
    import rnnkit.models.language_model as lm_module

    monkeypatch.setattr(lm_module, "Recurrent", type("NotRecurrent", (), {}))  # forces the checked path
    slow = lm.generate(prime, 25, temperature=0.9, top_p=0.9, seed=4, prime_lengths=lengths)
    slow_greedy = lm.generate(prime, 25, temperature=0, prime_lengths=lengths)
    assert torch.equal(fast, slow) and torch.equal(greedy, slow_greedy)
