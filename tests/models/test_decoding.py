"""Sampling: seeded reproducibility, temperature -> 0 is argmax, top-k / top-p filters,
and generation from the language models."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models import ConditionalGenerator, LanguageModel
from rnnkit.models.decoding import filter_top_k, filter_top_p, sample_logits

V, H = 13, 11


def test_top_k_keeps_the_k_largest():
    logits = torch.tensor([[1.0, 5.0, 3.0, 4.0, 2.0]])
    kept = torch.isfinite(filter_top_k(logits, 2))
    assert kept.tolist() == [[False, True, False, True, False]]
    assert torch.equal(filter_top_k(logits, 9), logits)


def test_top_p_keeps_the_smallest_nucleus():
    probs = torch.tensor([[0.5, 0.05, 0.3, 0.15]])
    kept = torch.isfinite(filter_top_p(probs.log(), 0.8))
    assert kept.tolist() == [[True, False, True, False]]  # 0.5 + 0.3 reaches 0.8
    assert torch.isfinite(filter_top_p(probs.log(), 0.81)).tolist() == [[True, False, True, True]]
    assert torch.isfinite(filter_top_p(probs.log(), 0.1)).tolist() == [[True, False, False, False]]


def test_sampling_respects_the_filters_and_the_seed():
    logits = torch.randn(4, V)
    gen = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    a = torch.stack([sample_logits(logits, 1.0, top_k=3, generator=gen(7)) for _ in range(3)])
    assert bool((a == a[0]).all())
    top3 = logits.topk(3, dim=-1).indices
    draws = torch.stack([sample_logits(logits, 1.0, top_k=3, generator=gen(s)) for s in range(50)])  # (50, 4)
    assert bool((draws.unsqueeze(-1) == top3.unsqueeze(0)).any(-1).all())
    assert len(set(draws[:, 0].tolist())) > 1  # it does sample


def test_temperature_zero_and_near_zero_are_argmax():
    logits = torch.randn(5, V)
    assert torch.equal(sample_logits(logits, 0.0), logits.argmax(-1))
    assert torch.equal(sample_logits(logits, 1e-4, generator=torch.Generator().manual_seed(1)), logits.argmax(-1))


def test_generate_is_reproducible_with_a_seed_and_greedy_at_temperature_zero():
    model = LanguageModel(vocab_size=V, hidden_size=H, embedding_dim=H, tie_weights=True)
    prime = torch.tensor([[1, 2, 3], [4, 5, 6]])
    a = model.generate(prime, 10, temperature=1.2, top_k=5, top_p=0.9, seed=3)
    b = model.generate(prime, 10, temperature=1.2, top_k=5, top_p=0.9, seed=3)
    assert a.shape == (2, 10) and torch.equal(a, b)
    assert not torch.equal(a, model.generate(prime, 10, temperature=1.2, seed=4))
    greedy = model.generate(prime, 6, temperature=0)
    # greedy by hand: feed the argmax back one token at a time
    model.eval()
    logits, state = model(prime)
    expected = []
    tok = logits[:, -1].argmax(-1)
    for _ in range(6):
        expected.append(tok)
        logits, state = model(tok.unsqueeze(1), state)
        tok = logits[:, -1].argmax(-1)
    assert torch.equal(greedy, torch.stack(expected, 1))
    assert torch.equal(model.generate(prime, 6, temperature=1e-5, seed=0), greedy)


def test_generate_with_prompts_of_different_lengths_equals_each_alone():
    model = LanguageModel(vocab_size=V, hidden_size=H, cell="gru")
    prime = torch.tensor([[1, 2, 3, 4], [5, 6, 0, 0]])
    both = model.generate(prime, 5, temperature=0, prime_lengths=torch.tensor([4, 2]))
    assert torch.equal(both[1], model.generate(torch.tensor([5, 6]), 5, temperature=0)[0])
    assert torch.equal(both[0], model.generate(prime[:1], 5, temperature=0)[0])


def test_conditional_generation_depends_on_the_condition():
    model = ConditionalGenerator(vocab_size=V, hidden_size=H, condition_size=3, bos_id=1)
    labels = torch.tensor([0, 1, 2])
    out = model.generate(labels, 7, seed=5)
    assert out.shape == (3, 7)
    assert torch.equal(out, model.generate(labels, 7, seed=5))
    # Train label -> fixed sequence; greedy generation must then write it back.
    targets = torch.tensor([[3, 4, 5, 6], [7, 8, 9, 10], [11, 12, 2, 3]])
    inputs = torch.cat([torch.ones(3, 1, dtype=torch.long), targets[:, :-1]], 1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(200):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(inputs, labels)[0].reshape(-1, V), targets.reshape(-1))
        loss.backward()
        opt.step()
    assert torch.equal(model.generate(labels, 4, temperature=0), targets)


def test_guidance_sharpens_the_condition_and_is_neutral_against_itself():
    torch.manual_seed(0)
    model = ConditionalGenerator(vocab_size=V, hidden_size=H, condition_size=2, bos_id=1).eval()
    labels, other = torch.tensor([0, 1, 0]), torch.tensor([1, 0, 1])
    # steering away from the condition itself changes nothing (greedy, so no sampling noise)
    plain = model.generate(labels, 6, temperature=0)
    assert torch.equal(model.generate(labels, 6, temperature=0, guidance=2.0, away_from=labels), plain)
    # the first token's guided log-probabilities are the formula's
    with torch.no_grad():
        start = torch.ones(3, 1, dtype=torch.long)
        wanted = model(start, labels)[0][:, 0].log_softmax(-1)
        away = model(start, other)[0][:, 0].log_softmax(-1)
    expected = torch.argmax(wanted + 3.0 * (wanted - away), -1)
    assert torch.equal(model.generate(labels, 1, temperature=0, guidance=3.0, away_from=other)[:, 0], expected)
    with pytest.raises(ConfigError, match="guidance=1.0 needs away_from"):
        model.generate(labels, 3, guidance=1.0)
    with pytest.raises(ConfigError, match=r"guidance must be >= 0 \(0: none\); got -1"):
        model.generate(labels, 3, guidance=-1, away_from=other)
    with pytest.raises(ShapeError, match=r"away_from must have the shape of condition \(3,\); got \(2,\)"):
        model.generate(labels, 3, guidance=1.0, away_from=other[:2])


def test_sampling_errors():
    model = LanguageModel(vocab_size=V, hidden_size=H)
    with pytest.raises(ConfigError, match="temperature must be >= 0 \\(0 means argmax\\); got -1"):
        model.generate(torch.tensor([1]), 3, temperature=-1)
    with pytest.raises(ConfigError, match="top_k must be a positive integer or None; got 0"):
        model.generate(torch.tensor([1]), 3, top_k=0)
    with pytest.raises(ConfigError, match=r"top_p must be in \(0, 1\] or None; got 1.5"):
        model.generate(torch.tensor([1]), 3, top_p=1.5)
    with pytest.raises(ConfigError, match="length must be a positive integer"):
        model.generate(torch.tensor([1]), 0)
    with pytest.raises(ShapeError, match=r"prime_ids must lie in \[0, 13\) because vocab_size=13; got 13"):
        model.generate(torch.tensor([13]), 3)
