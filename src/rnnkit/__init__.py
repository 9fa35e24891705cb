"""rnnkit — recurrent neural networks you can understand and ship.

The public API is listed in ``__all__`` and re-exported lazily (PEP 562): a name's
module is imported on first use, so ``import rnnkit.reference`` stays NumPy-only
and ``import rnnkit`` does not pay for torch until a torch-backed name is used.
Layers (see DESIGN.md): reference → nn → data → models → train → tasks → surfaces.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rnnkit.errors import (
    BackendError,
    CheckpointError,
    ConfigError,
    DataError,
    RnnkitError,
    ShapeError,
)

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Recurrent": "rnnkit.nn",
    "Trace": "rnnkit.nn",
    "RNNCell": "rnnkit.nn",
    "LSTMCell": "rnnkit.nn",
    "GRUCell": "rnnkit.nn",
}

__all__ = [
    "__version__",
    "RnnkitError",
    "ShapeError",
    "BackendError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    *_LAZY,
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'rnnkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # cache: later look-ups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static type checkers and IDEs see the real names
    from rnnkit.nn import GRUCell, LSTMCell, Recurrent, RNNCell, Trace
