"""The parallel teacher-forced decoder (no input feeding: one fused decoder call, attention
for all steps at once, the output layer on the real positions) equals the per-step loop,
forward and backward, in float64; a padded batch equals each pair alone; the adaptive
softmax's loss is its log-probabilities' cross-entropy."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models import Seq2Seq

V_SRC, V_TGT = 13, 80


def _model(**kw) -> Seq2Seq:
    torch.manual_seed(0)
    kw = {"hidden_size": 7, "embedding_dim": 5, "input_feeding": False, **kw}
    return Seq2Seq(src_vocab_size=V_SRC, tgt_vocab_size=V_TGT, **kw).double()


def _batch():
    g = torch.Generator().manual_seed(3)
    src_len, tgt_len = torch.tensor([5, 2, 4]), torch.tensor([4, 6, 1])
    src = torch.randint(1, V_SRC, (3, 5), generator=g).masked_fill(torch.arange(5) >= src_len[:, None], 0)
    tgt_in = torch.randint(1, V_TGT, (3, 6), generator=g).masked_fill(torch.arange(6) >= tgt_len[:, None], 0)
    tgt_out = torch.randint(3, V_TGT, (3, 6), generator=g).masked_fill(torch.arange(6) >= tgt_len[:, None], 0)
    return src, src_len, tgt_in, tgt_out, tgt_len


def _loop(model: Seq2Seq) -> Seq2Seq:
    model.parallel = lambda: False  # the per-step path, as input feeding takes
    return model


@pytest.mark.parametrize("kw", [dict(attention="general", bidirectional_encoder=True, num_layers=2),
                                dict(attention="additive", cell="gru"), dict(attention="dot"),
                                dict(attention="none"), dict(attention="general", softmax="adaptive", hidden_size=16)])
def test_parallel_equals_the_step_loop_forward_and_backward(kw):
    src, src_len, tgt_in, tgt_out, tgt_len = _batch()
    fast, loop = _model(**kw), _loop(_model(**kw))
    assert fast.parallel()
    real = torch.arange(6) < tgt_len[:, None]
    a, b = fast(src, tgt_in, src_len, tgt_len), loop(src, tgt_in, src_len, tgt_len)
    torch.testing.assert_close(a.logits[real], b.logits[real], rtol=1e-10, atol=1e-10)
    if a.attention is not None:
        torch.testing.assert_close(a.attention[real], b.attention[real], rtol=1e-10, atol=1e-10)
    la, lb = fast(src, tgt_in, src_len, tgt_len, tgt_out=tgt_out), loop(src, tgt_in, src_len, tgt_len, tgt_out=tgt_out)
    torch.testing.assert_close(la.loss, lb.loss, rtol=1e-10, atol=1e-10)
    assert torch.equal(la.predictions, lb.predictions) and torch.equal(la.targets, tgt_out[real])
    la.loss.backward()
    lb.loss.backward()
    for (name, p), q in zip(fast.named_parameters(), loop.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-8, atol=1e-10, msg=name)
    # the loss is the cross-entropy of the forward's logits (log-probabilities with the adaptive softmax)
    ce = torch.nn.functional.cross_entropy(a.logits[real], tgt_out[real])
    torch.testing.assert_close(la.loss.detach(), ce.detach(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("softmax", ["full", "adaptive"])
def test_padded_batch_equals_each_pair_alone(softmax):
    src, src_len, tgt_in, tgt_out, tgt_len = _batch()
    model = _model(attention="general", bidirectional_encoder=True, softmax=softmax, hidden_size=16).eval()
    batch = model(src, tgt_in, src_len, tgt_len).logits
    for b in range(3):
        s, t = src[b:b + 1, :src_len[b]], tgt_in[b:b + 1, :tgt_len[b]]
        alone = model(s, t).logits[0]
        torch.testing.assert_close(batch[b, :tgt_len[b]], alone, rtol=1e-10, atol=1e-10)


def test_greedy_decoding_agrees_with_the_parallel_logits():
    src, src_len, *_ = _batch()
    model = _model(attention="general", bidirectional_encoder=True, softmax="adaptive", hidden_size=16)
    out = model.greedy_decode(src, src_len, max_len=5)
    tgt_in = torch.cat([torch.full((3, 1), model.config.bos_id), out.tokens[:, :-1]], 1)
    logits = model.eval()(src, tgt_in, src_len).logits
    for b in range(3):
        n = int(out.lengths[b])
        assert torch.equal(logits[b, :n].argmax(-1), out.tokens[b, :n])
    torch.testing.assert_close(out.scores, torch.stack([
        logits[b].gather(1, out.tokens[b].unsqueeze(1))[: int(out.lengths[b])].sum() for b in range(3)]).float(),
        rtol=1e-5, atol=1e-5)


def test_adaptive_needs_a_vocabulary_and_tgt_out_its_shape():
    with pytest.raises(ConfigError, match=r"softmax='adaptive' needs tgt_vocab_size >= 64.*got tgt_vocab_size=9"):
        Seq2Seq(src_vocab_size=5, tgt_vocab_size=9, softmax="adaptive")
    with pytest.raises(ConfigError, match=r"needs hidden_size >= 16 .*got hidden_size=8"):
        Seq2Seq(src_vocab_size=5, tgt_vocab_size=90, hidden_size=8, softmax="adaptive")
    src, src_len, tgt_in, tgt_out, tgt_len = _batch()
    with pytest.raises(ShapeError, match=r"tgt_out must have the shape of tgt_in \(3, 6\); got \(3, 5\)"):
        _model()(src, tgt_in, src_len, tgt_len, tgt_out=tgt_out[:, :5])


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
def test_prepared_keys_give_the_same_attention(kind):
    from rnnkit.nn.attention import make_attention

    torch.manual_seed(1)
    att = make_attention(kind, 6, 6).double()
    q, k, lengths = torch.randn(2, 3, 6, dtype=torch.float64), torch.randn(2, 4, 6, dtype=torch.float64), torch.tensor([4, 2])
    plain, prepared = att(q, k, lengths), att(q, k, lengths, prepared=att.prepare(k))
    for a, b in zip(plain, prepared):
        assert torch.equal(a, b)
    assert torch.equal(att.score(q, k), att.score_prepared(q, att.prepare(k)))
