"""The Trainer's sharding of any batch source (single process; DDP itself is in test_distributed.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data import LMBatches, SequenceDataset, make_loader
from rnnkit.errors import ConfigError
from rnnkit.train import ShuffledBatches, shard


@pytest.mark.parametrize("n", [1, 2, 5, 7, 8])
@pytest.mark.parametrize("world", [2, 3])
def test_strided_sharding_counts_each_batch_once_and_pads_short_ranks(n, world):
    views = [shard(list(range(n)), r, world) for r in range(world)]
    outs = [list(v) for v in views]
    assert len({len(o) for o in outs}) == 1 and all(len(v) == len(o) for v, o in zip(views, outs))
    assert sorted(b for o in outs for b, real in o if real) == list(range(n))
    for r, o in enumerate(outs):
        real = [b for b, ok in o if ok]
        assert real == list(range(r, n, world))
        assert all(b == (real[-1] if real else 0) for b, ok in o if not ok)  # its own last batch again
        for k in range(len(o) + 1):  # resume at any position gives the rest of the same pass
            v = shard(list(range(n)), r, world)
            v.skip(k)
            assert list(v) == o[k:]
    unpadded = [list(shard(list(range(n)), r, world, pad=False)) for r in range(world)]
    assert sorted(b for o in unpadded for b, real in o) == list(range(n)) and all(r for o in unpadded for _, r in o)


def test_dataloader_is_rebuilt_around_a_sharded_batch_sampler():
    lengths = np.arange(1, 31) % 7 + 1
    ds = SequenceDataset([np.ones((int(k), 2), np.float32) for k in lengths], np.arange(30))
    loader = make_loader(ds, 4, seed=1, pool_size=2)  # 8 batches
    loader.batch_sampler.set_epoch(3)
    every = [b.indices.tolist() for b in loader]
    views = [shard(loader, r, 3) for r in range(3)]  # (in DDP each rank has its own loader and sampler)

    def run(v):
        v.set_epoch(3)  # the sampler advances its epoch on every pass
        return [(b.indices.tolist(), real) for b, real in v]

    outs = [run(v) for v in views]
    assert [len(o) for o in outs] == [3, 3, 3] and [len(v) for v in views] == [3, 3, 3]
    assert sorted(i for o in outs for idx, real in o if real for i in idx) == list(range(30))
    assert outs[2][2] == (every[5], False)  # rank 2's padding: its own last batch (global 5) again
    views[1].set_epoch(3)
    views[1].skip(2)
    assert [(b.indices.tolist(), real) for b, real in views[1]] == outs[1][2:]
    assert views[0].seed == 1


def test_self_sharding_and_pre_sharded_sources():
    tokens = np.arange(101)
    a = [b.inputs for b, _ in shard(LMBatches(tokens, 2, 4), 1, 2)]
    b = list(LMBatches(tokens, 2, 4, rank=1, world_size=2))
    assert all(torch.equal(x, y.inputs) for x, y in zip(a, b)) and len(a) == len(b)
    pre = LMBatches(tokens, 2, 4, rank=1, world_size=2)  # built for 2 ranks: taken as it is
    assert [x.inputs.tolist() for x, _ in shard(pre, 1, 2)] == [y.inputs.tolist() for y in b]
    with pytest.raises(ConfigError, match=r"sharded for world_size=2 but 4 processes are running"):
        shard(pre, 1, 4)
    x = torch.arange(12).float().view(12, 1)
    rows = [t[0].flatten().tolist() for t, _ in shard(ShuffledBatches((x,), 6, shuffle=False), 1, 2)]
    assert rows == [[3.0, 4.0, 5.0], [9.0, 10.0, 11.0]]  # rows of every global batch are split
    with pytest.raises(ConfigError, match=r"cannot shard a generator over 2 processes: .*needs __len__"):
        shard((b for b in range(3)), 0, 2)
