"""CRF: forward algorithm and Viterbi against brute-force enumeration over all paths."""

from __future__ import annotations

import itertools

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.crf import CRF


def _brute_force(crf: CRF, emissions: torch.Tensor, length: int) -> tuple[torch.Tensor, list[int]]:
    """log Z and the best path of one sequence (T, C) by enumerating all C**length paths."""
    C = crf.num_tags
    scores, paths = [], []
    for path in itertools.product(range(C), repeat=length):
        tags = torch.tensor(path + (0,) * (emissions.shape[0] - length)).unsqueeze(0)
        scores.append(crf.score(emissions.unsqueeze(0), tags, torch.tensor([length]))[0])
        paths.append(list(path))
    scores_t = torch.stack(scores)
    return torch.logsumexp(scores_t, 0), paths[int(scores_t.argmax())]


def _explicit_score(crf: CRF, emissions: torch.Tensor, path: list[int]) -> float:
    s = crf.start_transitions[path[0]] + crf.end_transitions[path[-1]]
    s = s + sum(emissions[t, y] for t, y in enumerate(path))
    s = s + sum(crf.transitions[a, b] for a, b in zip(path, path[1:]))
    return float(s.detach())


@pytest.fixture
def crf_case():
    torch.manual_seed(3)
    crf = CRF(3).double()
    with torch.no_grad():
        for p in crf.parameters():
            p.normal_()
    emissions = torch.randn(4, 5, 3, dtype=torch.float64)
    lengths = torch.tensor([5, 3, 1, 4])
    return crf, emissions, lengths


def test_score_matches_the_written_out_sum(crf_case):
    crf, emissions, lengths = crf_case
    path = [2, 0, 1]
    tags = torch.tensor([path + [1, 1]])
    got = crf.score(emissions[1:2], tags, lengths[1:2])
    assert got.item() == pytest.approx(_explicit_score(crf, emissions[1], path), abs=1e-12)


def test_log_partition_equals_brute_force_enumeration(crf_case):
    crf, emissions, lengths = crf_case
    log_z = crf.log_partition(emissions, lengths)
    for b in range(4):
        expected, _ = _brute_force(crf, emissions[b], int(lengths[b]))
        assert log_z[b].item() == pytest.approx(expected.item(), abs=1e-10)


def test_viterbi_equals_brute_force_argmax(crf_case):
    crf, emissions, lengths = crf_case
    tags, score = crf.decode(emissions, lengths)
    assert tags.shape == (4, 5)
    for b in range(4):
        L = int(lengths[b])
        _, best = _brute_force(crf, emissions[b], L)
        assert tags[b, :L].tolist() == best
        assert tags[b, L:].tolist() == [0] * (5 - L)
        assert score[b].item() == pytest.approx(_explicit_score(crf, emissions[b], best), abs=1e-10)


def test_padded_batch_equals_each_sequence_alone(crf_case):
    crf, emissions, lengths = crf_case
    tags = torch.randint(0, 3, (4, 5))
    nll = crf(emissions, tags, lengths, reduction="none")
    decoded, _ = crf.decode(emissions, lengths)
    for b in range(4):
        L = int(lengths[b])
        alone = crf(emissions[b : b + 1, :L], tags[b : b + 1, :L], reduction="none")
        assert nll[b].item() == pytest.approx(alone.item(), abs=1e-10)
        assert decoded[b, :L].tolist() == crf.decode(emissions[b : b + 1, :L])[0][0].tolist()


def test_nll_is_non_negative_and_reductions_agree(crf_case):
    crf, emissions, lengths = crf_case
    tags = torch.randint(0, 3, (4, 5))
    per_seq = crf(emissions, tags, lengths, reduction="none")
    assert bool((per_seq >= 0).all())
    assert crf(emissions, tags, lengths).item() == pytest.approx(per_seq.mean().item())
    assert crf(emissions, tags, lengths, reduction="sum").item() == pytest.approx(per_seq.sum().item())
    assert crf(emissions, tags, lengths, reduction="token_mean").item() == pytest.approx(
        per_seq.sum().item() / 13
    )


def test_training_the_crf_learns_the_transitions():
    torch.manual_seed(0)
    crf = CRF(2)
    # Emissions carry no information; the tags alternate, so only transitions can explain them.
    emissions = torch.zeros(2, 6, 2)
    tags = torch.tensor([[0, 1, 0, 1, 0, 1], [1, 0, 1, 0, 1, 0]])
    opt = torch.optim.Adam(crf.parameters(), lr=0.1)
    for _ in range(100):
        opt.zero_grad()
        loss = crf(emissions, tags)
        loss.backward()
        opt.step()
    assert loss.item() < 0.8  # only the first tag is uncertain: log 2 = 0.69
    decoded, _ = crf.decode(emissions)
    assert all(int(decoded[b, t]) != int(decoded[b, t + 1]) for b in range(2) for t in range(5))


def test_errors_name_the_argument():
    crf = CRF(3)
    with pytest.raises(ConfigError, match="num_tags must be a positive integer; got 0"):
        CRF(0)
    with pytest.raises(ShapeError, match=r"emissions must have shape \(B, T, 3\) because num_tags=3; got \(2, 4, 5\)"):
        crf.decode(torch.zeros(2, 4, 5))
    with pytest.raises(ShapeError, match=r"lengths must lie in \[1, 4\]; got \[0, 4\]"):
        crf.decode(torch.zeros(2, 4, 3), torch.tensor([0, 4]))
    with pytest.raises(ShapeError, match=r"tags must have shape \(2, 4\)"):
        crf(torch.zeros(2, 4, 3), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ConfigError, match="reduction must be one of"):
        crf(torch.zeros(2, 4, 3), torch.zeros(2, 4, dtype=torch.long), reduction="avg")
