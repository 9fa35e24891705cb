"""TransformerGenerator (the generate task's kind = "transformer"), in float64: a padded batch
equals each row alone; stream token by token (through a context window that keeps the
condition token) equals forward; generate is seeded, shaped, guided and refuses bad input."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models import TransformerGenerator, TransformerGeneratorConfig

V = 11
EXACT = dict(rtol=1e-10, atol=1e-12)


def _model(mode: str, condition: str = "label", positions: str = "sinusoidal", context: int = 64):
    torch.manual_seed(0)
    return TransformerGenerator(vocab_size=V, d_model=12, num_heads=3, num_layers=2, ff_size=20,
                                condition=condition, condition_size=3, condition_dim=5, condition_mode=mode,
                                positions=positions, max_positions=32, context_size=context).double().eval()


def _cond(condition: str, B: int) -> torch.Tensor:
    return torch.tensor([0, 2, 1, 0][:B]) if condition == "label" else torch.randn(B, 3, dtype=torch.float64)


@pytest.mark.parametrize("mode,condition,positions", [("init", "label", "sinusoidal"), ("input", "vector", "learned"),
                                                      ("both", "label", "learned")])
@torch.no_grad()
def test_padded_batch_equals_rows_alone_and_stream_equals_forward(mode, condition, positions):
    m = _model(mode, condition, positions)
    x, lengths, c = torch.randint(0, V, (3, 7)), torch.tensor([7, 3, 5]), _cond(condition, 3)
    logits, _ = m(x, c, lengths=lengths)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(logits[b, :n], m(x[b:b + 1, :n], c[b:b + 1])[0][0], **EXACT)
    full, _ = m(x, c)
    st = None
    for t in range(7):
        step, st = m.stream(x[:, t], c, st)
        torch.testing.assert_close(step, full[:, t], **EXACT)
    assert int(st[0]) == 7 + m.prefix
    # the condition differs per row: changing it changes the logits
    other = torch.tensor([1, 0, 2]) if condition == "label" else c + 1
    assert not torch.allclose(m(x, other)[0], full)


@torch.no_grad()
def test_window_keeps_the_condition_token():
    m = _model("init", context=4)
    x, c = torch.randint(0, V, (2, 9)), _cond("label", 2)
    st = None
    for t in range(9):
        _, st = m.stream(x[:, t], c, st)
    k = st[1][0][0]
    assert k.shape[2] == 4
    first = m.initial_state(m.embed_condition(c))[1][0][0]
    torch.testing.assert_close(k[:, :, :1], first, **EXACT)
    # within the window, a chunk after a carried state equals the whole forward
    m = _model("both", context=64)
    full, _ = m(x, c)
    _, st = m(x[:, :4], c)
    torch.testing.assert_close(m(x[:, 4:], c, st)[0], full[:, 4:], **EXACT)


def test_generate_shapes_seeds_guidance_and_errors():
    m = _model("both").float()
    c = torch.tensor([0, 2])
    a = m.generate(c, 6, temperature=1.0, top_k=5, seed=3)
    assert a.shape == (2, 6) and a.dtype == torch.long
    assert torch.equal(a, m.generate(c, 6, temperature=1.0, top_k=5, seed=3))
    greedy = m.generate(c, 5, temperature=0)
    with torch.no_grad():  # greedy = argmax of forward over bos + the generated tokens
        ids = torch.cat([torch.zeros(2, 1, dtype=torch.long), greedy[:, :-1]], 1)
        assert torch.equal(m(ids, c)[0].argmax(-1), greedy)
    g = m.generate(c, 4, temperature=0, guidance=2.0, away_from=torch.tensor([1, 1]))
    assert g.shape == (2, 4)
    seen = []
    m.generate(c, 3, top_p=0.9, seed=1, on_token=seen.append)
    assert len(seen) == 3 and seen[0].shape == (2,)
    with pytest.raises(ConfigError, match="guidance=1.0 needs away_from"):
        m.generate(c, 3, guidance=1.0)
    with pytest.raises(ShapeError, match="prompts of one length"):
        m.generate(c, 3, prime_ids=torch.zeros(2, 3, dtype=torch.long), prime_lengths=torch.tensor([3, 2]))
    with pytest.raises(ShapeError, match="condition must have batch size 3"):
        m(torch.zeros(3, 2, dtype=torch.long), c)


def test_config_errors_name_the_key():
    with pytest.raises(ConfigError, match="condition_mode"):
        TransformerGeneratorConfig(vocab_size=V, condition_mode="prefix").validate()
    with pytest.raises(ConfigError, match="context_size must be >= 2"):
        TransformerGeneratorConfig(vocab_size=V, context_size=1).validate()
    with pytest.raises(ConfigError, match="bos_id must lie in"):
        TransformerGeneratorConfig(vocab_size=V, bos_id=V).validate()
