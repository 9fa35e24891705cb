"""Dynamic int8: weights stored in int8, activations quantized on the fly.

* TorchScript: every :class:`~rnnkit.nn.recurrent.Recurrent` of the graph is swapped for its
  ``torch.nn`` twin (:meth:`Recurrent.to_torch`) so ``torch.ao.quantization.quantize_dynamic``
  quantizes the LSTM/GRU and Linear layers (vanilla RNN layers stay float: torch has no
  dynamic int8 RNN). The quantized recurrent layers take no ``lengths``: the graph runs them
  over the padded batch and masks the outputs, so padded steps are zero but a padded
  sequence's final state is taken after the padding — give int8 graphs equal-length batches
  (or batch 1) when the state matters. A minGRU/minLSTM layer (:class:`~rnnkit.nn.MinRecurrent`)
  is kept as it is, in float (its gate weights are not ``nn.Linear`` modules); the rest is quantized.
* ONNX: onnxruntime's ``quantize_dynamic`` on the exported file (MatMul/Gemm/LSTM/GRU weights;
  a min cell's gate MatMuls included).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import Tensor, nn

from rnnkit.errors import ConfigError
from rnnkit.nn.recurrent import Recurrent


class _TorchRecurrent(nn.Module):
    """A ``torch.nn`` recurrent module behind :class:`Recurrent`'s call signature."""

    def __init__(self, rec: Recurrent) -> None:
        super().__init__()
        self.module = rec.to_torch().eval()
        self.cell, self.hidden_size, self.num_layers = rec.cell, rec.hidden_size, rec.num_layers
        self.num_directions, self.input_size, self.bidirectional = rec.num_directions, rec.input_size, rec.bidirectional

    def forward(self, x: Tensor, state=None, lengths=None):
        if state is None:
            h0 = x.new_zeros(self.num_layers * self.num_directions, x.shape[0], self.hidden_size)
            state = (h0, h0) if self.cell == "lstm" else h0
        out, final = self.module(x, state)
        if lengths is not None:
            live = torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.unsqueeze(1)
            out = out * live.unsqueeze(-1).to(out.dtype)
        return out, final


def _swap(module: nn.Module) -> nn.Module:
    for name, child in module.named_children():
        if isinstance(child, Recurrent):
            setattr(module, name, _TorchRecurrent(child))
        else:
            _swap(child)
    return module


def quantize_torch_graph(graph: nn.Module) -> nn.Module:
    """``graph`` (a copy) with torch.nn recurrent layers and dynamic int8 LSTM/GRU/Linear."""
    import copy
    import warnings

    graph = _swap(copy.deepcopy(graph).eval())
    with warnings.catch_warnings():  # torch.ao.quantization is deprecated (torchao replaces it) but still works
        warnings.simplefilter("ignore")
        from torch.ao.quantization import quantize_dynamic

        return quantize_dynamic(graph, {nn.LSTM, nn.GRU, nn.Linear}, dtype=torch.qint8)


def quantize_onnx(src: Path, dst: Path) -> None:
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError as exc:  # pragma: no cover
        raise ConfigError("int8 ONNX export needs onnxruntime: pip install 'rnnkit[export]'") from exc
    import logging

    import onnx

    model = onnx.load(str(src))
    del model.graph.value_info[:]  # stale intermediate shapes confuse the quantizer's Gemm rewrite
    plain, tmp = Path(str(dst) + ".fp32"), Path(str(dst) + ".int8")
    onnx.save(model, str(plain))
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # its "consider pre-processing" advice is noise here
    try:
        quantize_dynamic(str(plain), str(tmp), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
        plain.unlink(missing_ok=True)
    tmp.replace(dst)
