"""SequenceDataset, Batch, BucketBatchSampler, make_loader, LMBatches."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rnnkit.data import Batch, BucketBatchSampler, LMBatches, SequenceDataset, make_loader, padding_fraction
from rnnkit.errors import ConfigError, DataError, ShapeError


def _seqs(lengths, d=None, seed=0):
    rng = np.random.default_rng(seed)
    shape = (lambda n: (n,)) if d is None else (lambda n: (n, d))
    return [rng.integers(1, 11, size=shape(n)) if d is None else rng.normal(size=shape(n)) for n in lengths]


def test_batch_pads_at_the_end_with_zero_and_iterates_as_triple():
    seqs = _seqs([5, 1, 3])
    ds = SequenceDataset(seqs, np.array([2, 0, 1]))
    b = ds.batch([2, 0, 1])
    inputs, lengths, targets = b
    assert inputs.shape == (3, 5) and inputs.dtype == torch.int64
    assert lengths.tolist() == [3, 5, 1] and targets.tolist() == [1, 2, 0]
    assert b.indices.tolist() == [2, 0, 1]
    for row, n, i in zip(inputs, lengths, [2, 0, 1]):
        assert row[:n].tolist() == seqs[i].tolist() and (row[n:] == 0).all()


def test_features_per_step_targets_and_truncation():
    x = _seqs([4, 2, 6], d=7)
    tags = [np.arange(n) + 1 for n in (4, 2, 6)]
    ds = SequenceDataset(x, tags, maxlen=5, truncating="post", target_pad=-100)
    b = ds.batch([0, 1, 2])
    assert b.inputs.shape == (3, 5, 7) and b.inputs.dtype == torch.float64
    assert b.lengths.tolist() == [4, 2, 5] and b.target_lengths.tolist() == [4, 2, 5]
    assert b.targets[1].tolist() == [1, 2, -100, -100, -100] and b.targets[2].tolist() == [1, 2, 3, 4, 5]
    assert (b.inputs[1, 2:] == 0).all()
    np.testing.assert_allclose(b.inputs[2].numpy(), x[2][:5])
    pre = SequenceDataset(x, maxlen=5)  # keeps the last 5 steps, as Keras
    np.testing.assert_allclose(pre.batch([2]).inputs[0].numpy(), x[2][1:])


def test_from_dense_and_errors():
    x = np.arange(3 * 5 * 7, dtype=np.float32).reshape(3, 5, 7)
    ds = SequenceDataset.from_dense(x, [1, 0, 1])
    b = ds.batch([1, 2])
    assert torch.equal(b.inputs, torch.from_numpy(x[1:])) and b.lengths.tolist() == [5, 5] and b.targets.tolist() == [0, 1]
    with pytest.raises(DataError, match=r"inputs\[1\] is empty"):
        SequenceDataset([[1], []])
    with pytest.raises(ShapeError, match=r"targets must have shape \(2, ...\) to match 2 inputs; got \(3,\)"):
        SequenceDataset([[1], [2]], np.zeros(3))
    with pytest.raises(ConfigError, match="maxlen must be >= 1"):
        SequenceDataset([[1]], maxlen=0)


def test_batch_to_device_and_pin():
    b = SequenceDataset([[1, 2], [3]], [[1, 1], [1]]).batch([0, 1])
    moved = b.to("cpu")
    assert isinstance(moved, Batch) and torch.equal(moved.targets, b.targets) and len(moved) == 2


def test_sampler_covers_every_index_once_and_is_deterministic():
    lengths = np.random.default_rng(1).integers(1, 100, size=1003)
    s = BucketBatchSampler(lengths, 13, seed=5, pool_size=4)
    epoch0 = list(s)
    epoch1 = list(s)  # the epoch advances on every iter()
    assert sorted(i for b in epoch0 for i in b) == list(range(1003))
    assert len(epoch0) == len(s) == 78 and epoch0 != epoch1
    again = BucketBatchSampler(lengths, 13, seed=5, pool_size=4)
    assert list(again) == epoch0
    again.set_epoch(1)
    assert list(again) == epoch1
    assert list(BucketBatchSampler(lengths, 13, seed=6, pool_size=4)) != epoch0


def test_bucketing_cuts_padding():
    lengths = np.random.default_rng(2).integers(1, 500, size=5000)
    plain = padding_fraction(lengths, BucketBatchSampler(lengths, 64, pool_size=1))
    bucketed = padding_fraction(lengths, BucketBatchSampler(lengths, 64, pool_size=50))
    assert plain > 0.4 and bucketed < 0.05
    assert padding_fraction([3, 3, 1], [[0, 1], [2]]) == 0.0
    assert padding_fraction([4, 2], [[0, 1]]) == pytest.approx(0.25)


def test_sampler_without_shuffle_is_sorted_within_pools_and_drop_last():
    lengths = np.array([5, 1, 4, 2, 3, 6, 7])
    s = BucketBatchSampler(lengths, 3, shuffle=False, pool_size=10)
    assert list(s) == [[1, 3, 4], [2, 0, 5], [6]]
    s = BucketBatchSampler(lengths, 3, shuffle=False, pool_size=10, drop_last=True)
    assert list(s) == [[1, 3, 4], [2, 0, 5]] and len(s) == 2


@pytest.mark.parametrize("drop_last", [False, True])
def test_sharding_gives_every_rank_the_same_number_of_disjoint_batches(drop_last):
    lengths = np.random.default_rng(3).integers(1, 30, size=101)
    shards = [list(BucketBatchSampler(lengths, 5, seed=2, rank=r, world_size=3, drop_last=drop_last)) for r in range(3)]
    assert len({len(s) for s in shards}) == 1
    assert len(shards[0]) == len(BucketBatchSampler(lengths, 5, rank=0, world_size=3, drop_last=drop_last))
    seen = [i for s in shards for b in s for i in b]
    if drop_last:
        assert len(seen) == len(set(seen)) == 90  # 20 full batches → 18 shared by 3 ranks
    else:
        assert set(seen) == set(range(101))
    with pytest.raises(ConfigError, match="rank must be in"):
        BucketBatchSampler(lengths, 5, rank=3, world_size=3)


def test_make_loader_yields_batches_through_dataloader():
    seqs = _seqs([3, 5, 2, 7, 1, 4, 6])
    ds = SequenceDataset(seqs, np.arange(7))
    loader = make_loader(ds, 3, seed=1)
    batches = list(loader)
    assert all(isinstance(b, Batch) for b in batches) and len(batches) == 3
    assert sorted(torch.cat([b.targets for b in batches]).tolist()) == list(range(7))
    for b in batches:
        assert int(b.lengths.max()) == b.inputs.shape[1]


def test_lm_batches_continue_rows_and_shift_targets():
    tokens = np.arange(3 * 11 + 1)
    lm = LMBatches(tokens, 3, 4)
    batches = list(lm)
    assert len(batches) == len(lm) == 3
    first, last = batches[0], batches[-1]
    assert first.inputs.tolist() == [[0, 1, 2, 3], [11, 12, 13, 14], [22, 23, 24, 25]]
    assert torch.equal(first.targets, first.inputs + 1)
    assert last.inputs.shape == (3, 3) and last.lengths.tolist() == [3, 3, 3]
    assert batches[1].inputs[:, 0].tolist() == [4, 15, 26]
    r1 = next(iter(LMBatches(tokens, 2, 4, rank=1, world_size=2)))
    assert r1.inputs[0, 0] == 16
    with pytest.raises(DataError, match="too short"):
        LMBatches(np.arange(5), 3, 4)


def test_lm_batches_skip_resumes_at_a_batch_and_set_epoch_keeps_order():
    from rnnkit.data import LMBatches

    tokens = np.arange(23)
    batches = LMBatches(tokens, batch_size=3, seq_len=4)  # rows of 7 → chunks of 4 and 3
    full = list(batches)
    assert [tuple(b.inputs.shape) for b in full] == [(3, 4), (3, 3)]
    batches.set_epoch(5)
    batches.skip(1)
    resumed = list(batches)
    assert len(resumed) == 1 and torch.equal(resumed[0].inputs, full[1].inputs)
    assert len(list(batches)) == 2  # skip applies to one pass only
