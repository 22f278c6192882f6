"""The truncated-BPTT stream batcher.

A token sequence is cut into B contiguous streams (row b holds tokens ``b*L .. (b+1)*L - 1``);
every batch row continues its own stream, so the hidden state a row ends a chunk with is the
right state to start its next chunk from. The training loop carries that state between chunks
and detaches it (gradients stop at the chunk boundary: that is the truncation).

Truncated BPTT(k1, k2): a window of ``k2`` steps is read every ``k1 <= k2`` steps. With
``k1 < k2`` consecutive windows overlap: the state is carried from step ``k1`` of a window (the
next window's start), and the loss counts only the ``k1`` targets no earlier window scored, so
each target is scored once but its gradient reaches back ``k2`` steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from .errors import DataError


@dataclass
class Chunk:
    """One training window. ``x``, ``y``: (B, n) inputs and next-token targets."""

    x: Tensor
    y: Tensor
    carry_at: int  # the state after this many steps starts the next window
    loss_from: int  # score targets y[:, loss_from:] only (earlier ones were scored before)
    reset: bool  # start of an epoch: start from a zero state
    lr_scale: float = 1.0  # random-length windows rescale the learning rate (AWD-LSTM)
    epoch: int = 0


class StreamBatcher:
    """Walk B contiguous streams of ``ids`` in windows of ``chunk_len`` (k2) every ``stride``
    (k1) steps, forever (epoch after epoch).

    Args:
        ids: (N,) token ids.
        batch_size: B streams.
        chunk_len: k2, steps per window (the BPTT horizon).
        stride: k1 <= k2, steps between window starts; default k2 (no overlap).
        random_len: AWD-LSTM's random window length (``k2`` with probability 0.95, else
            ``k2 / 2``, then normal with std 5, at least 5), with ``lr_scale = len / k2``.
            Only with ``stride == chunk_len``.
        seed: seeds the random lengths (a private ``torch.Generator``).

    22 tokens in 2 streams of 11; each window's targets are its inputs shifted by one:

    >>> batcher = StreamBatcher(torch.arange(22), batch_size=2, chunk_len=4)
    >>> batcher.streams[:, 0].tolist(), batcher.tokens_per_epoch
    ([0, 11], 22)
    >>> c = next(batcher)
    >>> c.x.tolist(), c.y[0].tolist(), c.reset
    ([[0, 1, 2, 3], [11, 12, 13, 14]], [1, 2, 3, 4], True)
    >>> [(c.x[0, 0].item(), len(c.x[0]), c.reset) for c in (next(batcher), next(batcher))]
    [(4, 4, False), (8, 2, False)]

    With ``stride`` (k1) 2 < ``chunk_len`` (k2) 4 the windows overlap, and only targets no
    earlier window scored count:

    >>> batcher = StreamBatcher(torch.arange(22), batch_size=2, chunk_len=4, stride=2)
    >>> [(c.x[0, 0].item(), c.carry_at, c.loss_from) for c in (next(batcher) for _ in range(3))]
    [(0, 2, 0), (2, 2, 2), (4, 2, 2)]
    """

    def __init__(self, ids: Tensor, batch_size: int, chunk_len: int, stride: int | None = None,
                 random_len: bool = False, seed: int = 0):
        ids = torch.as_tensor(ids, dtype=torch.long).flatten()
        stride = chunk_len if stride is None else stride
        if batch_size < 1 or chunk_len < 1 or not 1 <= stride <= chunk_len:
            raise ValueError(
                f"need batch_size >= 1 and 1 <= stride <= chunk_len; got batch_size={batch_size}, "
                f"chunk_len={chunk_len}, stride={stride}"
            )
        if random_len and stride != chunk_len:
            raise ValueError("random_len needs stride == chunk_len")
        L = ids.numel() // batch_size
        if L < chunk_len + 1:
            raise DataError(
                f"the text has {ids.numel()} tokens: too short for {batch_size} streams of at "
                f"least one chunk of {chunk_len} (+1 target) tokens each; need at least "
                f"{batch_size * (chunk_len + 1)} tokens. Use a smaller --batch-size or "
                f"--chunk-len, or more text"
            )
        self.streams = ids[: batch_size * L].view(batch_size, L)  # (B, L)
        self.batch_size, self.chunk_len, self.stride = batch_size, chunk_len, stride
        self.random_len = random_len
        self.gen = torch.Generator().manual_seed(seed)
        self.pos, self.covered, self.epoch = 0, 0, 0

    @property
    def tokens_per_epoch(self) -> int:
        return self.streams.numel()

    def __iter__(self):
        return self

    def __next__(self) -> Chunk:
        L = self.streams.shape[1]
        if self.pos + 1 >= L:  # no target left: next epoch
            self.pos, self.covered, self.epoch = 0, 0, self.epoch + 1
        p = self.pos
        n, lr_scale = self.chunk_len, 1.0
        if self.random_len:
            base = self.chunk_len if torch.rand((), generator=self.gen) < 0.95 else (
                self.chunk_len / 2)
            n = max(5, int(base + 5 * torch.randn((), generator=self.gen).item()))
            lr_scale = n / self.chunk_len
        n = min(n, L - 1 - p)
        step = n if self.random_len else min(self.stride, n)
        chunk = Chunk(
            x=self.streams[:, p : p + n],
            y=self.streams[:, p + 1 : p + n + 1],
            carry_at=step,
            loss_from=max(0, self.covered - p),
            reset=p == 0,
            lr_scale=lr_scale,
            epoch=self.epoch,
        )
        self.covered = p + n
        self.pos = p + step
        return chunk

    def state_dict(self) -> dict:
        return {"pos": self.pos, "covered": self.covered, "epoch": self.epoch,
                "gen": self.gen.get_state()}

    def load_state_dict(self, d: dict) -> None:
        self.pos, self.covered, self.epoch = int(d["pos"]), int(d["covered"]), int(d["epoch"])
        self.gen.set_state(d["gen"])


def eval_streams(ids: Tensor, batch_size: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Split ``ids`` (N,) for an exact evaluation of every target once, with full context.

    Returns ``(x, y, tail_x, tail_y)``: B streams (B, L) of inputs and targets, and the targets
    left over (fewer than B), which continue the last stream: run them from the last row's final
    state. Every one of the N - 1 targets is scored exactly once.

    >>> x, y, tail_x, tail_y = eval_streams(torch.arange(8), batch_size=3)
    >>> x.tolist(), y.tolist(), tail_x.tolist(), tail_y.tolist()
    ([[0, 1], [2, 3], [4, 5]], [[1, 2], [3, 4], [5, 6]], [[6]], [[7]])
    """
    ids = torch.as_tensor(ids, dtype=torch.long).flatten()
    n_targets = ids.numel() - 1
    if n_targets < 1:
        raise DataError(f"evaluation needs at least 2 tokens, got {ids.numel()}")
    B = max(1, min(batch_size, n_targets))
    L = n_targets // B
    x = ids[: B * L].view(B, L)
    y = ids[1 : B * L + 1].view(B, L)
    return x, y, ids[B * L : n_targets].view(1, -1), ids[B * L + 1 :].view(1, -1)

