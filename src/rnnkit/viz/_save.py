"""Writing a finished figure to a PNG file (parent folders created) and closing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def save_figure(plt: Any, fig: Any, path: str | Path, dpi: int = 100) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
