"""Lazy, headless matplotlib import with a message that says how to get it."""

from __future__ import annotations


def pyplot():
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plots need matplotlib: pip install 'rnnkit[viz]'") from exc
    matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    return plt
