"""The model tests run tiny tensors: with torch's default thread pool, contention on a
busy machine makes each step ~100x slower than one thread. Use one thread here and
restore the caller's setting afterwards."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
