"""MNIST from the original IDX ``.gz`` files: 28 rows of 28 features in [0, 1].

Read row by row, each image is a sequence of T=28 steps with D=28 features,
the classic "MNIST with an RNN" setting. IDX is big-endian: a magic number
(2051 for images, 2049 for labels), the dimension sizes, then uint8 values.
"""

from __future__ import annotations

import numpy as np

from rnnkit.data._files import PathLike, find_in_folder, read_bytes
from rnnkit.data.sources.containers import ArrayClassData, ArrayExamples
from rnnkit.data.sources.resolve import resolve
from rnnkit.errors import DataError

__all__ = ["read_idx", "load_mnist"]

_MAGIC = {2049: 1, 2051: 3}  # labels: 1 dimension, images: 3


def read_idx(path: PathLike, *, expect_magic: int | None = None) -> np.ndarray:
    """An IDX file (plain or ``.gz``) as a uint8 array of its declared shape."""
    data = read_bytes(path)
    if len(data) < 8:
        raise DataError(f"{path}: too short for an IDX header ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if magic not in _MAGIC or (expect_magic is not None and magic != expect_magic):
        want = expect_magic if expect_magic is not None else "2049 or 2051"
        raise DataError(f"{path}: wrong IDX magic number: expected {want}, got {magic}")
    ndim = _MAGIC[magic]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    need = header + int(np.prod(shape))
    if len(data) != need:
        raise DataError(f"{path}: IDX header declares shape {shape} ({need} bytes) but the file has {len(data)}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def _split(folder, prefix: str) -> ArrayExamples:
    img_path = find_in_folder(folder, (f"{prefix}-images-idx3-ubyte", f"{prefix}-images.idx3-ubyte"))
    lab_path = find_in_folder(folder, (f"{prefix}-labels-idx1-ubyte", f"{prefix}-labels.idx1-ubyte"))
    images = read_idx(img_path, expect_magic=2051)
    labels = read_idx(lab_path, expect_magic=2049)
    if len(images) != len(labels):
        raise DataError(f"{img_path} has {len(images)} images but {lab_path} has {len(labels)} labels")
    if labels.size and labels.max() > 9:
        raise DataError(f"{lab_path}: labels must be digits 0-9; got {int(labels.max())}")
    return ArrayExamples(images.astype(np.float32) / 255.0, labels.astype(np.int64))


def load_mnist(path: PathLike | None = None, *, download: bool = True) -> ArrayClassData:
    """MNIST train (60000) and test (10000): x (N, 28, 28) float32 in [0, 1], y (N,) int64.

    Args:
        path: folder with the four IDX files (``.gz`` or not); default: resolved
            through ``$RNNKIT_DATA``, the cache, or a verified download.
    """
    folder = resolve("mnist", path, download=download)
    if not folder.is_dir():
        raise DataError(f"mnist: path must be a folder with the four IDX files; got {folder}")
    return ArrayClassData(_split(folder, "train"), None, _split(folder, "t10k"), [str(i) for i in range(10)])
