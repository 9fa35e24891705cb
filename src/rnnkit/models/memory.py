"""A memory estimate of a model from its config alone, before anything is allocated.

``rnnkit train`` calls :func:`check_model_memory` when the config is loaded, so a setting
such as ``model.hidden_size=1000000000`` or ``model.num_layers=1000000`` is refused at
once with the estimate in the message, instead of failing in the allocator (or building
a million layers) much later. The estimate is deliberately rough and generous to the
user: it counts the recurrent layers' weights (×4: weights, gradients, two Adam
moments) and the activations of one batch kept for backpropagation, with stand-ins for
the sizes only the data decides (vocabulary, features). It refuses only what clearly
cannot fit.
"""

from __future__ import annotations

import os
from typing import Any

from rnnkit.errors import ConfigError
from rnnkit.models.sequence_classifier import FEATURE_DEFAULTS, TEXT_DEFAULTS

__all__ = ["estimate_model_bytes", "available_bytes", "check_model_memory"]

_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_FLOAT = 4  # bytes of a float32


def _int(obj: Any, name: str, default: int) -> int:
    v = getattr(obj, name, None)
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else default


def estimate_model_bytes(cfg: Any) -> tuple[int, int]:
    """``(parameter bytes incl. gradients and optimizer state, activation bytes of one batch)``."""
    m, d = getattr(cfg, "model", None), getattr(cfg, "data", None)
    if m is None:
        return 0, 0
    hidden = _int(m, "hidden_size", 0)
    if hidden == 0 and hasattr(m, "hidden_size") and m.hidden_size is None:  # filled by the input kind later
        hidden = min(TEXT_DEFAULTS["hidden_size"], FEATURE_DEFAULTS["hidden_size"])
    layers = _int(m, "num_layers", 1)
    emb = _int(m, "embedding_dim", 0)
    gates = _GATES.get(str(getattr(m, "cell", "lstm")), 4)
    dirs = 2 if getattr(m, "bidirectional", False) else 1
    vocab = _int(d, "max_size", 0) or _int(d, "max_vocab", 0)
    params = vocab * max(emb, 1)
    acts = 0
    batch = _int(d, "batch_size", 32)
    steps = _int(d, "seq_len", 0) or _int(d, "max_len", 0) or 100
    if hidden:
        # the first layer reads the embedding (or a stand-in of 1 feature), later ones the layer below
        first_in = emb or 1
        params += dirs * gates * hidden * (first_in + hidden + 2)
        params += (layers - 1) * dirs * gates * hidden * (dirs * hidden + hidden + 2)
        params += dirs * hidden * max(vocab, 2)  # an output layer over the vocabulary / classes
        acts = batch * steps * layers * dirs * hidden * (gates + 2) * _FLOAT
        if str(getattr(m, "kind", "rnn")) == "seq2seq" or hasattr(m, "attention"):
            acts *= 2  # an encoder and a decoder
    for width in getattr(m, "hidden_sizes", ()) or ():
        if isinstance(width, int) and width > 0:
            params += width * width
            acts += batch * width * _FLOAT
    return params * _FLOAT * 4, acts


def available_bytes() -> int | None:
    """Memory available to this process (MemAvailable on Linux), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _gib(n: float) -> str:
    return f"{n / 2**30:.3g} GiB" if n >= 2**30 else f"{n / 2**20:.3g} MiB"


def check_model_memory(cfg: Any, available: int | None = None) -> None:
    """ConfigError when the estimate of :func:`estimate_model_bytes` exceeds the memory available
    (on the GPU for a CUDA device, else the machine's RAM)."""
    params, acts = estimate_model_bytes(cfg)
    need = params + acts
    if need == 0:
        return
    where = "memory"
    if available is None:
        available = available_bytes()
        device = str(getattr(getattr(cfg, "train", None), "device", "cpu"))
        if device.startswith("cuda") or device == "auto":
            try:
                import torch

                if torch.cuda.is_available():
                    available, where = torch.cuda.mem_get_info()[0], "GPU memory"
            except (RuntimeError, ImportError):  # pragma: no cover - no usable CUDA
                pass
    if available is None or need <= available:
        return
    m = cfg.model
    sizes = ", ".join(f"model.{k}={getattr(m, k)}" for k in ("hidden_size", "num_layers", "embedding_dim")
                      if isinstance(getattr(m, k, None), int))
    raise ConfigError(f"the model needs about {_gib(need)} ({_gib(params)} for weights, gradients and optimizer "
                      f"state, {_gib(acts)} of activations per batch) but {_gib(available)} of {where} is "
                      f"available; reduce {sizes or 'the model size'} or data.batch_size")
