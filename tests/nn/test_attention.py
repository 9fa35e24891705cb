"""Attention: scores by hand, masking from lengths, shapes, errors."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.nn.attention import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    make_attention,
)

B, TQ, TS, Q, K = 3, 4, 5, 7, 6


def test_dot_attention_by_hand():
    q = torch.randn(B, K)
    keys = torch.randn(B, TS, K)
    context, weights = DotAttention(K, K)(q, keys)
    expected_w = torch.softmax(torch.einsum("bk,bsk->bs", q, keys), dim=-1)
    torch.testing.assert_close(weights, expected_w)
    torch.testing.assert_close(context, torch.einsum("bs,bsk->bk", expected_w, keys))


def test_general_attention_by_hand():
    att = GeneralAttention(Q, K)
    q, keys = torch.randn(B, Q), torch.randn(B, TS, K)
    _, weights = att(q, keys)
    W = att.proj.weight  # (Q, K)
    expected = torch.softmax(torch.einsum("bq,qk,bsk->bs", q, W, keys), dim=-1)
    torch.testing.assert_close(weights, expected)


def test_additive_attention_by_hand():
    att = AdditiveAttention(Q, K, attention_size=8)
    q, keys = torch.randn(B, Q), torch.randn(B, TS, K)
    _, weights = att(q, keys)
    hidden = torch.tanh(att.query_proj(q).unsqueeze(1) + att.key_proj(keys))  # (B, TS, 8)
    expected = torch.softmax(att.v(hidden).squeeze(-1), dim=-1)
    torch.testing.assert_close(weights, expected)


@pytest.mark.parametrize("kind", ["dot", "general", "additive"])
def test_masking_many_queries_and_padding_invariance(kind):
    qsize = K if kind == "dot" else Q
    att = make_attention(kind, qsize, K)
    q = torch.randn(B, TQ, qsize)
    keys = torch.randn(B, TS, K)
    lengths = torch.tensor([5, 2, 3])
    context, weights = att(q, keys, lengths)
    assert context.shape == (B, TQ, K) and weights.shape == (B, TQ, TS)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, TQ))
    assert bool((weights[1, :, 2:] == 0).all()) and bool((weights[2, :, 3:] == 0).all())
    # Garbage in the padded keys changes nothing; each sequence alone gives the same result.
    noisy = keys.clone()
    noisy[1, 2:] = 100.0
    torch.testing.assert_close(att(q, noisy, lengths)[0], context)
    for b in range(B):
        L = int(lengths[b])
        alone_c, alone_w = att(q[b : b + 1], keys[b : b + 1, :L])
        torch.testing.assert_close(alone_c[0], context[b])
        torch.testing.assert_close(alone_w[0], weights[b, :, :L])
    # One query (B, Q) equals the first of many.
    c1, w1 = att(q[:, 0], keys, lengths)
    torch.testing.assert_close(c1, context[:, 0])
    torch.testing.assert_close(w1, weights[:, 0])


def test_values_differ_from_keys():
    att = DotAttention(K, K)
    q, keys, values = torch.randn(B, K), torch.randn(B, TS, K), torch.randn(B, TS, 2)
    context, weights = att(q, keys, values=values)
    assert context.shape == (B, 2)
    torch.testing.assert_close(context, torch.einsum("bs,bsv->bv", weights, values))


def test_length_mask():
    from rnnkit.nn import length_mask

    assert length_mask(torch.tensor([1, 3]), 3).tolist() == [[True, False, False], [True, True, True]]


def test_errors_name_the_argument():
    with pytest.raises(ConfigError, match="attention must be one of additive, dot, general; got 'luong'"):
        make_attention("luong", 4, 4)
    with pytest.raises(ConfigError, match="dot attention needs query_size == key_size; got query_size=7, key_size=6"):
        DotAttention(7, 6)
    att = GeneralAttention(Q, K)
    with pytest.raises(ShapeError, match=r"query must have shape \(B, 7\) or \(B, Tq, 7\) because query_size=7; got \(3, 6\)"):
        att(torch.randn(B, 6), torch.randn(B, TS, K))
    with pytest.raises(ShapeError, match=r"keys must have shape \(3, Ts, 6\)"):
        att(torch.randn(B, Q), torch.randn(B, TS, 5))
    with pytest.raises(ShapeError, match=r"lengths must lie in \[1, 5\] \(the source length\); got \[1, 6, 2\]"):
        att(torch.randn(B, Q), torch.randn(B, TS, K), torch.tensor([1, 6, 2]))
