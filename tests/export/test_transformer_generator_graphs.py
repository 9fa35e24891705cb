"""TransformerGenerator's export graphs run eagerly in float64 (no export), every condition_mode:
the condition graph gives the embedded condition and the model's starting state (the condition
token's cache, or an empty one in mode input); the step graph token by token, past the
``context_size`` window (the condition token kept), equals ``TransformerGenerator.stream``,
logits and caches."""

from __future__ import annotations

import pytest
import torch

from rnnkit.export.graphs import TransformerGeneratorConditionGraph, TransformerGeneratorStepGraph
from rnnkit.models import TransformerGenerator

V = 11
EXACT = dict(rtol=1e-10, atol=1e-12)


def _flat(state) -> list[torch.Tensor]:
    position, caches = state
    return [position, torch.stack([k for k, _ in caches]), torch.stack([v for _, v in caches])]


@pytest.mark.parametrize("mode,condition", [("init", "label"), ("input", "vector"), ("both", "vector")])
@torch.no_grad()
def test_condition_and_step_graphs_equal_the_model(mode, condition):
    torch.manual_seed(0)
    m = TransformerGenerator(vocab_size=V, d_model=12, num_heads=3, num_layers=2, ff_size=20, condition=condition,
                             condition_size=3, condition_dim=5, condition_mode=mode, context_size=4,
                             positions="learned", max_positions=32).double().eval()
    cg, sg = TransformerGeneratorConditionGraph(m), TransformerGeneratorStepGraph(m)
    assert sg.inputs == ("ids", *(("cond",) if mode != "init" else ()), "position", "keys", "values")
    c = torch.tensor([2, 0, 1]) if condition == "label" else torch.randn(3, 3, dtype=torch.float64)
    cond, *gst = cg(c)
    torch.testing.assert_close(cond, m.embed_condition(c), **EXACT)
    assert gst[1].shape == (2, 3, 3, int(mode != "input"), 4) and int(gst[0]) == int(mode != "input")
    x, st = torch.randint(0, V, (3, 9)), None
    for t in range(9):  # 9 tokens through a window of 4
        want, st = m.stream(x[:, t], c, st)
        got, *gst = sg(x[:, t], *((cond,) if mode != "init" else ()), *gst)
        torch.testing.assert_close(got, want, **EXACT)
    for g, w in zip(gst, _flat(st)):
        torch.testing.assert_close(g, w, **EXACT)
    assert gst[1].shape[3] == 4
