"""Smoke test of an installed rnnkit wheel (CI runs it from a fresh virtual environment,
outside the repository, so the installed package is the one imported).

Checks that the package data came along (recipes, the bundled Tiny Shakespeare, py.typed),
that the CLI's entry point runs, and that a tiny classify run trains, predicts and writes
its reports.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import rnnkit
from rnnkit.tasks.configs import recipe_names


def main() -> int:
    package = Path(rnnkit.__file__).parent
    assert "site-packages" in str(package), f"rnnkit imported from {package}, not the installed wheel"
    for name in ("py.typed", "assets/tinyshakespeare.txt"):
        assert (package / name).is_file(), f"{name} is missing from the wheel"
    assert "shakespeare-quick" in recipe_names(), recipe_names()
    config = subprocess.run([Path(sys.executable).with_name("rnnkit"), "config", "classify"],
                            capture_output=True, text=True, check=True).stdout
    assert "[model]" in config and "hidden_size" in config
    out = Path(tempfile.mkdtemp()) / "run"
    texts = ["a great film", "a fine film", "an awful film", "a dull film"] * 10
    labels = ["pos", "pos", "neg", "neg"] * 10
    run = rnnkit.fit("classify", texts, labels, out=out, settings={"train.epochs": 2, "model.hidden_size": 8})
    rows = rnnkit.load(out).predict(["a great film"])
    assert rows[0]["label"] in ("pos", "neg"), rows
    for name in ("report.md", "report.html", "report.json", "model.safetensors"):
        assert (out / name).is_file(), name
    # the minGRU kernel's C source ships in the wheel and compiles from there (or says why not)
    assert (package / "nn/kernels/min_recurrence.c").is_file(), "nn/kernels/min_recurrence.c is missing from the wheel"
    from rnnkit.nn import MinRecurrent, native

    layer = MinRecurrent("mingru", 3, 4)
    print(f"minGRU path: {layer.path_for(10)} ({native.unavailable('min_recurrence') or 'compiled kernel loaded'})")
    assert layer(__import__("torch").randn(2, 10, 3))[0].shape == (2, 10, 4)
    # likewise the RNN/GRU step loops of cpu_fused (backend="auto" takes them for float32 training on the CPU)
    assert (package / "nn/kernels/rnn_steps.c").is_file(), "nn/kernels/rnn_steps.c is missing from the wheel"
    import torch

    from rnnkit.nn import Recurrent, cpu_native

    gru = Recurrent("gru", 3, 4)
    print(f"GRU training path: {gru.path} ({cpu_native.why_not(torch.float32) or 'compiled loops loaded'})")
    out, _ = gru(torch.randn(2, 10, 3))
    out.sum().backward()
    assert all(p.grad is not None for p in gru.parameters())
    print(f"rnnkit {rnnkit.__version__} from {package}: config, fit, predict and reports work "
          f"(val accuracy {run.result.val_metrics['accuracy']:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
