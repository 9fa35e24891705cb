"""Inconsistent configs fail early with the field, what was expected and what was received;
plus the details of single models (tying, char features, pooling, summary)."""

from __future__ import annotations

import pytest
import torch

from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models import (
    ConditionalGenerator,
    FeedForward,
    LanguageModel,
    LanguageModelConfig,
    Seq2Seq,
    SequenceClassifier,
    SequenceClassifierConfig,
    SequenceTagger,
    build_model,
)
from rnnkit.models.pooling import make_pooling


@pytest.mark.parametrize(
    "build,message",
    [
        (lambda: LanguageModel(vocab_size=0), r"LanguageModelConfig.vocab_size must be a positive integer; got 0"),
        (lambda: LanguageModel(vocab_size=5, hidden_size=8, embedding_dim=6, tie_weights=True),
         r"LanguageModelConfig.tie_weights=True needs hidden_size == embedding_dim .*got hidden_size=8, embedding_dim=6"),
        (lambda: LanguageModel(vocab_size=5, cell="lstmx"),
         r"LanguageModelConfig.cell must be one of 'rnn', 'lstm', 'gru', 'mingru', 'minlstm'; got 'lstmx'"),
        (lambda: SequenceClassifier(vocab_size=5, pooling="median"),
         r"SequenceClassifierConfig.pooling must be one of 'last', 'mean', 'max', 'attention', 'flatten'; got 'median'"),
        (lambda: SequenceClassifier(vocab_size=5, pooling="flatten"),
         r"SequenceClassifierConfig.max_len is required with pooling='flatten'"),
        (lambda: SequenceClassifier(vocab_size=5, attention_size=4),
         r"SequenceClassifierConfig.attention_size only applies to pooling='attention'; got attention_size=4 with pooling='mean'"),
        (lambda: SequenceClassifier(vocab_size=5, input_size=3),
         r"needs exactly one of vocab_size \(token ids\) and input_size \(dense features\); got vocab_size=5, input_size=3"),
        (lambda: SequenceClassifier(vocab_size=5, dropout=1.0), r"SequenceClassifierConfig.dropout must be in \[0, 1\); got 1.0"),
        (lambda: SequenceTagger(vocab_size=5, char_vocab_size=4, char_kernel_size=2),
         r"SequenceTaggerConfig.char_kernel_size must be odd"),
        (lambda: Seq2Seq(src_vocab_size=5, tgt_vocab_size=6, attention="dot", bidirectional_encoder=True),
         r"Seq2SeqConfig.attention='dot' needs the encoder output size \(128 with bidirectional_encoder=True\)"),
        (lambda: Seq2Seq(src_vocab_size=5, tgt_vocab_size=6, attention="none", input_feeding=True),
         r"Seq2SeqConfig.input_feeding=True feeds the attentional vector and needs attention; got attention='none'"),
        (lambda: Seq2Seq(src_vocab_size=5, tgt_vocab_size=6, attention="luong"),
         r"Seq2SeqConfig.attention must be one of 'none', 'dot', 'general', 'additive'; got 'luong'"),
        (lambda: Seq2Seq(src_vocab_size=5, tgt_vocab_size=2), r"Seq2SeqConfig.eos_id must lie in \[0, 2\) because tgt_vocab_size=2; got 2"),
        (lambda: ConditionalGenerator(vocab_size=5, bos_id=5), r"ConditionalGeneratorConfig.bos_id must lie in \[0, 5\)"),
        (lambda: FeedForward(input_size=4, hidden_sizes=(3, 0)), r"FeedForwardConfig.hidden_sizes\[1\] must be a positive integer; got 0"),
        (lambda: FeedForward(input_size=4, activation="swish"), r"FeedForwardConfig.activation must be one of"),
        (lambda: build_model("transformer", {}), r"model must be one of feedforward, .*; got 'transformer'"),
        (lambda: LanguageModel.from_config({"vocab_size": 5, "hiden_size": 3}), r"unknown config key hiden_size"),
        (lambda: LanguageModel(LanguageModelConfig(vocab_size=5), hidden_size=3), r"pass either a config or fields"),
        (lambda: LanguageModel(SequenceClassifierConfig(vocab_size=5)), r"LanguageModel needs a LanguageModelConfig; got SequenceClassifierConfig"),
        (lambda: make_pooling("flatten", 4), r"pooling='flatten' needs max_len"),
    ],
)
def test_inconsistent_configs_are_config_errors(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_input_errors_name_the_argument():
    clf = SequenceClassifier(vocab_size=5, hidden_size=4)
    with pytest.raises(ShapeError, match=r"inputs must lie in \[0, 5\) because vocab_size=5; got 7"):
        clf(torch.tensor([[1, 7]]))
    with pytest.raises(ShapeError, match=r"lengths must be in \[1, T=2\]"):
        clf(torch.tensor([[1, 2]]), torch.tensor([3]))
    dense = SequenceClassifier(input_size=3, hidden_size=4)
    with pytest.raises(ShapeError, match=r"inputs must have shape \(B, T, 3\) because input_size=3; got \(2, 4, 5\)"):
        dense(torch.zeros(2, 4, 5))
    ff = FeedForward(input_size=12)
    assert ff(torch.zeros(2, 3, 4)).shape == (2, 2)  # (B, 3, 4) flattens to 12
    with pytest.raises(ShapeError, match=r"x must have shape \(B, 12\) .* because input_size=12; got \(2, 5\)"):
        ff(torch.zeros(2, 5))
    flat = SequenceClassifier(vocab_size=5, hidden_size=4, pooling="flatten", max_len=3)
    with pytest.raises(ShapeError, match=r"flatten pooling takes at most max_len=3 steps; got T=4"):
        flat(torch.zeros(1, 4, dtype=torch.long))
    tagger = SequenceTagger(vocab_size=5, hidden_size=4, char_vocab_size=6)
    with pytest.raises(ShapeError, match=r"chars \(B, T, W\) = \(1, 2, W\) are required because char_vocab_size=6"):
        tagger(torch.zeros(1, 2, dtype=torch.long))
    with pytest.raises(ShapeError, match=r"chars must have shape \(1, 2, W\) to match inputs; got \(1, 3, 4\)"):
        tagger(torch.zeros(1, 2, dtype=torch.long), chars=torch.zeros(1, 3, 4, dtype=torch.long))


def test_weight_tying_shares_one_matrix():
    model = LanguageModel(vocab_size=7, hidden_size=5, embedding_dim=5, tie_weights=True)
    assert model.output.weight is model.embedding.weight
    untied = LanguageModel(vocab_size=7, hidden_size=5, embedding_dim=5)
    assert untied.num_parameters() - model.num_parameters() == 7 * 5
    assert "(+tied)" in model.summary(print_fn=None)


def test_char_features_ignore_extra_character_padding():
    torch.manual_seed(0)
    for encoder in ("cnn", "lstm"):
        tagger = SequenceTagger(vocab_size=5, hidden_size=4, num_tags=3, char_vocab_size=6, char_encoder=encoder).eval()
        words = torch.tensor([[1, 2, 3]])
        chars = torch.tensor([[[1, 2, 0], [3, 0, 0], [4, 5, 1]]])
        wider = torch.cat([chars, torch.zeros(1, 3, 2, dtype=torch.long)], dim=-1)
        torch.testing.assert_close(tagger(words, chars=chars), tagger(words, chars=wider))


def test_tagger_loss_and_decode_with_and_without_crf():
    torch.manual_seed(0)
    emissions = torch.randn(2, 4, 3)
    tags = torch.tensor([[0, 1, 2, 1], [2, 2, 0, 0]])
    lengths = torch.tensor([4, 2])
    plain = SequenceTagger(vocab_size=5, num_tags=3)
    expected = torch.nn.functional.cross_entropy(torch.cat([emissions[0], emissions[1, :2]]), torch.tensor([0, 1, 2, 1, 2, 2]))
    torch.testing.assert_close(plain.loss(emissions, tags, lengths), expected)
    assert plain.decode(emissions, lengths)[1, 2:].tolist() == [0, 0]
    assert plain.decode(emissions, lengths)[0].tolist() == emissions[0].argmax(-1).tolist()
    crf = SequenceTagger(vocab_size=5, num_tags=3, crf=True)
    torch.testing.assert_close(crf.loss(emissions, tags, lengths), crf.crf(emissions, tags, lengths, reduction="sum") / 6)
    assert torch.equal(crf.decode(emissions, lengths), crf.crf.decode(emissions, lengths)[0])


def test_last_pooling_of_a_bidirectional_encoder_is_its_final_state():
    model = SequenceClassifier(vocab_size=9, hidden_size=5, bidirectional=True, cell="gru", num_layers=2, pooling="last").eval()
    x, lengths = torch.randint(0, 9, (3, 6)), torch.tensor([6, 2, 4])
    pooled, _ = model.encode(x, lengths)
    _, state, _ = model.encoder(x, lengths)  # (L*2, B, H): the last layer's two directions
    torch.testing.assert_close(pooled, torch.cat([state[-2], state[-1]], dim=-1))


def test_attention_pooling_weights_cover_only_real_steps():
    model = SequenceClassifier(vocab_size=9, hidden_size=5, pooling="attention")
    _, weights = model.encode(torch.randint(0, 9, (3, 6)), torch.tensor([6, 2, 4]))
    torch.testing.assert_close(weights.sum(-1), torch.ones(3))
    assert bool((weights[1, 2:] == 0).all()) and bool((weights[2, 4:] == 0).all())


def test_summary_prints_a_table():
    lines = []
    text = SequenceClassifier(vocab_size=9, hidden_size=5).summary(print_fn=lines.append)
    assert lines == [text]
    assert "encoder.rnn (Recurrent)" in text and "(2, 6, 5)" in text
    assert "Trainable params:" in text
