"""Metrics against hand-computed values; streaming equals one-shot."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rnnkit.train.metrics import (
    BLEU,
    Accuracy,
    EntityF1,
    MacroF1,
    MeanNLL,
    Regression,
    accuracy,
    bits_per_char,
    corpus_bleu,
    edit_distance,
    entity_f1,
    entity_spans,
    error_rates,
    macro_f1,
    perplexity,
    regression_errors,
)


def test_accuracy_ids_logits_and_ignore_index():
    target = torch.tensor([0, 1, 2, -100])
    assert accuracy(torch.tensor([0, 1, 1, 2]), target) == pytest.approx(2 / 3)
    logits = torch.nn.functional.one_hot(torch.tensor([0, 2, 2, 0]), 3).float()
    assert accuracy(logits, target) == pytest.approx(2 / 3)


def test_macro_f1_hand_computed():
    # class 0: tp1 fn1 -> 2/3; class 1: tp1 fp1 -> 2/3; class 2: 1.0; class 3 absent
    assert macro_f1(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 0, 1, 2]), num_classes=4) == pytest.approx(7 / 9)


def test_entity_spans_conlleval_rules():
    assert entity_spans(["B-PER", "I-PER", "O", "B-LOC"]) == {(0, 2, "PER"), (3, 4, "LOC")}
    assert entity_spans(["O", "I-PER", "I-PER"]) == {(1, 3, "PER")}  # I after O starts a chunk
    assert entity_spans(["B-PER", "I-LOC"]) == {(0, 1, "PER"), (1, 2, "LOC")}  # type change
    assert entity_spans(["B-PER", "B-PER"]) == {(0, 1, "PER"), (1, 2, "PER")}
    assert entity_spans(["S-PER", "B-LOC", "E-LOC"]) == {(0, 1, "PER"), (1, 3, "LOC")}  # IOBES


def test_entity_f1_hand_computed():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    pred = [["B-PER", "I-PER", "O", "B-ORG"], ["B-ORG", "B-MISC"]]
    # gold 3 chunks, pred 4 chunks, 2 correct (a chunk with the wrong end does not count)
    r = entity_f1(pred, gold)
    assert r["precision"] == pytest.approx(2 / 4) and r["recall"] == pytest.approx(2 / 3)
    assert r["f1"] == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert entity_f1([["B-PER", "O"]], [["B-PER", "I-PER"]])["f1"] == 0.0


def test_entity_f1_from_ids_with_lengths():
    tags = ["O", "B-PER", "I-PER"]
    m = EntityF1(tags)
    m.update(torch.tensor([[1, 2, 0], [1, 0, 0]]), torch.tensor([[1, 2, 0], [1, 2, 2]]), torch.tensor([3, 1]))
    assert m.compute()["f1"] == 1.0  # the padded tail of row 2 is ignored
    with pytest.raises(ValueError, match="id_to_tag"):
        EntityF1().update(torch.tensor([[1]]), torch.tensor([[1]]))


def test_regression_and_lm_numbers():
    r = regression_errors(torch.tensor([1.0, 2.0, 4.0]), torch.tensor([1.0, 0.0, 1.0]))
    assert r["mae"] == pytest.approx(5 / 3) and r["mse"] == pytest.approx(13 / 3)
    assert r["rmse"] == pytest.approx(math.sqrt(13 / 3))
    assert perplexity(math.log(7.0)) == pytest.approx(7.0)
    assert bits_per_char(math.log(2.0) * 1.5) == pytest.approx(1.5)
    m = MeanNLL()
    m.update(torch.tensor(3.0), 2)  # batches weigh by tokens
    m.update(torch.tensor(1.0), 2)
    assert m.compute()["nll"] == pytest.approx(1.0) and m.compute()["ppl"] == pytest.approx(math.e)


def test_bleu_hand_computed():
    hyp, ref = "the cat sat on the mat".split(), "the cat is on the mat".split()
    # p1=5/6 p2=3/5 p3=1/4 p4=0/3 -> sacrebleu 'exp' smoothing makes p4 = 1/(2*3)
    assert corpus_bleu([hyp], [ref]) == pytest.approx((5 / 6 * 3 / 5 * 1 / 4 * 1 / 6) ** 0.25)
    assert corpus_bleu([hyp], [ref], smooth="none") == 0.0
    short = "the cat is on".split()  # all precisions 1, brevity penalty exp(1 - 6/4)
    assert corpus_bleu([short], [ref]) == pytest.approx(math.exp(-0.5))
    assert corpus_bleu([ref], [ref]) == pytest.approx(1.0)
    # corpus level: n-gram counts and lengths are summed before the ratio
    both = corpus_bleu([hyp, short], [ref, ref])
    p = [(5 + 4) / (6 + 4), (3 + 3) / (5 + 3), (1 + 2) / (4 + 2), (0 + 1) / (3 + 1)]
    assert both == pytest.approx(math.exp(1 - 12 / 10) * math.prod(p) ** 0.25)
    assert corpus_bleu([[]], [ref]) == 0.0


def _levenshtein(a, b):
    d = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        prev, d[0] = d[0], i
        for j, y in enumerate(b, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (x != y))
    return d[-1]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=8), st.lists(st.integers(0, 3), max_size=8))
def test_edit_distance_matches_textbook_dp(a, b):
    assert edit_distance(a, b) == _levenshtein(a, b)


def test_error_rates_hand_computed():
    r = error_rates([["a", "b", "c"], ["a"]], [["a", "x", "c", "d"], ["a"]])
    assert r["token_error_rate"] == pytest.approx(2 / 5) and r["sequence_error_rate"] == pytest.approx(1 / 2)


def test_streaming_equals_one_shot():
    g = torch.Generator().manual_seed(0)
    logits, target = torch.randn(30, 5, generator=g), torch.randint(0, 5, (30,), generator=g)
    for metric, fn in [(Accuracy(), lambda: accuracy(logits, target)),
                       (MacroF1(5), lambda: macro_f1(logits, target, 5))]:
        for i in range(0, 30, 7):
            metric.update(logits[i : i + 7], target[i : i + 7])
        assert list(metric.compute().values())[0] == pytest.approx(fn())
    pred, tgt = torch.randn(20, generator=g), torch.randn(20, generator=g)
    m = Regression()
    m.update(pred[:9], tgt[:9])
    m.update(pred[9:], tgt[9:])
    assert m.compute()["rmse"] == pytest.approx(regression_errors(pred, tgt)["rmse"])
    b = BLEU()
    b.update([["a", "b", "c", "d", "e"]], [["a", "b", "c", "d", "f"]])
    b.update([["x", "y"]], [["x", "y", "z"]])
    assert b.compute()["bleu"] == pytest.approx(
        corpus_bleu([["a", "b", "c", "d", "e"], ["x", "y"]], [["a", "b", "c", "d", "f"], ["x", "y", "z"]]))
    b.load_state_dict(b.state_dict())
    assert b.compute()["bleu"] > 0
