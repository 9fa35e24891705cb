"""The contract every model passes: shapes with distinct sizes, config round trip, one
optimisation step lowers the loss, a tiny dataset is overfit, and padding does not
change the results at the real positions (a padded batch equals each sequence alone)."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from rnnkit.models import (
    MODELS,
    ConditionalGenerator,
    FeedForward,
    LanguageModel,
    Seq2Seq,
    SequenceClassifier,
    SequenceRegressor,
    SequenceTagger,
    build_model,
    model_name,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
import tomli_w

B, T, D, H, V, C = 3, 5, 7, 11, 13, 4
LENGTHS = [5, 2, 3]


@dataclasses.dataclass
class Case:
    """How to drive one model configuration in the contract tests.

    ``batch()`` -> dict of tensors; ``run(model, batch)`` -> the model's main output;
    ``loss(model, batch)`` -> scalar; ``alone(batch, b)`` -> batch of sequence b alone, cut to
    its length; ``real(output, b)`` -> the part of output b that must not depend on padding.
    """

    name: str
    make: Callable[[], Any]
    batch: Callable[[], dict]
    run: Callable[[Any, dict], torch.Tensor]
    loss: Callable[[Any, dict], torch.Tensor]
    shape: tuple
    alone: Callable[[dict, int], dict] | None
    real: Callable[[torch.Tensor, int], torch.Tensor]
    target: float = 0.05


def _lengths() -> torch.Tensor:
    return torch.tensor(LENGTHS)


def _ids(*shape: int, high: int = V) -> torch.Tensor:
    return torch.randint(0, high, shape)


def _cut(batch: dict, b: int, time_keys: tuple[str, ...], length_key: str = "lengths") -> dict:
    L = int(batch[length_key][b])
    out = {}
    for key, value in batch.items():
        if key in time_keys:
            out[key] = value[b : b + 1, :L]
        elif isinstance(value, torch.Tensor):
            out[key] = value[b : b + 1]
        else:
            out[key] = value
    out[length_key] = None
    return out


def _ce(logits: torch.Tensor, targets: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    if lengths is None:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    mask = torch.arange(logits.shape[1]) < lengths.unsqueeze(1)
    return F.cross_entropy(logits[mask], targets[mask])


def _whole(out: torch.Tensor, b: int) -> torch.Tensor:
    return out[b]


def _steps(key: str = "lengths") -> Callable:
    return lambda out, b: out[b, : LENGTHS[b]]


# --------------------------------------------------------------------------- cases
def _feedforward_dense() -> Case:
    return Case(
        "feedforward-dense",
        lambda: FeedForward(input_size=D, hidden_sizes=(H, 9), output_size=C),
        lambda: {"x": torch.randn(B, D), "y": torch.tensor([0, 3, 1])},
        lambda m, bt: m(bt["x"]),
        lambda m, bt: F.cross_entropy(m(bt["x"]), bt["y"]),
        (B, C),
        None,
        _whole,
    )


def _feedforward_bag() -> Case:
    return Case(
        "feedforward-bag-of-embeddings",
        lambda: FeedForward(vocab_size=V, embedding_dim=6, hidden_sizes=(H,), output_size=C, activation="tanh"),
        lambda: {"x": _ids(B, T), "lengths": _lengths(), "y": torch.tensor([0, 3, 1])},
        lambda m, bt: m(bt["x"], bt["lengths"]),
        lambda m, bt: F.cross_entropy(m(bt["x"], bt["lengths"]), bt["y"]),
        (B, C),
        lambda bt, b: _cut(bt, b, ("x",)),
        _whole,
    )


def _classifier(pooling: str, cell: str, bidirectional: bool) -> Case:
    extra = {"max_len": T} if pooling == "flatten" else {}
    return Case(
        f"classifier-{pooling}-{cell}-{'bi' if bidirectional else 'uni'}",
        lambda: SequenceClassifier(vocab_size=V, embedding_dim=6, cell=cell, hidden_size=H, num_classes=C,
                                   pooling=pooling, bidirectional=bidirectional, num_layers=2, dropout=0.0,
                                   **extra),  # dropout pinned: the text default (0.5) makes one step's loss noisy
        lambda: {"x": _ids(B, T), "lengths": _lengths(), "y": torch.tensor([0, 3, 1])},
        lambda m, bt: m(bt["x"], bt["lengths"]),
        lambda m, bt: F.cross_entropy(m(bt["x"], bt["lengths"]), bt["y"]),
        (B, C),
        lambda bt, b: _cut(bt, b, ("x",)),
        _whole,
    )


def _regressor() -> Case:
    return Case(
        "regressor-dense-gru-attention",
        lambda: SequenceRegressor(input_size=D, cell="gru", hidden_size=H, num_targets=2, pooling="attention",
                                  attention_size=6),
        lambda: {"x": torch.randn(B, T, D), "lengths": _lengths(), "y": torch.randn(B, 2)},
        lambda m, bt: m(bt["x"], bt["lengths"]),
        lambda m, bt: F.mse_loss(m(bt["x"], bt["lengths"]), bt["y"]),
        (B, 2),
        lambda bt, b: _cut(bt, b, ("x",)),
        _whole,
        target=0.01,
    )


def _tagger(crf: bool, char_encoder: str, bidirectional: bool) -> Case:
    def batch() -> dict:
        chars = torch.randint(1, 8, (B, T, 4))
        chars[0, :, 3] = 0  # some words shorter than W
        return {"x": _ids(B, T), "chars": chars, "lengths": _lengths(), "y": _ids(B, T, high=C)}

    return Case(
        f"tagger-{'crf' if crf else 'softmax'}-{char_encoder}-{'bi' if bidirectional else 'uni'}",
        lambda: SequenceTagger(vocab_size=V, embedding_dim=6, hidden_size=H, num_tags=C, crf=crf,
                               char_vocab_size=8, char_encoder=char_encoder, char_hidden_size=5,
                               bidirectional=bidirectional),
        batch,
        lambda m, bt: m(bt["x"], bt["lengths"], bt["chars"]),
        lambda m, bt: m.loss(m(bt["x"], bt["lengths"], bt["chars"]), bt["y"], bt["lengths"]),
        (B, T, C),
        lambda bt, b: _cut(bt, b, ("x", "chars", "y")),
        _steps(),
    )


def _lm(cell: str, tie: bool) -> Case:
    def loss(m, bt):
        logits, _ = m(bt["x"][:, :-1], lengths=bt["lengths"] - 1)
        return _ce(logits, bt["x"][:, 1:], bt["lengths"] - 1)

    return Case(
        f"language-model-{cell}-{'tied' if tie else 'untied'}",
        lambda: LanguageModel(vocab_size=V, embedding_dim=H if tie else 6, hidden_size=H, cell=cell,
                              tie_weights=tie, num_layers=2),
        lambda: {"x": _ids(B, T), "lengths": torch.tensor([5, 3, 4])},
        lambda m, bt: m(bt["x"], lengths=bt["lengths"])[0],
        loss,
        (B, T, V),
        lambda bt, b: _cut(bt, b, ("x",)),
        lambda out, b: out[b, : [5, 3, 4][b]],
    )


def _conditional(condition: str, mode: str) -> Case:
    def batch() -> dict:
        cond = torch.tensor([0, 2, 1]) if condition == "label" else torch.randn(B, 6)
        return {"x": _ids(B, T), "cond": cond, "lengths": torch.tensor([5, 3, 4])}

    def loss(m, bt):
        logits, _ = m(bt["x"][:, :-1], bt["cond"], lengths=bt["lengths"] - 1)
        return _ce(logits, bt["x"][:, 1:], bt["lengths"] - 1)

    return Case(
        f"conditional-{condition}-{mode}",
        lambda: ConditionalGenerator(vocab_size=V, embedding_dim=6, hidden_size=H, condition=condition,
                                     condition_size=3 if condition == "label" else 6, condition_dim=5,
                                     condition_mode=mode, cell="gru"),
        batch,
        lambda m, bt: m(bt["x"], bt["cond"], lengths=bt["lengths"])[0],
        loss,
        (B, T, V),
        lambda bt, b: _cut(bt, b, ("x",)),
        lambda out, b: out[b, : [5, 3, 4][b]],
    )


def _seq2seq(attention: str, bidirectional: bool, input_feeding: bool) -> Case:
    def batch() -> dict:
        tgt = torch.randint(3, 9, (B, 4))
        tgt_lengths = torch.tensor([4, 2, 3])
        tgt_in = torch.cat([torch.ones(B, 1, dtype=torch.long), tgt[:, :-1]], dim=1)  # bos = 1
        return {"src": _ids(B, T), "lengths": _lengths(), "tgt_in": tgt_in, "tgt_out": tgt, "tgt_lengths": tgt_lengths}

    def alone(bt: dict, b: int) -> dict:
        out = _cut(bt, b, ("src",))
        Lt = int(bt["tgt_lengths"][b])
        out.update(tgt_in=bt["tgt_in"][b : b + 1, :Lt], tgt_out=bt["tgt_out"][b : b + 1, :Lt], tgt_lengths=None)
        return out

    return Case(
        f"seq2seq-{attention}-{'bi' if bidirectional else 'uni'}-{'feed' if input_feeding else 'nofeed'}",
        lambda: Seq2Seq(src_vocab_size=V, tgt_vocab_size=9, embedding_dim=6, hidden_size=H, attention=attention,
                        bidirectional_encoder=bidirectional, input_feeding=input_feeding),
        batch,
        lambda m, bt: m(bt["src"], bt["tgt_in"], bt["lengths"], bt["tgt_lengths"]).logits,
        lambda m, bt: _ce(m(bt["src"], bt["tgt_in"], bt["lengths"], bt["tgt_lengths"]).logits, bt["tgt_out"],
                          bt["tgt_lengths"]),
        (B, 4, 9),
        alone,
        lambda out, b: out[b, : [4, 2, 3][b]],
    )


CASES = [
    _feedforward_dense(),
    _feedforward_bag(),
    _classifier("last", "lstm", True),
    _classifier("mean", "gru", False),
    _classifier("max", "rnn", True),
    _classifier("attention", "lstm", False),
    _classifier("flatten", "gru", True),
    _regressor(),
    _tagger(True, "cnn", True),
    _tagger(False, "lstm", False),
    _lm("lstm", True),
    _lm("rnn", False),
    _conditional("label", "init"),
    _conditional("vector", "both"),
    _seq2seq("additive", True, True),
    _seq2seq("dot", False, False),
    _seq2seq("general", False, True),
    _seq2seq("none", True, False),
]
IDS = [c.name for c in CASES]


def test_every_registered_model_has_a_case():
    covered = {model_name(c.make()) for c in CASES}
    assert covered == set(MODELS)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_output_shape(case: Case):
    model = case.make()
    out = case.run(model, case.batch())
    assert out.shape == case.shape
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_config_round_trip(case: Case):
    model = case.make()
    cfg = model.config
    twin = type(model).from_config(cfg)
    assert twin.config == cfg
    assert {k: v.shape for k, v in twin.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}
    # dict and TOML round trips, and the registry by name
    assert type(cfg).from_dict(cfg.to_dict()) == cfg
    assert type(cfg).from_dict(tomllib.loads(tomli_w.dumps(cfg.to_dict()))) == cfg
    rebuilt = build_model(model_name(model), cfg.to_dict())
    rebuilt.load_state_dict(model.state_dict())  # same architecture, weights load as they are
    model.eval()
    rebuilt.eval()
    batch = case.batch()
    torch.testing.assert_close(case.run(rebuilt, batch), case.run(model, batch))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_one_step_lowers_the_loss(case: Case):
    model = case.make()
    batch = case.batch()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    before = case.loss(model, batch)
    opt.zero_grad()
    before.backward()
    assert all(p.grad is not None for p in model.parameters()), "every parameter gets a gradient"
    opt.step()
    with torch.no_grad():
        after = case.loss(model, batch)
    assert after.item() < before.item()


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_overfits_a_tiny_dataset(case: Case):
    model = case.make()
    batch = case.batch()
    opt = torch.optim.Adam(model.parameters(), lr=2e-2)
    for _ in range(300):
        opt.zero_grad()
        loss = case.loss(model, batch)
        if loss.item() < case.target:
            break
        loss.backward()
        opt.step()
    assert loss.item() < case.target


@pytest.mark.parametrize("case", [c for c in CASES if c.alone is not None], ids=[c.name for c in CASES if c.alone])
def test_padded_batch_equals_each_sequence_alone(case: Case):
    model = case.make().eval()
    batch = case.batch()
    out = case.run(model, batch)
    for b in range(B):
        single = case.run(model, case.alone(batch, b))
        torch.testing.assert_close(case.real(out, b), single[0][: case.real(out, b).shape[0]] if single.dim() > 2
                                   else single[0], atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_summary_lists_layers_and_counts_parameters(case: Case):
    model = case.make()
    text = model.summary(print_fn=None)
    assert f"Total params: {model.num_parameters():,}" in text
    assert type(model).__name__ in text
    for name, module in model.named_children():
        assert name in text
