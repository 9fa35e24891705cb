"""File helpers shared by every reader: open (plain or ``.gz``), decode, write atomically.

Every failure becomes a :class:`~rnnkit.errors.DataError` that names the file and,
where it makes sense, the line and column, so no reader leaks a bare
``UnicodeDecodeError`` or ``EOFError`` from deep inside. Writers go through a
temporary file in the same folder and ``os.replace`` so a crash never leaves a
half-written cache, vocabulary or scaler behind.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from rnnkit.errors import DataError

PathLike = str | os.PathLike

_GZIP_MAGIC = b"\x1f\x8b"


def require_file(path: PathLike) -> Path:
    """``path`` as a :class:`Path`; a DataError if it is missing, a folder or empty."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"file not found: {p}")
    if not p.is_file():
        raise DataError(f"expected a file, got a folder: {p}")
    if p.stat().st_size == 0:
        raise DataError(f"{p} is empty (0 bytes)")
    return p


def _is_gzip(p: Path) -> bool:
    if p.suffix == ".gz":
        return True
    with open(p, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def read_bytes(path: PathLike) -> bytes:
    """All bytes of ``path``, decompressed when it is gzip (by suffix or magic number)."""
    p = require_file(path)
    if _is_gzip(p):
        try:
            with gzip.open(p, "rb") as f:
                data = f.read()
        except (EOFError, OSError, zlib.error) as e:
            raise DataError(f"{p}: truncated or corrupt gzip file ({e})") from None
    else:
        data = p.read_bytes()
    if not data:
        raise DataError(f"{p} is empty (no content after decompression)")
    return data


def _decode_error(e: UnicodeDecodeError, data: bytes, path: PathLike, first_line: int = 1) -> DataError:
    line = first_line + data.count(b"\n", 0, e.start)
    col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
    return DataError(
        f"{path}:{line}:{col}: not valid UTF-8 (byte 0x{data[e.start]:02x}); "
        "save the file as UTF-8"
    )


def decode_utf8(data: bytes, path: PathLike, first_line: int = 1) -> str:
    """``data`` decoded as UTF-8; a DataError names line and column.

    A byte-order mark at the start of the file (``first_line == 1``) is dropped.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise _decode_error(e, data, path, first_line) from None
    return text[1:] if first_line == 1 and text.startswith("\ufeff") else text


def read_text(path: PathLike) -> str:
    """The whole UTF-8 text of ``path`` (plain or gzip)."""
    return decode_utf8(read_bytes(path), path)


def iter_text_chunks(path: PathLike, chunk_bytes: int = 1 << 22) -> Iterator[tuple[int, str]]:
    """Stream ``path`` as ``(first_line_number, text)`` chunks that end on a line break.

    Memory stays at about ``chunk_bytes`` whatever the file size, which is what the
    language-model corpora need; decoding errors still name the exact line.
    """
    p = require_file(path)
    opener = gzip.open if _is_gzip(p) else open
    line = 1
    rest = b""
    seen_any = False
    try:
        with opener(p, "rb") as f:
            while True:
                block = f.read(chunk_bytes)
                if not block:
                    break
                block = rest + block
                cut = block.rfind(b"\n") + 1
                if cut == 0:  # no line break yet: keep reading (a very long line)
                    rest = block
                    continue
                piece, rest = block[:cut], block[cut:]
                seen_any = True
                yield line, decode_utf8(piece, p, line)
                line += piece.count(b"\n")
    except (EOFError, zlib.error) as e:
        raise DataError(f"{p}: truncated or corrupt gzip file ({e})") from None
    except gzip.BadGzipFile as e:
        raise DataError(f"{p}: truncated or corrupt gzip file ({e})") from None
    if rest:
        seen_any = True
        yield line, decode_utf8(rest, p, line)
    if not seen_any:
        raise DataError(f"{p} is empty (no content after decompression)")


def atomic_write_bytes(path: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace`` (never half)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return p


def atomic_write_text(path: PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def find_in_folder(folder: Path, names: tuple[str, ...]) -> Path:
    """The first of ``names`` (or the same name plus ``.gz``) that exists in ``folder``."""
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    raise DataError(f"none of {', '.join(names)} (optionally .gz) found in {folder}")
