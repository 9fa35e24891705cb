"""Checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint is a folder ``checkpoints/step-{global_step:08d}/`` holding

- ``model.safetensors``         the model's state dict;
- ``trainer_state.safetensors`` every tensor found in the trainer state (optimizer
                                moments, RNG states, the carried recurrent state);
- ``trainer_state.json``        the rest of the trainer state, with each tensor
                                replaced by ``{"__tensor__": key}``, plus a manifest:
                                size and SHA-256 of both safetensors files and the
                                SHA-256 of the state itself (its canonical JSON), so
                                every file of the checkpoint is covered.

The folder is written under a temporary name and renamed into place, so it
either exists complete or not at all; the manifest still catches later damage
(truncation, bit rot, a half-copied run directory). :func:`load_latest` walks
the checkpoints newest first and falls back past damaged ones with a warning.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from rnnkit.errors import CheckpointError

__all__ = [
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "load_latest",
    "list_checkpoints",
    "read_safetensors",
    "flatten_state",
    "unflatten_state",
]

_STEP_DIR = re.compile(r"^step-(\d+)$")
MODEL_FILE = "model.safetensors"
TENSORS_FILE = "trainer_state.safetensors"
STATE_FILE = "trainer_state.json"
FORMAT = "rnnkit-checkpoint-2"  # 2: the manifest covers the JSON state too
_READABLE = ("rnnkit-checkpoint-1", FORMAT)


@dataclass
class Checkpoint:
    """A loaded checkpoint: model weights, trainer state (tensors restored) and its folder."""

    path: Path
    step: int
    model_state: dict[str, torch.Tensor]
    trainer_state: dict[str, Any]


# ----------------------------------------------------------- state ⇄ JSON + tensors


def flatten_state(obj: Any) -> tuple[Any, dict[str, torch.Tensor]]:
    """Split a nested state (dicts, lists, tuples, tensors, numbers, strings, None)
    into a JSON-able tree and a flat ``{key: tensor}`` dict.

    Tuples and dicts with non-string keys (optimizer states are keyed by int) are
    tagged so that :func:`unflatten_state` restores them exactly.
    """
    tensors: dict[str, torch.Tensor] = {}

    def walk(x: Any, path: str) -> Any:
        if isinstance(x, torch.Tensor):
            key = path or "root"
            tensors[key] = x.detach().cpu().contiguous().clone()
            return {"__tensor__": key}
        if isinstance(x, np.ndarray):
            return {"__ndarray__": x.tolist(), "dtype": str(x.dtype)}
        if isinstance(x, np.generic):
            return x.item()
        if isinstance(x, Mapping):
            if all(isinstance(k, str) for k in x):
                return {k: walk(v, f"{path}/{k}") for k, v in x.items()}
            return {"__items__": [[walk(k, f"{path}/k{i}"), walk(v, f"{path}/{k}")] for i, (k, v) in enumerate(x.items())]}
        if isinstance(x, tuple):
            return {"__tuple__": [walk(v, f"{path}/{i}") for i, v in enumerate(x)]}
        if isinstance(x, list):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(x)]
        if x is None or isinstance(x, (bool, int, float, str)):
            return x
        raise TypeError(f"cannot store a {type(x).__name__} at {path or '/'} in a checkpoint")

    return walk(obj, ""), tensors


def unflatten_state(tree: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of :func:`flatten_state`."""
    if isinstance(tree, dict):
        if "__tensor__" in tree and len(tree) == 1:
            return tensors[tree["__tensor__"]]
        if "__ndarray__" in tree:
            return np.asarray(tree["__ndarray__"], dtype=tree["dtype"])
        if "__tuple__" in tree and len(tree) == 1:
            return tuple(unflatten_state(v, tensors) for v in tree["__tuple__"])
        if "__items__" in tree and len(tree) == 1:
            return {unflatten_state(k, tensors): unflatten_state(v, tensors) for k, v in tree["__items__"]}
        return {k: unflatten_state(v, tensors) for k, v in tree.items()}
    if isinstance(tree, list):
        return [unflatten_state(v, tensors) for v in tree]
    return tree


# ------------------------------------------------------------------------ files


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _state_sha(tree: Any) -> str:
    return _sha256(json.dumps(tree, sort_keys=True, separators=(",", ":")).encode("utf-8"))


def read_safetensors(path: str | os.PathLike, expect_size: int | None = None, expect_sha: str | None = None) -> dict[str, torch.Tensor]:
    """Load a safetensors file, turning every kind of damage into a CheckpointError
    that names the file and says what is wrong."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path} is missing") from None
    except IsADirectoryError:
        raise CheckpointError(f"{path} is a folder, expected a safetensors file") from None
    if expect_size is not None and len(data) != expect_size:
        raise CheckpointError(f"{path} is truncated or overwritten: expected {expect_size} bytes, found {len(data)}")
    if expect_sha is not None and _sha256(data) != expect_sha:
        raise CheckpointError(f"{path} is corrupt: its SHA-256 does not match the checkpoint manifest")
    try:
        return dict(st_load(data))
    except (SafetensorError, ValueError, RuntimeError, OSError) as exc:
        raise CheckpointError(f"{path} is not a readable safetensors file ({exc}); it is truncated or corrupt") from None


def save_checkpoint(
    directory: str | os.PathLike,
    step: int,
    model_state: Mapping[str, torch.Tensor],
    trainer_state: Mapping[str, Any],
    keep: int = 3,
) -> Path:
    """Write ``directory/step-{step:08d}`` atomically and delete all but the newest ``keep``.

    Returns the checkpoint folder. An existing folder for the same step is replaced.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"step-{step:08d}"
    tmp = directory / f".tmp-step-{step:08d}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()

    model_bytes = st_save({k: v.detach().cpu().contiguous().clone() for k, v in model_state.items()})
    tree, tensors = flatten_state(dict(trainer_state))
    tensor_bytes = st_save(tensors)
    tree = json.loads(json.dumps(tree))  # exactly what a reader will see
    doc = {
        "format": FORMAT,
        "step": step,
        "manifest": {
            MODEL_FILE: {"bytes": len(model_bytes), "sha256": _sha256(model_bytes)},
            TENSORS_FILE: {"bytes": len(tensor_bytes), "sha256": _sha256(tensor_bytes)},
            STATE_FILE: {"state_sha256": _state_sha(tree)},
        },
        "state": tree,
    }
    try:
        for name, data in ((MODEL_FILE, model_bytes), (TENSORS_FILE, tensor_bytes),
                           (STATE_FILE, json.dumps(doc).encode("utf-8"))):
            with open(tmp / name, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
    except BaseException:  # disk full, Ctrl-C...: no half checkpoint stays; the previous ones are intact
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():  # re-saving the same step (e.g. Ctrl-C right after a periodic save)
        old = directory / f".old-step-{step:08d}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    for stale in list_checkpoints(directory)[:-keep] if keep > 0 else []:
        shutil.rmtree(stale, ignore_errors=True)
    return final


def list_checkpoints(directory: str | os.PathLike) -> list[Path]:
    """Checkpoint folders under ``directory``, oldest first (by step)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _STEP_DIR.match(p.name)) and p.is_dir()]
    return [p for _, p in sorted(found)]


def load_checkpoint(path: str | os.PathLike) -> Checkpoint:
    """Load and verify one checkpoint folder; CheckpointError names the damaged file."""
    path = Path(path)
    state_file = path / STATE_FILE
    try:
        doc = json.loads(state_file.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        raise CheckpointError(f"{state_file} is missing; {path} is not a complete checkpoint") from None
    except IsADirectoryError:
        raise CheckpointError(f"{state_file} is a folder; {path} is not a complete checkpoint") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{state_file} is not valid JSON ({exc}); the file is truncated or corrupt") from None
    if not isinstance(doc, dict) or doc.get("format") not in _READABLE or "manifest" not in doc or "state" not in doc:
        raise CheckpointError(f"{state_file} is not an rnnkit checkpoint (no 'format': '{FORMAT}')")
    manifest = doc["manifest"]
    if not isinstance(manifest, dict):
        raise CheckpointError(f"{state_file}: field manifest must be a table; got {type(manifest).__name__}")
    try:
        sizes = {name: (int(manifest[name]["bytes"]), str(manifest[name]["sha256"])) for name in (MODEL_FILE, TENSORS_FILE)}
        state_sha = manifest[STATE_FILE]["state_sha256"] if doc["format"] == FORMAT else None
        step = int(doc["step"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{state_file}: field manifest/step is damaged ({type(exc).__name__}: {exc})") from None
    if state_sha is not None and _state_sha(doc["state"]) != state_sha:
        raise CheckpointError(f"{state_file} is corrupt: its state does not match the SHA-256 in its manifest")
    model = read_safetensors(path / MODEL_FILE, *sizes[MODEL_FILE])
    tensors = read_safetensors(path / TENSORS_FILE, *sizes[TENSORS_FILE])
    try:
        state = unflatten_state(doc["state"], tensors)
    except KeyError as exc:
        raise CheckpointError(f"{state_file} refers to tensor {exc} that {path / TENSORS_FILE} lacks") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"{state_file}: field state is damaged ({type(exc).__name__}: {exc})") from None
    return Checkpoint(path=path, step=step, model_state=model, trainer_state=state)


def load_latest(directory: str | os.PathLike) -> Checkpoint:
    """The newest readable checkpoint under ``directory``.

    Damaged checkpoints are skipped with a warning that names the file and the
    damage; if none is readable, CheckpointError lists every problem.
    """
    directory = Path(directory)
    candidates = list_checkpoints(directory)
    if not candidates:
        raise CheckpointError(f"no checkpoint found in {directory} (expected step-NNNNNNNN folders)")
    problems = []
    for path in reversed(candidates):
        try:
            return load_checkpoint(path)
        except CheckpointError as exc:
            problems.append(str(exc))
            warnings.warn(f"skipping damaged checkpoint: {exc}; trying the previous one", RuntimeWarning, stacklevel=2)
    raise CheckpointError(f"no usable checkpoint in {directory}: " + "; ".join(problems))
