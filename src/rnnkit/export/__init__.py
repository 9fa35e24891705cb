"""rnnkit.export — a trained run as one self-contained folder for serving.

:func:`export_run` (``rnnkit export RUN_DIR`` and :meth:`rnnkit.api.Run.export`) writes

* the graph(s): ``model.onnx`` (or ``model.pt``, TorchScript) — for a language model
  ``sequence.onnx`` (a whole chunk) and ``step.onnx`` (one token, the streaming and
  generation graph); the recurrent state is an explicit input (``h0``/``c0``) and output
  (``h_n``/``c_n``) — for the transformer language model its key/value cache (``position``,
  ``keys``, ``values`` → ``position_n``, ``keys_n``, ``values_n``) — batch and time axes are
  dynamic and ``lengths`` mask inside the graph;
* ``artifacts.json`` and ``config.toml`` copied from the run;
* ``manifest.json``: the task, every graph's input/output names, shapes (dynamic axes by
  name), dtypes, what the runtime needs to read raw inputs, and the rnnkit/torch/opset versions.

:mod:`rnnkit.runtime` loads such a folder with numpy + onnxruntime only.
"""

from __future__ import annotations

from rnnkit.export.exporter import EXTRA_HINT, FORMATS, export_run, require_onnx

__all__ = ["export_run", "require_onnx", "FORMATS", "EXTRA_HINT"]
