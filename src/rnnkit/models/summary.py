"""A Keras-like table of a model: each layer, its output shape and its parameter count.

Rows are the modules that own parameters directly (``Linear``, ``Embedding``,
``Recurrent``, ``CRF`` ...) and the parameter-free leaves that ran (dropout,
activations), in registration order. Output shapes come from one forward pass on
example inputs; a module that did not run shows ``-``; one that ran several times
(a decoder stepping through time) shows its last call.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["summarize", "format_shape"]


def format_shape(value: Any) -> str:
    """``(2, 5, 11)`` for a tensor; tuples/lists of tensors joined; ``-`` otherwise."""
    if isinstance(value, Tensor):
        return str(tuple(value.shape))
    if isinstance(value, (tuple, list)):
        parts = [format_shape(v) for v in value]
        parts = [p for p in parts if p != "-"]
        return ", ".join(parts) if parts else "-"
    return "-"


def _rows(model: nn.Module) -> list[tuple[str, nn.Module]]:
    rows = []
    for name, module in model.named_modules():
        if not name:
            continue
        owns = any(True for _ in module.parameters(recurse=False))
        leaf = not any(True for _ in module.children())
        if owns or leaf:
            rows.append((name, module))
    return rows


@torch.no_grad()
def summarize(model: nn.Module, args: tuple, kwargs: dict | None = None) -> str:
    """The summary table of ``model`` after running ``model(*args, **kwargs)`` (in eval mode)."""
    rows = _rows(model)
    shapes: dict[str, str] = {}

    def hook(name: str):
        def record(_module: nn.Module, _inputs: Any, output: Any) -> None:
            shapes[name] = format_shape(output)

        return record

    handles = [m.register_forward_hook(hook(n)) for n, m in rows]
    was_training = model.training
    model.eval()
    try:
        model(*args, **(kwargs or {}))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()

    table = [("Layer (type)", "Output shape", "Param #")]
    seen: set[int] = set()  # a tied parameter is counted once, where it first appears
    for name, module in rows:
        own = [p for p in module.parameters(recurse=False)]
        count = sum(p.numel() for p in own if id(p) not in seen)
        shared = any(id(p) in seen for p in own)
        seen.update(id(p) for p in own)
        label = f"{count:,}" + (" (+tied)" if shared else "")
        table.append((f"{name} ({type(module).__name__})", shapes.get(name, "-"), label))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    inputs = ", ".join(format_shape(a) for a in args if isinstance(a, Tensor))
    rule = "=" * (sum(widths) + 4)

    def line(r: tuple[str, str, str]) -> str:
        return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"

    out = [f'Model: "{type(model).__name__}"  (example input {inputs})', rule, line(table[0]), rule]
    out += [line(r) for r in table[1:]]
    out += [
        rule,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
    ]
    return "\n".join(out)
