"""Length-bucketed single-space batches with dynamic padding."""

from __future__ import annotations

import numpy as np

from onnxnet.surrogate.data import BucketBatchSampler, Collator, EncodedDataset


def test_bucket_sampler_single_space_batches_cover_everything_once():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 500, size=103)
    groups = np.array([0] * 60 + [1] * 43)
    s = BucketBatchSampler(lengths, groups, batch_size=8, seed=1)
    batches = list(s)
    assert len(batches) == len(s)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(103))
    assert all(len(set(groups[b])) == 1 for b in batches)
    # bucketing keeps padding low: far less than batches drawn at random
    waste = lambda bs: sum(int(lengths[b].max() * len(b) - lengths[b].sum()) for b in bs)  # noqa: E731
    random_batches = [b.tolist() for g in (0, 1) for b in np.array_split(
        rng.permutation(np.flatnonzero(groups == g)), -(-int((groups == g).sum()) // 8))]
    assert waste(batches) < 0.3 * waste(random_batches)
    s.set_epoch(1)
    assert list(s) != batches  # a new order each epoch, deterministic from (seed, epoch)
    s.set_epoch(0)
    assert list(s) == batches


def test_collator_pads_to_the_batch_longest_only():
    ds = EncodedDataset([[5, 6, 7], [8]], [0.5, 1.0], [0, 0])
    batch = Collator(pad_id=0)([ds[0], ds[1]])
    assert batch["input_ids"].shape == (2, 3)
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["input_ids"][1].tolist() == [8, 0, 0]
