"""The transformer baseline: padding masks from lengths (a padded batch equals each sequence
alone), positions, attention through torch's scaled_dot_product_attention, and model.kind =
"transformer" in classify / regress / forecast."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import rnnkit
from rnnkit.errors import ConfigError, ShapeError
from rnnkit.models import TransformerClassifier, TransformerRegressor
from rnnkit.models import transformer as tr

B, T, D, V = 3, 7, 4, 11


@pytest.mark.parametrize("pooling", ["last", "mean", "max", "attention"])
@pytest.mark.parametrize("positions", ["sinusoidal", "learned"])
def test_padded_batch_equals_each_sequence_alone(pooling, positions):
    torch.manual_seed(0)
    model = TransformerClassifier(vocab_size=V, d_model=16, num_heads=4, num_layers=2, ff_size=24, pooling=pooling,
                                  positions=positions, max_positions=16, num_classes=3).double().eval()
    x = torch.randint(0, V, (B, T))
    lengths = torch.tensor([7, 3, 5])
    full = model(x, lengths)
    for b, n in enumerate(lengths.tolist()):
        torch.testing.assert_close(full[b], model(x[b:b + 1, :n])[0], rtol=1e-10, atol=1e-12)


def test_regressor_features_padding_never_leaks_and_grads_flow():
    torch.manual_seed(1)
    model = TransformerRegressor(input_size=D, d_model=8, num_heads=2, num_targets=2).double()
    x = torch.randn(B, T, D, dtype=torch.float64)
    x[1, 3:] = float("nan")
    lengths = torch.tensor([7, 3, 5])
    x.requires_grad_(True)
    out = model(x, lengths)
    assert out.shape == (B, 2) and torch.isfinite(out).all()
    out.sum().backward()
    assert torch.isfinite(x.grad[1, :3]).all() and torch.all(x.grad[1, 3:] == 0)


def test_attention_goes_through_sdpa(monkeypatch):
    calls = []
    real = torch.nn.functional.scaled_dot_product_attention

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(tr.F, "scaled_dot_product_attention", counting)
    TransformerClassifier(vocab_size=V, num_layers=3)(torch.randint(0, V, (2, 5)))
    assert len(calls) == 3


def test_positions_and_config_errors():
    pe = tr.sinusoidal_positions(torch.arange(5), 6, torch.float64)
    assert pe.shape == (5, 6) and torch.allclose(pe[0], torch.tensor([0.0, 1, 0, 1, 0, 1], dtype=torch.float64))
    model = TransformerClassifier(vocab_size=V, positions="learned", max_positions=4)
    with pytest.raises(ShapeError, match="max_positions=4"):
        model(torch.randint(0, V, (1, 5)))
    with pytest.raises(ConfigError, match="multiple of num_heads=3"):
        TransformerClassifier(vocab_size=V, d_model=16, num_heads=3)
    with pytest.raises(ConfigError, match="cannot stream"):
        model.stream(torch.zeros(1, dtype=torch.long))
    assert "Param #" in model.summary(print_fn=None)


def test_kind_transformer_in_classify_regress_and_forecast(tmp_path):
    random.seed(0)
    words = {"pos": ["great", "superb", "fun"], "neg": ["awful", "dull", "bad"]}
    labels = [random.choice(["pos", "neg"]) for _ in range(120)]
    texts = [f"the film was {random.choice(words[y])} and long" for y in labels]
    run = rnnkit.fit("classify", texts, labels, out=str(tmp_path / "clf"),
                     settings={"model.kind": "transformer", "model.d_model": 16, "model.num_heads": 2,
                               "train.epochs": 2})
    loaded = rnnkit.load(run.path)
    assert isinstance(loaded.model, TransformerClassifier)
    assert loaded.predict(["a superb film"])[0]["label"] in ("pos", "neg")

    rng = np.random.default_rng(0)
    seqs = [rng.standard_normal((int(rng.integers(4, 12)), 2)) for _ in range(80)]
    y = np.array([[s[:, 0].sum()] for s in seqs])
    run = rnnkit.fit("regress", seqs, y, out=str(tmp_path / "reg"),
                     settings={"model.kind": "transformer", "model.d_model": 8, "model.num_heads": 2,
                               "train.epochs": 1})
    assert isinstance(rnnkit.load(run.path).model, TransformerRegressor)

    series = tmp_path / "series.csv"
    t = np.arange(300)
    series.write_text("value\n" + "\n".join(f"{v:.4f}" for v in np.sin(t / 7.0)) + "\n")
    run = rnnkit.fit("forecast", str(series), out=str(tmp_path / "fc"),
                     settings={"data.target_columns": ["value"], "model.kind": "transformer", "model.d_model": 8, "model.num_heads": 2,
                               "train.epochs": 1})
    assert isinstance(rnnkit.load(run.path).model, TransformerRegressor)


def test_causal_language_model_stream_equals_forward_and_generates():
    from rnnkit.models.transformer import TransformerLanguageModel

    torch.manual_seed(2)
    lm = TransformerLanguageModel(vocab_size=V, d_model=16, num_heads=2, context_size=64).double().eval()
    x = torch.randint(0, V, (B, T))
    full, _ = lm(x)
    state, outs = None, []
    for piece in (x[:, :1], x[:, 1:4], x[:, 4], x[:, 5:]):
        out, state = lm.stream(piece, state)
        outs.append(out if out.dim() == 3 else out.unsqueeze(1))
    torch.testing.assert_close(torch.cat(outs, 1), full, rtol=1e-10, atol=1e-12)
    # causal: a later token never changes an earlier prediction; right padding is inert
    torch.testing.assert_close(lm(x[:, :4])[0], full[:, :4], rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(lm(x, lengths=torch.tensor([7, 3, 5]))[0][1, :3], full[1, :3], rtol=1e-10, atol=1e-12)
    assert lm.generate(x[:, :2], 5, seed=0).shape == (B, 5)
    assert torch.equal(lm.generate(x[:, :2], 5, seed=0), lm.generate(x[:, :2], 5, seed=0))
