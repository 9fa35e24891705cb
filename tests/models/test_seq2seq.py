"""Seq2Seq decoding: beam 1 equals greedy, beams, attention weights, teacher forcing."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models import Seq2Seq

V_SRC, V_TGT, H = 13, 9, 11


def _model(**kw) -> Seq2Seq:
    return Seq2Seq(src_vocab_size=V_SRC, tgt_vocab_size=V_TGT, hidden_size=H, embedding_dim=6, **kw)


@pytest.mark.parametrize("attention,bi", [("additive", True), ("dot", False), ("general", False), ("none", False)])
def test_beam_one_equals_greedy(attention, bi):
    model = _model(attention=attention, bidirectional_encoder=bi, input_feeding=attention != "none", num_layers=2)
    src, lengths = torch.randint(0, V_SRC, (3, 5)), torch.tensor([5, 2, 4])
    greedy = model.greedy_decode(src, lengths, max_len=8)
    beam = model.beam_search(src, lengths, beam_size=1, max_len=8)
    assert torch.equal(greedy.tokens, beam.tokens)
    assert torch.equal(greedy.lengths, beam.lengths)
    torch.testing.assert_close(greedy.scores, beam.scores)
    if attention != "none":
        torch.testing.assert_close(greedy.attention, beam.attention)


def _train_copy_task(model: Seq2Seq, steps: int = 250) -> tuple[torch.Tensor, torch.Tensor]:
    src = torch.tensor([[3, 4, 5, 6], [7, 8, 3, 0], [5, 5, 0, 0]])
    lengths = torch.tensor([4, 3, 2])
    tgt = torch.tensor([[3, 4, 5, 6, 2], [7, 8, 3, 2, 0], [5, 5, 2, 0, 0]])  # copy, then eos=2
    tgt_in = torch.cat([torch.ones(3, 1, dtype=torch.long), tgt[:, :-1]], 1)
    opt = torch.optim.Adam(model.parameters(), lr=3e-2)
    for _ in range(steps):
        opt.zero_grad()
        logits = model(src, tgt_in, lengths).logits
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V_TGT), tgt.reshape(-1), ignore_index=0)
        loss.backward()
        opt.step()
    return src, lengths


def test_trained_copy_task_decodes_with_greedy_and_beam():
    torch.manual_seed(1)
    model = _model(attention="general")
    src, lengths = _train_copy_task(model)
    expected = [[3, 4, 5, 6, 2], [7, 8, 3, 2], [5, 5, 2]]
    for decoded in (model.greedy_decode(src, lengths, max_len=6), model.beam_search(src, lengths, beam_size=3, max_len=6)):
        assert decoded.lengths.tolist() == [5, 4, 3]
        for b in range(3):
            L = int(decoded.lengths[b])
            assert decoded.tokens[b, :L].tolist() == expected[b]
            assert bool((decoded.tokens[b, L:] == 0).all())  # pad after eos
            att = decoded.attention[b]
            torch.testing.assert_close(att[:L].sum(-1), torch.ones(L))
            assert bool((att[:, int(lengths[b]):] == 0).all()) and bool((att[L:] == 0).all())
        assert bool((decoded.scores <= 0).all())


@pytest.mark.parametrize("beam_size,penalty", [(1, 1.0), (4, 0.0), (4, 1.0)])
def test_beam_scores_are_the_teacher_forced_log_probability_of_the_result(beam_size, penalty):
    torch.manual_seed(2)
    model = _model(attention="additive", bidirectional_encoder=True)
    src, lengths = _train_copy_task(model, steps=40)  # half-trained: decisions are not trivial
    out = model.beam_search(src, lengths, beam_size=beam_size, max_len=6, length_penalty=penalty)
    tgt_in = torch.cat([torch.ones(3, 1, dtype=torch.long), out.tokens[:, :-1]], 1)
    with torch.no_grad():
        logp = torch.log_softmax(model(src, tgt_in, lengths).logits, -1)
    per_token = logp.gather(2, out.tokens.unsqueeze(-1)).squeeze(-1)
    mask = torch.arange(out.tokens.shape[1]) < out.lengths.unsqueeze(1)
    torch.testing.assert_close(out.scores, (per_token * mask).sum(1), atol=1e-4, rtol=1e-4)


def test_teacher_forcing_ratio_applies_in_training_only():
    model = _model(attention="general", teacher_forcing_ratio=0.0)
    src, tgt = torch.randint(0, V_SRC, (3, 5)), torch.randint(0, V_TGT, (3, 4))
    free = model(src, tgt).logits
    forced = model.eval()(src, tgt).logits
    assert not torch.allclose(free, forced)
    # ratio 0: after the first (bos) input each step reads the model's own previous argmax,
    # exactly what greedy decoding does up to each sequence's eos
    model.train()
    tgt[:, 0] = 1
    own = model(src, tgt).logits.argmax(-1)
    greedy = model.greedy_decode(src, max_len=4)
    for b in range(3):
        L = int(greedy.lengths[b])
        assert own[b, :L].tolist() == greedy.tokens[b, :L].tolist()
    seeded = [model(src, tgt, generator=torch.Generator().manual_seed(0)).logits for _ in range(2)]
    torch.testing.assert_close(seeded[0], seeded[1])


def test_decoding_argument_errors():
    model = _model()
    src = torch.randint(0, V_SRC, (2, 3))
    with pytest.raises(ConfigError, match="beam_size must be a positive integer; got 0"):
        model.beam_search(src, beam_size=0)
    with pytest.raises(ConfigError, match="max_len must be a positive integer; got 0"):
        model.greedy_decode(src, max_len=0)
    with pytest.raises(ConfigError, match="length_penalty must be >= 0; got -1"):
        model.beam_search(src, length_penalty=-1)
