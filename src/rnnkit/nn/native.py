"""Small C kernels, compiled on first use and called through ctypes; never an install requirement.

``load(name)`` compiles ``rnnkit/nn/kernels/<name>.c`` with the machine's C compiler (``$CC``, else
``cc``, ``gcc`` or ``clang`` on the PATH; ``-O3 -march=native -ffast-math``) into the user's cache
(``$RNNKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/rnnkit``, else ``~/.cache/rnnkit``), under a name
hashed from the source, the flags, the compiler's version and this CPU's feature flags, so a changed
kernel, compiler or machine never reuses a stale library. The build writes a temporary file and
renames it into place, so concurrent first uses are safe.

When there is no compiler, the build fails, or ``RNNKIT_NATIVE=0``, ``load`` returns None and
:func:`unavailable` says why; callers then run their torch-ops path (the same numbers, slower) and
the ``rnnkit`` logger says so once per process. Nothing here is needed for correctness: every
kernel has a torch-ops twin it is tested against.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

__all__ = ["load", "unavailable", "cache_dir"]

log = logging.getLogger("rnnkit.nn")

KERNELS = Path(__file__).resolve().parent / "kernels"
FLAGS = ("-O3", "-march=native", "-ffast-math", "-shared", "-fPIC")
_lock = threading.Lock()
_libs: dict[str, ctypes.CDLL | None] = {}
_reasons: dict[str, str] = {}


def cache_dir() -> Path:
    """Where compiled kernels are kept (see the module docstring)."""
    if os.environ.get("RNNKIT_CACHE_DIR"):
        return Path(os.environ["RNNKIT_CACHE_DIR"]) / "kernels"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rnnkit" / "kernels"


def _compiler() -> str | None:
    for name in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if name and (path := shutil.which(name)):
            return path
    return None


def _cpu_flags() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return line
    except OSError:
        pass
    return platform.processor()


def _build(name: str) -> ctypes.CDLL:
    """Compile (or reuse) and load ``kernels/<name>.c``; raises OSError/RuntimeError with the reason."""
    source = KERNELS / f"{name}.c"
    cc = _compiler()
    if cc is None:
        raise RuntimeError("no C compiler found (looked for $CC, cc, gcc, clang)")
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256("\0".join([source.read_text(), " ".join(FLAGS), cc, version, platform.machine(),
                                    _cpu_flags()]).encode()).hexdigest()[:16]
    target = cache_dir() / f"{name}-{key}.so"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
        os.close(fd)
        try:
            done = subprocess.run([cc, *FLAGS, "-o", tmp, str(source), "-lm"], capture_output=True, text=True,
                                  timeout=120)
            if done.returncode != 0:
                raise RuntimeError(f"{Path(cc).name} failed on {source.name}: {done.stderr.strip()[-500:]}")
            os.replace(tmp, target)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return ctypes.CDLL(str(target))


def load(name: str) -> ctypes.CDLL | None:
    """The compiled kernel library ``name``, or None (then :func:`unavailable` gives the reason)."""
    if name in _libs:
        return _libs[name]
    with _lock:
        if name not in _libs:
            lib = None
            if os.environ.get("RNNKIT_NATIVE", "1").strip().lower() in ("0", "false", "no", "off"):
                _reasons[name] = "RNNKIT_NATIVE=0 turns the compiled kernels off"
            else:
                try:
                    lib = _build(name)
                except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                    _reasons[name] = str(exc) or type(exc).__name__
            if lib is None:
                log.warning("rnnkit: the compiled %s kernel is unavailable (%s); running its torch-ops path "
                            "instead (same numbers, slower)", name, _reasons[name])
            _libs[name] = lib
    return _libs[name]


def unavailable(name: str) -> str | None:
    """Why ``load(name)`` returned None, or None when the kernel is loaded."""
    return None if load(name) is not None else _reasons.get(name, "not built")
