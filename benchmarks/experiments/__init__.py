"""One module per experiment; each exposes ``run(out_dir: Path, datasets: Path) -> dict``
(build the dict with :func:`experiments.common.result`). Register it here."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from typing import Callable

EXPERIMENTS: dict[str, Callable] = {}
for info in pkgutil.iter_modules([str(Path(__file__).parent)]):
    if info.name != "common" and not info.name.startswith("_"):
        module = importlib.import_module(f"experiments.{info.name}")
        EXPERIMENTS[module.NAME] = module.run
