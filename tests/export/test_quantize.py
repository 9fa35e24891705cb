"""Recurrent ⇄ torch.nn (same weight names and layout), dynamic int8 through torch.nn, and
`rnnkit export --quantize int8` in both formats (close to fp32, not equal)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import rnnkit
import rnnkit.runtime as rt
from rnnkit.errors import BackendError, ConfigError
from rnnkit.nn.recurrent import Recurrent
from seqtask_helpers import one_torch_thread  # noqa: F401 (autouse fixture)


@pytest.mark.parametrize("cell,cls", [("lstm", nn.LSTM), ("gru", nn.GRU), ("rnn", nn.RNN)])
def test_to_torch_and_back(cell, cls):
    torch.manual_seed(0)
    rec = Recurrent(cell, 4, 6, num_layers=2, bidirectional=True, nonlinearity="relu" if cell == "rnn" else "tanh")
    rec.eval()
    mod = rec.to_torch()
    assert type(mod) is cls and mod.batch_first and not mod.training
    x = torch.randn(3, 5, 4)
    with torch.no_grad():
        torch.testing.assert_close(mod(x)[0], rec(x)[0], atol=1e-6, rtol=0)
    back = Recurrent.from_torch(mod)
    assert back.cell == cell and back.nonlinearity == rec.nonlinearity and back.bidirectional
    for k, v in rec.state_dict().items():
        assert torch.equal(back.state_dict()[k], v)
    q = torch.ao.quantization.quantize_dynamic(nn.Sequential(mod), {nn.LSTM, nn.GRU}, dtype=torch.qint8)
    if cell != "rnn":  # torch has dynamic int8 LSTM and GRU
        assert "quantized" in type(q[0]).__module__
        with torch.no_grad():
            assert (q(x)[0] - rec(x)[0]).abs().max() < 0.05


def test_refusals():
    with pytest.raises(BackendError, match="recurrent_dropout"):
        Recurrent("lstm", 3, 4, recurrent_dropout=0.2).to_torch()
    with pytest.raises(ConfigError, match="proj_size"):
        Recurrent.from_torch(nn.LSTM(3, 4, proj_size=2))
    with pytest.raises(ConfigError, match="RNN, LSTM or GRU"):
        Recurrent.from_torch(nn.Linear(3, 4))


def test_int8_exports(tmp_path):
    text = "\n".join(f"the quick brown fox {i % 7} jumps over the lazy dog" for i in range(120))
    run = rnnkit.fit("lm", [text], out=tmp_path / "run", settings={"train.max_steps": 3, "model.hidden_size": 16})
    onnx_dir = run.export(tmp_path / "q-onnx", quantize="int8")
    ts_dir = run.export(tmp_path / "q-ts", format="torchscript", quantize="int8")
    ids = torch.randint(0, run.model._config.vocab_size, (2, 7))
    with torch.no_grad():
        ref, _ = run.model(ids)
    model = rt.load(onnx_dir)
    assert model.manifest["quantize"] == "int8"
    logits, _ = model.stream(ids.numpy())
    assert np.abs(logits - ref.numpy()).max() < 0.05
    ts = torch.jit.load(str(ts_dir / "sequence.pt"))
    with torch.no_grad():
        got = ts(ids, torch.full((2,), 7), torch.zeros(1, 2, 16), torch.zeros(1, 2, 16))[0]
    assert (got - ref).abs().max() < 0.05
