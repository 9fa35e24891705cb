"""Streaming: feeding steps or chunks with the carried state equals the full forward."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError
from rnnkit.models import ConditionalGenerator, LanguageModel, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger

B, T, D, H, V = 3, 6, 7, 11, 13


def _feed(model, inputs, chunks, **kw):
    state, out = None, None
    outs = []
    start = 0
    for size in chunks:
        piece = inputs[:, start] if size == 0 else inputs[:, start : start + size]
        out, state = model.stream(piece, state=state, **{k: (v[:, start] if size == 0 else v[:, start : start + size]) for k, v in kw.items()})
        outs.append(out.unsqueeze(1) if size == 0 else out)
        start += max(size, 1)
    assert start == inputs.shape[1]
    return outs, out


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("chunks", [[0] * T, [2, 3, 1]], ids=["steps", "chunks"])
def test_classifier_stream_equals_forward_on_every_prefix(pooling, chunks):
    model = SequenceClassifier(vocab_size=V, hidden_size=H, num_classes=4, pooling=pooling, cell="gru", num_layers=2).eval()
    x = torch.randint(0, V, (B, T))
    state, start = None, 0
    for size in chunks:
        piece = x[:, start] if size == 0 else x[:, start : start + size]
        start += max(size, 1)
        out, state = model.stream(piece, state)
        torch.testing.assert_close(out, model(x[:, :start]), atol=1e-6, rtol=1e-5)


def test_regressor_streams_dense_features():
    model = SequenceRegressor(input_size=D, hidden_size=H, pooling="mean").eval()
    x = torch.randn(B, T, D)
    _, last = _feed(model, x, [0, 0, 4])
    torch.testing.assert_close(last, model(x))


def test_tagger_stream_equals_forward():
    model = SequenceTagger(vocab_size=V, hidden_size=H, num_tags=5, bidirectional=False, char_vocab_size=9).eval()
    x, chars = torch.randint(0, V, (B, T)), torch.randint(0, 9, (B, T, 4))
    outs, _ = _feed(model, x, [0, 2, 0, 2], chars=chars)
    torch.testing.assert_close(torch.cat(outs, dim=1), model(x, chars=chars))


def test_language_model_stream_equals_forward():
    model = LanguageModel(vocab_size=V, hidden_size=H, num_layers=2).eval()
    x = torch.randint(0, V, (B, T))
    outs, _ = _feed(model, x, [0, 3, 0, 0])
    torch.testing.assert_close(torch.cat(outs, dim=1), model(x)[0])


def test_conditional_stream_equals_forward():
    model = ConditionalGenerator(vocab_size=V, hidden_size=H, condition="vector", condition_size=4, condition_mode="both").eval()
    x, cond = torch.randint(0, V, (B, T)), torch.randn(B, 4)
    state, outs = None, []
    for t in range(T):
        out, state = model.stream(x[:, t], cond, state)
        outs.append(out)
    torch.testing.assert_close(torch.stack(outs, 1), model(x, cond)[0])


@pytest.mark.parametrize("input_feeding,attention", [(True, "general"), (False, "additive"), (False, "none")])
def test_seq2seq_decoder_steps_equal_forward(input_feeding, attention):
    model = Seq2Seq(src_vocab_size=V, tgt_vocab_size=9, hidden_size=H, attention=attention,
                    input_feeding=input_feeding).eval()
    src, tgt = torch.randint(0, V, (B, 5)), torch.randint(0, 9, (B, 4))
    lengths = torch.tensor([5, 2, 4])
    full = model(src, tgt, lengths)
    memory = model.encode(src, lengths)
    state, logits = model.initial_decoder_state(memory), []
    for t in range(4):
        step, state, _ = model.decode_step(tgt[:, t], state, memory)
        logits.append(step)
    torch.testing.assert_close(torch.stack(logits, 1), full.logits)


def test_bidirectional_or_flatten_cannot_stream():
    with pytest.raises(ConfigError, match=r"SequenceClassifierConfig.bidirectional=True"):
        SequenceClassifier(vocab_size=V, hidden_size=H, bidirectional=True).stream(torch.zeros(B, dtype=torch.long))
    with pytest.raises(ConfigError, match=r"pooling='flatten'"):
        SequenceClassifier(vocab_size=V, hidden_size=H, pooling="flatten", max_len=T).stream(torch.zeros(B, dtype=torch.long))
    with pytest.raises(ConfigError, match=r"SequenceTaggerConfig.bidirectional=True"):
        SequenceTagger(vocab_size=V, hidden_size=H).stream(torch.zeros(B, dtype=torch.long))
