"""The transformer language model's export graphs, run eagerly in float64 (no export): the
sequence graph with an empty cache and padded rows gives each row's logits as the row alone;
a chunk after a cache and the step graph token by token (past the ``context_size`` window)
equal ``TransformerLanguageModel.forward`` / ``stream`` with the same state, caches included."""

from __future__ import annotations

import pytest
import torch

from rnnkit.export.graphs import TransformerLMSequenceGraph, TransformerLMStepGraph
from rnnkit.models import TransformerLanguageModel

V = 13
EXACT = dict(rtol=1e-10, atol=1e-12)


def _model(positions: str) -> TransformerLanguageModel:
    torch.manual_seed(0)
    return TransformerLanguageModel(vocab_size=V, d_model=12, num_heads=3, num_layers=2, ff_size=20,
                                    context_size=5, positions=positions, max_positions=32).double().eval()


def _flat(state) -> list[torch.Tensor]:
    position, caches = state
    return [position, torch.stack([k for k, _ in caches]), torch.stack([v for _, v in caches])]


def _empty(graph, batch: int) -> tuple[torch.Tensor, ...]:
    return tuple(s.double() if s.is_floating_point() else s for s in graph.zero_state(batch))


@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
@torch.no_grad()
def test_graphs_equal_the_model_with_padding_and_a_cache_window(positions):
    m = _model(positions)
    seq, step = TransformerLMSequenceGraph(m), TransformerLMStepGraph(m)
    x = torch.randint(0, V, (3, 9))
    lengths = torch.tensor([9, 4, 6])
    logits, *_ = seq(x, lengths, *_empty(seq, 3))
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(logits[b, :n], m(x[b:b + 1, :n])[0][0], **EXACT)
    # a chunk after a 4-step cache (the window of 5 cuts it to the last 5 of 4 + 3)
    _, state = m(x[:, :4])
    want, after = m(x[:, 4:7], state)
    got = seq(x[:, 4:7], torch.full((3,), 3), *_flat(state))
    for g, w in zip(got, [want, *_flat(after)]):
        torch.testing.assert_close(g, w, **EXACT)
    assert got[2].shape[3] == 5 and int(got[1]) == 7
    # token by token from an empty cache (past = 0), 9 steps through a window of 5
    st, gst = None, _empty(step, 3)
    for t in range(9):
        want, st = m.stream(x[:, t], st)
        got, *gst = step(x[:, t], *gst)
        torch.testing.assert_close(got, want, **EXACT)
    for g, w in zip(gst, _flat(st)):
        torch.testing.assert_close(g, w, **EXACT)
