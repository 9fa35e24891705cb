"""rnnkit — recurrent neural networks you can understand and ship.

The public API is re-exported here explicitly; everything else is private by
convention. Layers (see DESIGN.md): reference → nn → data → models → train →
tasks → surfaces (cli, viz, export).
"""

from __future__ import annotations

from rnnkit.errors import (
    BackendError,
    CheckpointError,
    ConfigError,
    DataError,
    RnnkitError,
    ShapeError,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "RnnkitError",
    "ShapeError",
    "BackendError",
    "ConfigError",
    "DataError",
    "CheckpointError",
]
