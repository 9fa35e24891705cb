"""Where a built-in dataset's files come from: explicit path → ``$RNNKIT_DATA`` → cache → download.

Resolution order for ``resolve("mnist", path)``:

1. ``path`` given: that file or folder, as is (a DataError if it is missing).
2. ``$RNNKIT_DATA/<name>/`` if it holds every file of the dataset
   (plain or with ``.gz`` added) — the layout of ``shared/datasets``.
3. ``<cache>/<name>/`` with ``<cache>`` = ``$RNNKIT_CACHE`` or ``~/.cache/rnnkit``.
4. Download each missing file from its canonical public URL into the cache,
   check its SHA-256, then move it into place (``os.replace``): a failed or
   corrupt download never leaves a file that a later run would trust.

Downloads go through the module-level :func:`fetch`, which tests replace.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from rnnkit.data._files import atomic_write_bytes
from rnnkit.errors import DataError

__all__ = ["RemoteFile", "DatasetSpec", "SPECS", "cache_dir", "resolve", "fetch"]


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its local name, where to get it, and its SHA-256.

    ``member`` names the file inside a zip archive at ``url``; the checksum is
    then that of the extracted member.
    """

    name: str
    url: str
    sha256: str
    member: str | None = None


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    files: tuple[RemoteFile, ...]
    note: str = ""
    # other local layouts the loader also reads (e.g. IMDB as one CSV): a folder holding
    # any of these counts as present, so $RNNKIT_DATA can point at such a copy
    alternatives: tuple[str, ...] = ()


_GH = "https://raw.githubusercontent.com"
SPECS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "mnist",
            tuple(
                RemoteFile(f, f"https://ossci-datasets.s3.amazonaws.com/mnist/{f}", h)
                for f, h in (
                    ("train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
                    ("train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
                    ("t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
                    ("t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
                )
            ),
            "LeCun, Cortes, Burges: The MNIST database of handwritten digits.",
        ),
        DatasetSpec(
            "imdb",
            (
                RemoteFile(
                    "aclImdb_v1.tar.gz",
                    "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz",
                    "c40f74a18d3b61f90feba1e17730e0d38e8b97c05fde7008942e91923d1658fe",
                ),
            ),
            "Maas et al., Learning Word Vectors for Sentiment Analysis, ACL 2011.",
            alternatives=("IMDB_Dataset.csv.gz", "IMDB_Dataset.csv", "aclImdb"),
        ),
        DatasetSpec(
            "tinyshakespeare",
            (
                RemoteFile(
                    "input.txt",
                    f"{_GH}/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/data/tinyshakespeare/input.txt",
                    "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
                ),
            ),
        ),
        DatasetSpec(
            "conll2003",
            tuple(
                RemoteFile(f, f"{_GH}/davidsbatista/NER-datasets/dcb6c7439a7de43abc2448bad5b1d81a47f26c0d/CONLL2003/{f}", h)
                for f, h in (
                    ("train.txt", "c99b26852dabf57ca9d30a0e892b84544cc8962003151e14a71077c55dc66db5"),
                    ("valid.txt", "f1f6469322876887de1d04acd43c59b02f59d5b02acf42c027132fa1bf349cb2"),
                    ("test.txt", "82e0c72d262f86ad3e78b15c5d980bbf87cb205aa4bf6d2d97643f463f8d7ff7"),
                )
            ),
            "Research use only (Reuters RCV1 text); do not redistribute.",
        ),
        DatasetSpec(
            "ett",
            (
                RemoteFile(
                    "ETTh1.csv",
                    f"{_GH}/zhouhaoyi/ETDataset/1d16c8f4f943005d613b5bc962e9eeb06058cf07/ETT-small/ETTh1.csv",
                    "f18de3ad269cef59bb07b5438d79bb3042d3be49bdeecf01c1cd6d29695ee066",
                ),
            ),
            "Zhou et al., Informer, AAAI 2021. CC BY-ND 4.0.",
        ),
        DatasetSpec(
            "fra-eng",
            (
                RemoteFile(
                    "fra.txt",
                    f"{_GH}/modelexlab/data/adddaf33ac35572bcfeb421efec29435e7ea9332/fra-eng.zip",
                    "0bb85dbaa1c896844649094d7eaf2e34bee34e84fe362b26ce7e8f2e12aae104",
                    member="fra-eng/fra.txt",
                ),
            ),
            "www.manythings.org/anki and tatoeba.org (CC BY 2.0 FR).",
        ),
    )
}


def cache_dir() -> Path:
    """``$RNNKIT_CACHE`` or ``~/.cache/rnnkit``."""
    return Path(os.environ.get("RNNKIT_CACHE") or Path.home() / ".cache" / "rnnkit")


def fetch(url: str) -> bytes:
    """The bytes at ``url`` (http(s) or file://). Tests monkeypatch this."""
    try:
        with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - fixed, known URLs
            return r.read()
    except OSError as e:
        raise DataError(f"download of {url} failed: {e}") from None


def _has_all(folder: Path, spec: DatasetSpec) -> bool:
    if any((folder / name).exists() for name in spec.alternatives):
        return True
    return all((folder / f.name).is_file() or (folder / f"{f.name}.gz").is_file() for f in spec.files)


def _download(f: RemoteFile, dest: Path) -> None:
    data = fetch(f.url)
    if f.member is not None:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                data = z.read(f.member)
        except (zipfile.BadZipFile, KeyError) as e:
            raise DataError(f"{f.url}: cannot extract {f.member} ({e})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != f.sha256:
        raise DataError(
            f"{f.url}: SHA-256 mismatch for {f.name}: expected {f.sha256}, got {digest}; nothing was saved"
        )
    atomic_write_bytes(dest, data)


def resolve(name: str, path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """The file or folder holding built-in dataset ``name`` (see the module docstring)."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.exists():
            raise DataError(f"{name}: path not found: {p}")
        return p
    spec = SPECS.get(name)
    if spec is None:
        raise DataError(f"unknown built-in dataset {name!r}; known: {', '.join(sorted(SPECS))}")
    env = os.environ.get("RNNKIT_DATA")
    if env and _has_all(Path(env) / name, spec):
        return Path(env) / name
    folder = cache_dir() / name
    if _has_all(folder, spec):
        return folder
    if not download:
        raise DataError(
            f"{name}: not found in $RNNKIT_DATA ({env or 'unset'}) or the cache {folder}, and download=False; "
            f"pass a path or set RNNKIT_DATA"
        )
    for f in spec.files:
        if not ((folder / f.name).is_file() or (folder / f"{f.name}.gz").is_file()):
            _download(f, folder / f.name)
    return folder
