"""rnnkit.runtime — run an exported model with numpy + onnxruntime only (importing it never
loads torch).

>>> model = rnnkit.runtime.load("runs/sentiment/export-onnx")     # doctest: +SKIP
>>> model.predict(["a superb film"])[0]["label"]                   # doctest: +SKIP
>>> lm = rnnkit.runtime.load("runs/main/export-onnx")             # doctest: +SKIP
>>> lm.generate("ROMEO:", length=200, temperature=0.8, seed=1)     # doctest: +SKIP

``load(folder)`` reads ``manifest.json`` (written by ``rnnkit export``), ``artifacts.json``
(vocabularies, labels, scalers), a BPE run's tokenizer files (with Hugging Face ``tokenizers``:
``pip install rnnkit[text]``) and the ONNX graph(s). ``predict`` takes raw text lines, a
file path or arrays and returns the rows ``rnnkit predict`` prints for the run directory;
``stream`` carries the recurrent state between calls; ``generate`` samples a language model.
"""

from __future__ import annotations

from rnnkit.runtime.model import (
    ClassifierModel, LanguageModel, RegressorModel, RuntimeError_, RuntimeModel, TaggerModel, load,
)

__all__ = ["load", "RuntimeModel", "ClassifierModel", "RegressorModel", "LanguageModel", "TaggerModel",
           "RuntimeError_"]
