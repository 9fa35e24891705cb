"""Dataset resolution: path → $RNNKIT_DATA → cache → verified download (never a real download)."""

from __future__ import annotations

import hashlib
import importlib
import io
import zipfile

import pytest

from rnnkit.data.sources.resolve import DatasetSpec, RemoteFile, resolve
from rnnkit.errors import DataError

# The package re-exports the function `resolve`, which hides the module of the same name.
resolve_mod = importlib.import_module("rnnkit.data.sources.resolve")


@pytest.fixture
def fake_spec(monkeypatch, tmp_path):
    payload = b"hello,world\n"
    origin = tmp_path / "origin.csv"
    origin.write_bytes(payload)
    spec = DatasetSpec("toy", (RemoteFile("toy.csv", origin.as_uri(), hashlib.sha256(payload).hexdigest()),))
    monkeypatch.setitem(resolve_mod.SPECS, "toy", spec)
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("RNNKIT_DATA", raising=False)
    return spec, payload


def test_download_from_file_url_verified_then_cached(fake_spec, tmp_path, monkeypatch):
    folder = resolve("toy")
    assert folder == tmp_path / "cache" / "toy" and (folder / "toy.csv").read_bytes() == fake_spec[1]

    def no_fetch(url):
        raise AssertionError("must not download twice")

    monkeypatch.setattr(resolve_mod, "fetch", no_fetch)
    assert resolve("toy") == folder


def test_checksum_mismatch_saves_nothing(fake_spec, tmp_path, monkeypatch):
    monkeypatch.setattr(resolve_mod, "fetch", lambda url: b"tampered")
    with pytest.raises(DataError, match="SHA-256 mismatch for toy.csv: expected .* nothing was saved"):
        resolve("toy")
    assert not (tmp_path / "cache" / "toy" / "toy.csv").exists()


def test_zip_member_is_extracted_and_verified(fake_spec, monkeypatch, tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("toy/toy.csv", fake_spec[1])
    spec = DatasetSpec("toy", (RemoteFile("toy.csv", "https://example.invalid/toy.zip", fake_spec[0].files[0].sha256, "toy/toy.csv"),))
    monkeypatch.setitem(resolve_mod.SPECS, "toy", spec)
    monkeypatch.setattr(resolve_mod, "fetch", lambda url: buf.getvalue())
    assert (resolve("toy") / "toy.csv").read_bytes() == fake_spec[1]


def test_explicit_path_and_rnnkit_data_win(fake_spec, tmp_path, monkeypatch):
    monkeypatch.setattr(resolve_mod, "fetch", lambda url: pytest.fail("no download expected"))
    assert resolve("toy", tmp_path / "origin.csv") == tmp_path / "origin.csv"
    with pytest.raises(DataError, match="toy: path not found"):
        resolve("toy", tmp_path / "missing")
    data = tmp_path / "data"
    (data / "toy").mkdir(parents=True)
    (data / "toy" / "toy.csv.gz").write_bytes(b"x")  # a .gz copy counts
    monkeypatch.setenv("RNNKIT_DATA", str(data))
    assert resolve("toy") == data / "toy"


def test_download_false_and_unknown_name(fake_spec):
    with pytest.raises(DataError, match="toy: not found in \\$RNNKIT_DATA .* and download=False"):
        resolve("toy", download=False)
    with pytest.raises(DataError, match="unknown built-in dataset 'nope'; known: .*mnist"):
        resolve("nope")


def test_every_builtin_spec_has_a_url_and_sha256():
    for spec in resolve_mod.SPECS.values():
        for f in spec.files:
            assert f.url.startswith("https://") and len(f.sha256) == 64


def test_rnnkit_data_folder_with_the_imdb_csv_counts_as_present(tmp_path, monkeypatch):
    """A shared copy that stores IMDB as one CSV (as ../shared/datasets does) is used, not downloaded."""
    import importlib

    resolve_module = importlib.import_module("rnnkit.data.sources.resolve")
    (tmp_path / "imdb").mkdir()
    (tmp_path / "imdb" / "IMDB_Dataset.csv.gz").write_bytes(b"")
    monkeypatch.setenv("RNNKIT_DATA", str(tmp_path))
    monkeypatch.setattr(resolve_module, "fetch", lambda url: (_ for _ in ()).throw(AssertionError("downloaded")))
    assert resolve_module.resolve("imdb") == tmp_path / "imdb"
