"""Writes an export folder (see :mod:`rnnkit.export`)."""

from __future__ import annotations

import json
import shutil
import warnings
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rnnkit.errors import ConfigError
from rnnkit.export.graphs import (
    EmissionsGraph, FeedForwardGraph, GeneratorConditionGraph, GeneratorStepGraph, Graph, LMSequenceGraph, LMStepGraph, ManyToOneGraph, Seq2SeqDecoderStepGraph,
    Seq2SeqEncoderGraph, TransformerEmissionsGraph, TransformerGeneratorConditionGraph, TransformerGeneratorStepGraph,
    TransformerLMSequenceGraph, TransformerLMStepGraph, TransformerManyToOneGraph,
)

FORMATS = ("onnx", "torchscript")
EXTRA_HINT = "pip install 'rnnkit[export]'"
DEFAULT_OPSET = 18
MANIFEST_FORMAT = "rnnkit-export"


def require_onnx() -> None:
    """Raise a ConfigError naming the extra when onnx / onnxscript are not installed."""
    missing = []
    for name in ("onnx", "onnxscript"):
        try:
            __import__(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise ConfigError(f"ONNX export needs {' and '.join(missing)}, which are not installed: {EXTRA_HINT}")


def _dtype(t: torch.Tensor) -> str:
    return {torch.float32: "float32", torch.int64: "int64", torch.float64: "float64"}.get(t.dtype, str(t.dtype))


def _spec(graph: Graph, example: tuple, outputs: tuple) -> dict[str, Any]:
    dyn = graph.dynamic()

    def shape(name: str, t: torch.Tensor) -> list:
        axes = dyn.get(name, {})
        return [axes.get(i, int(n)) for i, n in enumerate(t.shape)]

    out_axes = _output_axes(graph)
    return {
        "inputs": [{"name": n, "shape": shape(n, t), "dtype": _dtype(t)} for n, t in zip(graph.inputs, example)],
        "outputs": [{"name": n, "shape": [out_axes.get(n, {}).get(i, int(s)) for i, s in enumerate(t.shape)],
                     "dtype": _dtype(t)} for n, t in zip(graph.outputs, outputs)],
    }


def _output_axes(graph: Graph) -> dict[str, dict[int, str]]:
    axes: dict[str, dict[int, str]] = {}
    for name in graph.outputs:
        if name in ("h_n", "c_n"):
            axes[name] = {1: "batch"}
        elif name in ("keys_n", "values_n", "keys", "values"):
            axes[name] = {1: "batch", 3: "past"}
        elif name in ("position_n", "position"):
            axes[name] = {}
        elif name in ("logits", "emissions") and isinstance(graph, (LMSequenceGraph, TransformerLMSequenceGraph,
                                                                     EmissionsGraph)):
            axes[name] = {0: "batch", 1: "time"}
        elif name == "emissions":
            axes[name] = {0: "batch", 1: "time"}
        elif name == "cond":
            axes[name] = {0: "batch"}
        elif name in ("memory", "attention"):
            axes[name] = {0: "batch", 1: "src_time"}
        else:
            axes[name] = {0: "batch"}
    return axes


# tasks whose tokenizer files (data.tokenizer = "bpe") rnnkit.runtime reads (runtime/text.py's BPE):
# export_run copies the files into the export folder beside artifacts.json
TOKENIZER_FILE_TASKS = ("lm", "seq2seq")


def _tokenizer_files(task: Any) -> dict[str, str]:
    """The tokenizer files of the run (name -> text), as ``pipeline.save_artifacts`` writes them."""
    return task.artifacts.files() if task.artifacts is not None else {}


def _refuse_tokenizer_files(task: Any) -> None:
    extra = _tokenizer_files(task)
    if extra and task.name not in TOKENIZER_FILE_TASKS:  # no runtime reader for this task's files
        raise ConfigError(f"rnnkit export cannot export this {task.name} run yet: its tokenizer files "
                          f"({', '.join(sorted(extra))}) have no torch-free reader in rnnkit.runtime for "
                          f"{task.name} runs (BPE tokenizers export for "
                          f"{' and '.join(TOKENIZER_FILE_TASKS)}); use rnnkit predict/evaluate or rnnkit.load "
                          "on the run directory")


def _graphs(task: Any, model: nn.Module) -> dict[str, Graph]:
    from rnnkit.models.feedforward import FeedForward
    from rnnkit.models.language_model import LanguageModel
    from rnnkit.models.sequence_classifier import PooledSequenceModel

    from rnnkit.nn.min_rnn import MinRecurrent
    from rnnkit.nn.recurrent import Recurrent

    name = task.name
    if type(model).__module__ == "rnnkit.models.transformer_generator":
        if name == "generate":
            _refuse_tokenizer_files(task)
            return {"condition": TransformerGeneratorConditionGraph(model), "step": TransformerGeneratorStepGraph(model)}
    if type(model).__module__ in ("rnnkit.models.transformer", "rnnkit.models.transformer_generator"):
        from rnnkit.models.transformer import TransformerLanguageModel, TransformerPooledModel, TransformerTagger

        if name in ("classify", "regress", "forecast") and isinstance(model, TransformerPooledModel):
            return {"model": TransformerManyToOneGraph(model)}
        if name == "tag" and isinstance(model, TransformerTagger):
            return {"model": TransformerEmissionsGraph(model)}
        if name == "lm" and isinstance(model, TransformerLanguageModel):
            _refuse_tokenizer_files(task)
            return {"sequence": TransformerLMSequenceGraph(model), "step": TransformerLMStepGraph(model)}
        raise ConfigError(f"rnnkit export does not handle model.kind = 'transformer' for {name!r} runs "
                          f"({type(model).__name__}) yet; export a kind = 'rnn' run, or serve this one from "
                          "Python (rnnkit.load). Transformer classify, regress, forecast, tag, lm and generate runs export")
    rnn = getattr(model, "rnn", None) or getattr(getattr(model, "encoder", None), "rnn", None) \
        or getattr(model, "decoder", None)
    if rnn is not None and not isinstance(rnn, (Recurrent, MinRecurrent)):
        raise ConfigError(f"rnnkit export handles rnn/lstm/gru (Recurrent) and mingru/minlstm (MinRecurrent) "
                          f"layers; this model's recurrent layer is a {type(rnn).__name__}, which has no export "
                          "path yet")
    _refuse_tokenizer_files(task)
    if name in ("classify", "regress", "forecast"):
        if isinstance(model, FeedForward):
            a = task.artifacts
            steps = getattr(a, "steps", None) or getattr(task.config.data, "input_len", None)
            features = getattr(a, "features", None)
            if features is None and hasattr(a, "columns"):
                features = model._config.input_size // steps if steps else None
            return {"model": FeedForwardGraph(model, steps, features)}
        if isinstance(model, PooledSequenceModel):
            return {"model": ManyToOneGraph(model)}
    if name == "lm" and isinstance(model, LanguageModel):
        return {"sequence": LMSequenceGraph(model), "step": LMStepGraph(model)}
    if name == "generate" and hasattr(model, "condition_embedding"):
        return {"condition": GeneratorConditionGraph(model), "step": GeneratorStepGraph(model)}
    if name == "seq2seq" and getattr(getattr(model, "config", None), "softmax", "full") != "full":
        raise ConfigError("rnnkit export cannot export a seq2seq model with model.softmax='adaptive' yet "
                          "(its decoder step graph has one linear output layer); train with model.softmax='full'")
    if name == "seq2seq" and hasattr(model, "decode_step"):
        return {"encoder": Seq2SeqEncoderGraph(model), "decoder_step": Seq2SeqDecoderStepGraph(model)}
    if name == "tag" and hasattr(model, "char_features"):
        return {"model": EmissionsGraph(model)}
    raise ConfigError(f"rnnkit export does not handle {name!r} runs with {type(model).__name__} yet "
                      "(exportable: classify, regress, forecast (rnn, feedforward and transformer), lm (rnn and "
                      "transformer), tag (rnn and transformer), seq2seq, generate (rnn and transformer), where rnn is any cell: rnn, lstm, "
                      "gru, mingru, minlstm; see docs/architecture.md)")


def _export_onnx(graph: Graph, example: tuple, path: Path, opset: int) -> None:
    require_onnx()
    from torch.export import Dim

    from rnnkit.export.onnx_ops import translation_table

    dims: dict[str, Any] = {}
    dyn = graph.dynamic()
    dynamic_shapes = []
    for name in graph.inputs:
        axes = dyn.get(name, {})
        dynamic_shapes.append({i: dims.setdefault(label, Dim(label, min=graph.dim_min.get(label, 1)))
                               for i, label in axes.items()} or None)
    start = graph.vararg_from
    if start is not None:  # forward(..., *rest): torch.export sees the rest as one tuple argument
        dynamic_shapes = dynamic_shapes[:start] + [tuple(dynamic_shapes[start:])]
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            graph, example, dynamo=True, dynamic_shapes=tuple(dynamic_shapes), input_names=list(graph.inputs),
            output_names=list(graph.outputs), opset_version=opset, custom_translation_table=translation_table(),
            verbose=False, external_data=False,
        )
    # fold the weight reordering (torch gate order -> ONNX) into the initializers: the default
    # size limits leave large weights' Slice/Concat in the graph, run at every call, and keep
    # the LSTM/GRU weights out of reach of int8 quantization
    import onnxscript.optimizer

    onnxscript.optimizer.optimize(program.model, input_size_limit=1 << 28, output_size_limit=1 << 28)
    program.save(str(path), external_data=False)


def _export_torchscript(graph: Graph, example: tuple, path: Path) -> None:
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(graph, example, check_trace=False)
    traced.save(str(path))


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in asdict(value).items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _model_info(model: nn.Module) -> dict[str, Any]:
    rnn = getattr(model, "rnn", None) or getattr(getattr(model, "encoder", None), "rnn", None) \
        or getattr(model, "decoder", None)
    info: dict[str, Any] = {"class": type(model).__name__, "config": _plain(model._config)}
    cfg = model._config
    if getattr(cfg, "context_size", None) is not None:  # the transformer lm: its key/value cache
        info["cache"] = {"num_layers": cfg.num_layers, "num_heads": cfg.num_heads,
                         "head_size": cfg.d_model // cfg.num_heads, "context_size": cfg.context_size,
                         "positions": cfg.positions,
                         "max_positions": cfg.max_positions if cfg.positions == "learned" else None,
                         "state_shape": ["num_layers", "batch", cfg.num_heads, "past", cfg.d_model // cfg.num_heads]}
        if hasattr(model, "prefix"):  # the conditional generator: steps before the text (its condition token)
            info["cache"]["prefix"] = model.prefix
    elif rnn is not None:
        info["recurrent"] = {"cell": rnn.cell, "hidden_size": rnn.hidden_size, "num_layers": rnn.num_layers,
                             "bidirectional": rnn.bidirectional,
                             "state_shape": ["num_layers*num_directions", "batch", rnn.hidden_size]}
    return info


def export_run(run: Any, out: str | Path | None = None, *, format: str = "onnx", opset: int | None = None,
               quantize: str | None = None, overwrite: bool = False) -> Path:
    """Export ``run`` (a :class:`rnnkit.api.Run`) into ``out`` (default ``RUN_DIR/export-FORMAT``);
    returns the folder. ``quantize="int8"``: dynamic int8 weights (see :mod:`rnnkit.export.quantize`)."""
    import rnnkit

    if format not in FORMATS:
        raise ConfigError(f"format must be one of {', '.join(map(repr, FORMATS))}; got {format!r}")
    if quantize not in (None, "int8"):
        raise ConfigError(f"quantize must be 'int8' or None; got {quantize!r}")
    if format == "onnx":
        require_onnx()
    opset = DEFAULT_OPSET if opset is None else int(opset)
    if format == "onnx" and not 14 <= opset <= 23:
        raise ConfigError(f"--opset must be in [14, 23]; got {opset}")
    run_dir = Path(run.path)
    folder = Path(out) if out is not None else run_dir / f"export-{format}{'-int8' if quantize else ''}"
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise ConfigError(f"{folder} is not empty; choose another --out or pass --overwrite")
    folder.mkdir(parents=True, exist_ok=True)
    model = run.model.eval()
    graphs = _graphs(run.task, model)
    suffix = ".onnx" if format == "onnx" else ".pt"
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT, "version": 1, "task": run.task.name, "graph_format": format,
        "rnnkit_version": rnnkit.__version__, "torch_version": torch.__version__,
        "opset": opset if format == "onnx" else None, "quantize": quantize,
        "model": _model_info(model), "data": _plain(run.task.config.data),
        "graphs": {},
    }
    if format == "onnx":
        import onnx

        manifest["onnx_version"] = onnx.__version__
    for section in ("generate", "decode"):
        if hasattr(run.task.config, section):
            manifest[section] = _plain(getattr(run.task.config, section))
    extra = _task_extras(run.task, model)
    if extra:
        manifest["extras"] = extra
    for name, graph in graphs.items():
        graph.eval()
        example = graph.example(2, 5)
        with torch.no_grad():
            outputs = graph(*example)
        outputs = outputs if isinstance(outputs, tuple) else (outputs,)
        path = folder / f"{name}{suffix}"
        if format == "onnx":
            _export_onnx(graph, example, path, opset)
            if quantize:
                from rnnkit.export.quantize import quantize_onnx

                quantize_onnx(path, path)
        else:
            if quantize:
                from rnnkit.export.quantize import quantize_torch_graph

                graph = quantize_torch_graph(graph)
            _export_torchscript(graph, example, path)
        manifest["graphs"][name] = {"file": path.name, **_spec(graph, example, outputs)}
    for name in ("artifacts.json", "config.toml"):
        if (run_dir / name).exists():
            shutil.copyfile(run_dir / name, folder / name)
    files = _tokenizer_files(run.task)
    for name, text in files.items():  # BPE tokenizers: their own JSON beside artifacts.json, which names them
        (folder / name).write_text(text, encoding="utf-8")
    if files:
        manifest["tokenizer_files"] = sorted(files)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8")
    return folder


def _task_extras(task: Any, model: nn.Module) -> dict[str, Any]:
    """What the runtime needs beyond the graphs: the CRF transitions of a tagger."""
    crf = getattr(model, "crf", None)
    if crf is None:
        return {}
    return {"crf": {k: v.detach().double().tolist() for k, v in crf.state_dict().items()}}
