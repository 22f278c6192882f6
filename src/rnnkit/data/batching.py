"""Batches of variable-length sequences: padding, length buckets, seeded splits.

Sequences of similar length are batched together so little time goes to padding; the layers
read the true lengths (``Recurrent(x, lengths=...)``), so padding never changes a result, it
only costs time. All randomness goes through a private, seeded ``torch.Generator``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["BucketBatcher", "eval_batches", "pad", "split_indices"]


def pad(seqs: Sequence[Sequence[int]], value: int = 0) -> tuple[Tensor, Tensor]:
    """``(ids (B, T), lengths (B,))`` with T the longest sequence; empty sequences are an error
    (a recurrent layer needs at least one step).

    >>> ids, lengths = pad([[5, 6, 7], [8]], value=0)
    >>> ids.tolist(), lengths.tolist()
    ([[5, 6, 7], [8, 0, 0]], [3, 1])
    """
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    if len(seqs) == 0 or int(lengths.min()) < 1:
        raise ValueError("pad() needs at least one sequence, each of length >= 1")
    out = torch.full((len(seqs), int(lengths.max())), value, dtype=torch.long)
    for b, s in enumerate(seqs):
        out[b, : len(s)] = torch.as_tensor(s, dtype=torch.long)
    return out, lengths


def split_indices(n: int, fraction: float, seed: int = 0) -> tuple[list[int], list[int]]:
    """A seeded random split of ``range(n)`` into (rest, held out ``fraction``), each sorted.

    >>> rest, held = split_indices(10, 0.2, seed=3)
    >>> len(rest), len(held), sorted(rest + held) == list(range(10))
    (8, 2, True)
    >>> split_indices(10, 0.2, seed=3) == (rest, held)
    True
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be in (0, 1), got {fraction}")
    k = max(1, round(n * fraction))
    if k >= n:
        raise ValueError(f"cannot hold out {fraction:.0%} of {n} examples and keep any")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return sorted(perm[k:]), sorted(perm[:k])


def eval_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Indices in batches of similar length (longest first), every index exactly once.

    >>> eval_batches([3, 9, 1, 7, 5], batch_size=2)
    [[1, 3], [4, 0], [2]]
    """
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[a : a + batch_size] for a in range(0, len(order), batch_size)]


class BucketBatcher:
    """Endless training batches of indices, grouped by length, reshuffled every epoch.

    Each epoch: a random permutation; cut into pools of ``pool_batches * batch_size``; each
    pool sorted by length and cut into batches; the batches of the epoch shuffled. The state
    (epoch, position and the generator state the epoch began with) resumes exactly.

    >>> lengths = [5, 1, 4, 2, 3, 6]
    >>> batcher = BucketBatcher(lengths, batch_size=2, seed=0)
    >>> epoch = [next(batcher) for _ in range(batcher.batches_per_epoch)]
    >>> sorted(i for batch in epoch for i in batch), batcher.epochs_done
    ([0, 1, 2, 3, 4, 5], 1.0)
    >>> saved = batcher.state_dict()
    >>> ahead = [next(batcher) for _ in range(4)]
    >>> again = BucketBatcher(lengths, batch_size=2, seed=99)
    >>> again.load_state_dict(saved)
    >>> [next(again) for _ in range(4)] == ahead
    True
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, seed: int = 0,
                 pool_batches: int = 50):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if len(lengths) == 0:
            raise ValueError("no training examples")
        self.lengths = list(lengths)
        self.batch_size, self.pool_batches = batch_size, pool_batches
        self.gen = torch.Generator().manual_seed(seed)
        self.epoch, self.pos = 0, 0
        self._start_epoch()

    def _start_epoch(self) -> None:
        self.epoch_gen_state = self.gen.get_state()
        n, bs = len(self.lengths), self.batch_size
        perm = torch.randperm(n, generator=self.gen).tolist()
        pool = bs * self.pool_batches
        batches = []
        for a in range(0, n, pool):
            chunk = sorted(perm[a : a + pool], key=lambda i: self.lengths[i])
            batches += [chunk[b : b + bs] for b in range(0, len(chunk), bs)]
        order = torch.randperm(len(batches), generator=self.gen).tolist()
        self.batches = [batches[k] for k in order]

    @property
    def batches_per_epoch(self) -> int:
        return len(self.batches)

    def __iter__(self):
        return self

    def __next__(self) -> list[int]:
        if self.pos >= len(self.batches):
            self.epoch, self.pos = self.epoch + 1, 0
            self._start_epoch()
        batch = self.batches[self.pos]
        self.pos += 1
        return batch

    @property
    def epochs_done(self) -> float:
        """Fractional epochs completed."""
        return self.epoch + self.pos / len(self.batches)

    def state_dict(self) -> dict:
        return {"epoch": self.epoch, "pos": self.pos, "gen": self.epoch_gen_state}

    def load_state_dict(self, d: dict) -> None:
        self.gen.set_state(d["gen"])
        self._start_epoch()
        self.epoch, self.pos = int(d["epoch"]), int(d["pos"])
