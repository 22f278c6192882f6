"""Reused buffers for the kernels' large temporaries (float32 on a CPU).

A fresh buffer of tens of MB costs its page faults on first touch: measured on the AVX2
machine (2026-12-08), a (6400, 256) x (256, 2048) product took 74 ms into a new 52 MB output
against 47 ms into one written before, and the LSTM's whole-sequence gates are that size at
(B, T, H) = (64, 100, 512). Each thread keeps a few buffers here and hands one out again once
nothing but the pool refers to it: a buffer saved for a backward pass (or kept by
``retain_graph``) stays in use until autograd drops it, so reuse never overwrites live data.

Whether anything else refers to a buffer is read from its storage's reference count
(``torch._C._storage_Use_Count``, which PyTorch's own tests use); where that is unavailable
every call allocates, as before.
"""

from __future__ import annotations

import threading

import torch
from torch import Tensor

MAX_BYTES = 1 << 30  # all buffers of one thread together
MAX_BUFFERS = 16
MIN_ELEMS = 1 << 18  # below 1 MB a fresh allocation is cheap: not pooled

_local = threading.local()


def _use_count(t: Tensor) -> int:
    return torch._C._storage_Use_Count(t.untyped_storage()._cdata)


def _baseline() -> int | None:
    """The reference count of a storage held by one tensor only (None: not measurable)."""
    try:
        return _use_count(torch.empty(1))
    except (AttributeError, RuntimeError, TypeError):  # pragma: no cover - another PyTorch
        return None


_ALONE = _baseline()


def _buffers() -> list[Tensor]:
    bufs = getattr(_local, "bufs", None)
    if bufs is None:
        bufs = _local.bufs = []
    return bufs


def _free(buf: Tensor) -> bool:
    return _use_count(buf) == _ALONE


def take(n: int, like: Tensor) -> Tensor:
    """n elements of ``like``'s dtype and device (contents undefined), from this thread's pool
    when a free buffer is large enough; a new one (kept for later calls while the pool has
    room) otherwise."""
    if _ALONE is None or n < MIN_ELEMS or like.device.type != "cpu":
        return like.new_empty(n)
    bufs = _buffers()
    fits = [b for b in bufs if b.dtype == like.dtype and b.numel() >= n and _free(b)]
    if fits:
        return min(fits, key=Tensor.numel)[:n]  # a view: it counts as a user of the storage
    buf = like.new_empty(n)
    size = n * buf.element_size()
    while bufs and (len(bufs) >= MAX_BUFFERS or _bytes(bufs) + size > MAX_BYTES):
        idle = [b for b in bufs if _free(b)]
        if not idle:
            return buf  # every kept buffer is in use and the pool is full: not kept
        bufs.remove(min(idle, key=Tensor.numel))
    if size > MAX_BYTES:
        return buf
    bufs.append(buf)
    return buf[:n]


def _bytes(bufs: list[Tensor]) -> int:
    return sum(b.numel() * b.element_size() for b in bufs)


def held_bytes() -> int:
    """Bytes this thread's pool holds (in use or not)."""
    return _bytes(_buffers())


def release() -> None:
    """Drop this thread's buffers (those still in use are freed when their last user lets go)."""
    _local.bufs = []
