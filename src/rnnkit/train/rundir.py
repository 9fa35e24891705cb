"""The run directory: the unit a user keeps and shares (see DESIGN.md).

Layout::

    RUN_DIR/
      config.toml            fully resolved config (written by the caller via save_config)
      model.safetensors      the latest (or best, with restore_best) weights — no pickle
      vocab*.json, scaler.json   written by the tasks layer via save_json
      checkpoints/step-00000120/{model.safetensors, trainer_state.safetensors, trainer_state.json}
      metrics.csv            one row per epoch
      tensorboard/           events, only when tensorboard is importable
      plots/, report.md      written by rnnkit.viz

Every write is atomic: a temporary file in the same folder, then ``os.replace``,
so a crash never leaves half a file under a final name.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

import torch
from safetensors.torch import save as st_save

from rnnkit.errors import CheckpointError, RnnkitError

__all__ = ["RunDir", "RunDirLock", "RunEnvironmentError", "atomic_write_bytes", "atomic_write_text",
           "clean_leftovers", "LOCK_FILE"]

LOCK_FILE = ".lock"


class RunEnvironmentError(RnnkitError):
    """The machine cannot do what was asked (not a bad input): the run directory is in use by
    another process, a device is not there. The CLI exits with status 1."""


class RunDirLock:
    """An exclusive lock on a run directory while one process writes it: ``RUN_DIR/.lock``
    holding the owner's pid, locked with ``flock``. The kernel drops the lock when its
    process dies (even by kill -9), so a lock file left by a dead process is stale and
    simply taken over; a live owner makes :meth:`acquire` fail at once.

    The directory is created when missing (and removed again on release if this lock
    created it and nothing else was written)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.file = self.path / LOCK_FILE
        self._fd: int | None = None
        self._created = False

    def acquire(self) -> "RunDirLock":
        if self._fd is not None:
            return self
        if self.path.exists() and not self.path.is_dir():
            raise CheckpointError(f"--out {self.path} is a file, not a run directory")
        self._created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                _flock(fd)
            except BlockingIOError:
                os.close(fd)
                owner = _read_owner(self.file)
                raise RunEnvironmentError(
                    f"run directory {self.path} is in use by another rnnkit process{owner} (lock file "
                    f"{self.file}); wait for it to finish or choose another --out") from None
            except BaseException:
                os.close(fd)
                raise
            # the file may have been removed by its previous owner between open() and flock():
            # then we hold a lock on a deleted file; open the path again
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.file))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            os.unlink(self.file)  # while still locked: a waiting process re-checks the inode
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None
        if self._created:
            try:
                self.path.rmdir()  # only if nothing was written
            except OSError:
                pass

    def __enter__(self) -> "RunDirLock":
        return self.acquire()

    def __exit__(self, *exc: Any) -> None:
        self.release()


def _flock(fd: int) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: an advisory lock is not available
        return
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def _read_owner(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def clean_leftovers(run_dir: str | os.PathLike) -> list[Path]:
    """Remove what killed writes left behind (call while holding the lock): ``checkpoints/.tmp-*``
    folders, ``.NAME.tmp-PID`` files of atomic writes. A ``checkpoints/.old-step-N-*`` folder
    whose ``step-N`` is missing (killed between the two renames of a re-save) is put back.
    Returns the removed paths."""
    root = Path(run_dir)
    removed: list[Path] = []
    ckpts = root / "checkpoints"
    if ckpts.is_dir():
        for p in sorted(ckpts.iterdir()):
            if p.name.startswith(".old-step-"):
                final = ckpts / p.name[len(".old-"):].rsplit("-", 1)[0]
                if not final.exists():
                    os.replace(p, final)
                    continue
            if p.name.startswith((".tmp-", ".old-step-")):
                shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
                removed.append(p)
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith(".") and (".tmp-" in p.name or p.name.endswith(".tmp")) and p.is_file():
                p.unlink(missing_ok=True)
                removed.append(p)
    return removed


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temp file + fsync + ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


class RunDir:
    """Paths and atomic writers of one run directory (created on demand)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._tb: Any = None
        self._tb_tried = False

    # paths ---------------------------------------------------------------------
    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def model_path(self) -> Path:
        return self.path / "model.safetensors"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def plots_dir(self) -> Path:
        return self.path / "plots"

    def exists(self) -> bool:
        return self.path.is_dir()

    # writers -------------------------------------------------------------------
    def save_config(self, cfg: Any) -> Path:
        """The fully resolved config (a dataclass) as config.toml."""
        from rnnkit.config import dumps_config

        return atomic_write_text(self.config_path, dumps_config(cfg))

    def save_json(self, name: str, obj: Any) -> Path:
        """``obj`` as pretty JSON in ``RUN_DIR/name`` (vocabularies, scalers)."""
        return atomic_write_text(self.path / name, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")

    def load_json(self, name: str) -> Any:
        path = self.path / name
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise CheckpointError(f"{path} is missing from the run directory") from None
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{path} is not valid JSON ({exc}); the file is truncated or corrupt") from None
        except UnicodeDecodeError as exc:
            raise CheckpointError(f"{path} is not UTF-8 text (byte {exc.start}); the file is corrupt") from None
        except IsADirectoryError:
            raise CheckpointError(f"{path} is a folder, expected a JSON file") from None

    def save_weights(self, state_dict: Mapping[str, torch.Tensor], name: str = "model.safetensors") -> Path:
        """Model weights as safetensors (contiguous copies; shared storage is fine)."""
        tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
        return atomic_write_bytes(self.path / name, st_save(tensors))

    def load_weights(self, name: str = "model.safetensors") -> dict[str, torch.Tensor]:
        from rnnkit.train.checkpoint import read_safetensors

        return read_safetensors(self.path / name)

    def append_metrics(self, row: Mapping[str, Any]) -> None:
        """Append one row to metrics.csv; new columns rewrite the file with the wider header."""
        rows: list[dict[str, Any]] = []
        header: list[str] = []
        if self.metrics_path.exists():
            with open(self.metrics_path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                header = list(reader.fieldnames or [])
                rows = list(reader)
        new_cols = [k for k in row if k not in header]
        fmt = {k: (repr(float(v)) if isinstance(v, float) and not math.isnan(v) else v) for k, v in row.items()}
        if new_cols or not header:
            header += new_cols
            buf = io.StringIO()
            w = csv.DictWriter(buf, fieldnames=header, lineterminator="\n")
            w.writeheader()
            w.writerows(rows + [fmt])
            atomic_write_text(self.metrics_path, buf.getvalue())
        else:  # appending one line is safe: a torn last line is the only possible damage
            buf = io.StringIO()
            csv.DictWriter(buf, fieldnames=header, lineterminator="\n").writerow(fmt)
            with open(self.metrics_path, "a", encoding="utf-8") as f:
                f.write(buf.getvalue())

    def read_metrics(self) -> list[dict[str, str]]:
        if not self.metrics_path.exists():
            return []
        with open(self.metrics_path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))

    def tensorboard(self) -> Any:
        """A ``SummaryWriter`` in RUN_DIR/tensorboard, or None when tensorboard is not installed."""
        if not self._tb_tried:
            self._tb_tried = True
            try:
                import tensorboard  # noqa: F401  (torch's writer needs the package)
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                return None
            self._tb = SummaryWriter(str(self.path / "tensorboard"))
        return self._tb

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
