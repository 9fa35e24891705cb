"""rnnkit.runtime never imports torch: checked in a subprocess of this environment, and (slow)
run for real in a fresh virtual environment that has numpy and onnxruntime but no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
LOCK = Path(__file__).resolve().parents[2] / "requirements" / "dev-lock.txt"


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(SRC), **extra)
    return env


def test_importing_the_runtime_does_not_import_torch():
    code = ("import sys, rnnkit.runtime, rnnkit.runtime.text, rnnkit.runtime.model; "
            "import rnnkit; rnnkit.__version__; "
            "bad = sorted(m for m in sys.modules if m == 'torch' or m.startswith(('torch.', 'rnnkit.data', "
            "'rnnkit.nn', 'rnnkit.models', 'rnnkit.export'))); print(bad); sys.exit(1 if bad else 0)")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env())
    assert res.returncode == 0, res.stdout + res.stderr


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory):
    """A venv with numpy + onnxruntime (the lock's versions) and no torch; skipped only when
    the wheels cannot be installed here."""
    folder = tmp_path_factory.mktemp("venv") / "rt"
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(folder)
    except Exception as exc:  # pragma: no cover - a Python without ensurepip
        pytest.skip(f"cannot create a virtual environment with pip: {exc}")
    py = folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    pins = {line.split("==")[0].lower(): line.strip() for line in LOCK.read_text().splitlines()
            if "==" in line and not line.startswith("#")}
    wanted = [pins.get(name, name) for name in ("numpy", "onnxruntime")]
    res = subprocess.run([str(py), "-m", "pip", "install", "-q", "-c", str(LOCK), *wanted],
                         capture_output=True, text=True, timeout=600)
    if res.returncode != 0:
        pytest.skip(f"numpy/onnxruntime wheels could not be installed in a fresh venv: {res.stderr[-500:]}")
    check = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('torch') is None)"],
                           capture_output=True, text=True)
    assert check.stdout.strip() == "True", "the fresh venv must not have torch"
    return py


SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
import rnnkit.runtime as rt
lm = rt.load(sys.argv[1])
ready = time.perf_counter() - t0
greedy = lm.generate("the ", length=30, temperature=0)
cls = rt.load(sys.argv[2])
rows = cls.predict(["a great film", "it was awful", "zzz"])
logits, state = lm.stream([1, 2])
logits, state = lm.stream([3, 4], state)
assert "torch" not in sys.modules
print(json.dumps({"greedy": greedy, "rows": rows, "ready_s": ready, "state": [s.shape for s in state]}))
"""


@pytest.mark.slow
def test_runtime_in_a_venv_without_torch(clean_venv, tmp_path):
    pytest.importorskip("onnxscript", reason="exporting needs the export extra (pip install 'rnnkit[export]')")
    import rnnkit
    from seqtask_helpers import sentiment_rows

    text = "\n".join(f"the quick brown fox {i % 7} jumps over the lazy dog" for i in range(120))
    lm = rnnkit.fit("lm", [text], out=tmp_path / "lm", settings={"train.max_steps": 2, "model.hidden_size": 8})
    rows = sentiment_rows(60, 0)
    cls = rnnkit.fit("classify", [t for t, _ in rows], [y for _, y in rows], out=tmp_path / "cls",
                     settings={"train.max_steps": 2, "model.hidden_size": 8, "model.bidirectional": True})
    lm_dir, cls_dir = lm.export(tmp_path / "lm-onnx"), cls.export(tmp_path / "cls-onnx")
    (tmp_path / "script.py").write_text(SCRIPT)
    res = subprocess.run([str(clean_venv), str(tmp_path / "script.py"), str(lm_dir), str(cls_dir)],
                         capture_output=True, text=True, env=_env(), timeout=300)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout.strip().splitlines()[-1])
    assert out["greedy"] == lm.generate(prime="the ", length=30, temperature=0)
    expected = cls.predict(["a great film", "it was awful", "zzz"])
    assert [r["label"] for r in out["rows"]] == [r["label"] for r in expected]
    for got, want in zip(out["rows"], expected):
        assert got["probability"] == pytest.approx(want["probability"], abs=1e-5)
    assert out["state"] == [[1, 2, 8], [1, 2, 8]]
