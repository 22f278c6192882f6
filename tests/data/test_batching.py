"""Padding, length-bucketed batches and seeded splits."""

import random

import pytest

from rnnkit.data.batching import BucketBatcher, eval_batches, pad, split_indices


def test_pad():
    x, lengths = pad([[5, 6, 7], [8]], value=0)
    assert x.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    with pytest.raises(ValueError, match="length >= 1"):
        pad([[1], []])


def test_bucket_batcher_epochs_cover_everything_grouped_by_length():
    lengths = [(i * 37) % 50 + 1 for i in range(200)]
    b = BucketBatcher(lengths, batch_size=10, seed=3, pool_batches=5)
    assert b.batches_per_epoch == 20
    seen = []
    for _ in range(20):
        batch = next(b)
        spread = max(lengths[i] for i in batch) - min(lengths[i] for i in batch)
        assert spread <= 12  # pools of 50 sorted by length: batches are narrow
        seen += batch
    assert sorted(seen) == list(range(200)) and b.epochs_done == 1.0
    next(b)
    assert b.epoch == 1 and 1.0 < b.epochs_done < 1.1


def test_bucket_batcher_seeded_resumable_and_leaves_global_random_alone():
    lengths = list(range(1, 101))
    state = random.getstate()
    a = BucketBatcher(lengths, 8, seed=1)
    ref = [next(a) for _ in range(30)]
    b = BucketBatcher(lengths, 8, seed=1)
    assert [next(b) for _ in range(30)] == ref
    assert [next(BucketBatcher(lengths, 8, seed=2)) for _ in range(1)] != ref[:1]
    c = BucketBatcher(lengths, 8, seed=1)
    for _ in range(17):
        next(c)
    saved = c.state_dict()
    d = BucketBatcher(lengths, 8, seed=99)
    d.load_state_dict(saved)
    assert [next(d) for _ in range(13)] == ref[17:]
    assert random.getstate() == state


def test_eval_batches_and_split():
    batches = eval_batches([3, 9, 1, 5], 3)
    assert batches == [[1, 3, 0], [2]]
    rest, held = split_indices(100, 0.1, seed=0)
    assert len(held) == 10 and not set(rest) & set(held) and len(rest) + len(held) == 100
    assert split_indices(100, 0.1, seed=0) == (rest, held)
    assert split_indices(100, 0.1, seed=1)[1] != held
