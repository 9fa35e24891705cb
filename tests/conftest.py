"""Shared fixtures. Integration tests read the real datasets beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_DEFAULT_SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def shared_datasets_dir() -> Path:
    """``$RNNKIT_SHARED_DATASETS`` or ``../shared/datasets`` beside the repository root."""
    return Path(os.environ.get("RNNKIT_SHARED_DATASETS", _DEFAULT_SHARED))


@pytest.fixture(scope="session")
def datasets_dir() -> Path:
    """The real datasets folder; the test is skipped (with the reason) when it is absent."""
    root = shared_datasets_dir()
    if not root.is_dir():
        pytest.skip(f"real datasets not found at {root} (set RNNKIT_SHARED_DATASETS)")
    return root


@pytest.fixture(autouse=True)
def _deterministic_torch():
    """Every test starts from the same torch seed, on one thread: the tests run tiny
    tensors, for which a thread pool only adds contention on a busy 2-core machine."""
    try:
        import torch
    except ImportError:  # the reference tests run without torch
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)
