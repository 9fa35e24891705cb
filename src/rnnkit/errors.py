"""The exceptions rnnkit raises on bad input.

Every message names the argument (or file, line, column), what was expected and
what was received, e.g. ``x must have shape (B, T, 32) because input_size=32;
got (8, 50, 16)``. All of them derive from :class:`RnnkitError`, so a caller can
catch rnnkit's own complaints without swallowing real bugs. This module imports
nothing from rnnkit: every layer may raise these.
"""

from __future__ import annotations

__all__ = [
    "RnnkitError",
    "ShapeError",
    "BackendError",
    "ConfigError",
    "DataError",
    "CheckpointError",
    "NonFiniteLossError",
]


class RnnkitError(Exception):
    """Base class of every error rnnkit raises about its inputs."""


class ShapeError(RnnkitError, ValueError):
    """A tensor or array argument has the wrong shape, dtype or values."""


class BackendError(RnnkitError, ValueError):
    """The requested backend cannot run the requested configuration."""


class ConfigError(RnnkitError, ValueError):
    """A configuration value is missing, unknown, of the wrong type or inconsistent."""


class DataError(RnnkitError, ValueError):
    """A data file or in-memory dataset is missing, empty, malformed or inconsistent."""


class CheckpointError(RnnkitError):
    """A checkpoint or run directory is missing, truncated or corrupt."""


class NonFiniteLossError(RnnkitError, ArithmeticError):
    """The training loss became NaN or infinite; the message names the step, the last finite
    loss, the gradient norm and the first non-finite parameter. Checkpoints written before
    it are intact."""
