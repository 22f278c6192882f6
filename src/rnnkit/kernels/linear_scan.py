"""The parallel path of minGRU and minLSTM: a diagonal linear recurrence for all steps at once.

``h_t = a_t * h_{t-1} + b_t`` (elementwise, (B, H) each, ``a_t, b_t`` known for every step in
advance) is computed as a two-level chunked scan in real space, in chunks of C ~ sqrt(T)
steps (at least 16):

* level 1, all chunks at once: C multiply-adds over (T/C, B, H) give every chunk's states
  from a zero start (``local``) and its running product of ``a`` (``decay``);
* level 2, one chunk after the other: ``h = local + decay * h_start``, where ``h_start`` is
  the previous chunk's last state (``h_0`` for the first).

That is 2C + T/C small sequential operations instead of T steps, each over many rows, and
the arithmetic is the step's own (multiply-adds of the same numbers, with ``0 < a <= 1``
contracting errors), so it is as accurate as the step loop: no logarithms, any sign of
``h_0`` and ``b``. (A log-space scan, ``exp(log A_t + logcumsumexp(log b - log A))``, was
measured here too: in float32 at T = 2048 it was 10x less accurate with chunks of 32, 60x
unchunked, and torch's CPU ``logcumsumexp`` made it 3x slower at T = 4096; see
docs/kernels.md.)

The backward pass is the same scan run backwards in time: ``dh_t = g_t + a_{t+1} dh_{t+1}``,
then ``da_t = dh_t h_{t-1}``, ``db_t = dh_t``, ``dh_0 = a_1 dh_1``.

>>> _ = torch.manual_seed(0)
>>> a, b, h0 = torch.rand(50, 2, 3), torch.randn(50, 2, 3), torch.randn(2, 3)
>>> hs = linear_scan(a, b, h0, chunk=4)
>>> h, loop = h0, []
>>> for t in range(50):
...     h = a[t] * h + b[t]
...     loop.append(h)
>>> torch.allclose(hs, torch.stack(loop), atol=1e-6)
True
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

MIN_CHUNK = 16


def g(x: Tensor) -> Tensor:
    """The paper's positive candidate activation: ``x + 0.5`` for ``x >= 0``, else
    ``sigmoid(x)`` (continuous at 0)."""
    return torch.where(x >= 0, x.clamp(min=0) + 0.5, torch.sigmoid(x))


def chunk_size(T: int) -> int:
    return max(MIN_CHUNK, math.isqrt(max(T - 1, 0)) + 1)


def _scan(a: Tensor, b: Tensor, h0: Tensor, chunk: int) -> Tensor:
    """The forward recurrence without autograd: a, b (T, B, H), h0 (B, H) -> hs (T, B, H)."""
    T = a.shape[0]
    C = max(1, min(chunk, T))
    n = -(-T // C)
    pad = n * C - T
    if pad:  # trailing steps that change nothing (a = 1, b = 0), cut off below
        a = torch.cat([a, a.new_ones(pad, *a.shape[1:])])
        b = torch.cat([b, b.new_zeros(pad, *b.shape[1:])])
    a = a.reshape(n, C, *a.shape[1:])
    b = b.reshape(n, C, *b.shape[1:])
    local, decay = torch.empty_like(b), torch.empty_like(a)
    local[:, 0], decay[:, 0] = b[:, 0], a[:, 0]
    for j in range(1, C):  # level 1: every chunk at once
        torch.addcmul(b[:, j], a[:, j], local[:, j - 1], out=local[:, j])
        torch.mul(a[:, j], decay[:, j - 1], out=decay[:, j])
    start = h0
    for k in range(n):  # level 2: carry each chunk's last state into the next
        local[k].addcmul_(decay[k], start.unsqueeze(0))
        start = local[k, -1]
    return local.reshape(n * C, *local.shape[2:])[:T]


class LinearScan(torch.autograd.Function):
    """``hs = LinearScan.apply(a, b, h0, chunk)``: a, b (T, B, H), h0 (B, H) -> hs (T, B, H)."""

    @staticmethod
    def forward(ctx, a, b, h0, chunk):
        with torch.no_grad():
            hs = _scan(a, b, h0, chunk)
        ctx.save_for_backward(a, hs, h0)
        ctx.chunk = chunk
        return hs

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        a, hs, h0 = ctx.saved_tensors
        # dh_t = grad_t + a_{t+1} dh_{t+1}: the forward scan on reversed time
        a_next = torch.cat([a[1:], a.new_zeros(1, *a.shape[1:])])
        dh = _scan(a_next.flip(0), grad.flip(0), torch.zeros_like(h0), ctx.chunk).flip(0)
        need_a, need_b, need_h0, _ = ctx.needs_input_grad
        da = None
        if need_a:
            da = torch.empty_like(a)
            torch.mul(dh[1:], hs[:-1], out=da[1:])
            torch.mul(dh[0], h0, out=da[0])
        dh0 = dh[0] * a[0] if need_h0 else None
        return da, (dh if need_b else None), dh0, None


def linear_scan(a: Tensor, b: Tensor, h0: Tensor, chunk: int | None = None) -> Tensor:
    """All states of ``h_t = a_t h_{t-1} + b_t``: ``a``, ``b`` (T, B, H), ``h0`` (B, H) ->
    ``hs`` (T, B, H); differentiable in all three. ``chunk`` defaults to :func:`chunk_size`."""
    chunk = chunk_size(a.shape[0]) if chunk is None else int(chunk)
    h0 = h0.expand_as(a[0])
    return LinearScan.apply(a.contiguous(), b.contiguous(), h0.contiguous(), chunk)


def masked_scan(a: Tensor, b: Tensor, h0: Tensor, lengths: Tensor | None = None,
                chunk: int | None = None) -> Tensor:
    """:func:`linear_scan` where steps at or past each row's length (B,) leave its state
    unchanged (``a = 1, b = 0`` there): ``hs[t, i]`` for ``t >= lengths[i]`` is exactly the
    row's state at its last valid step."""
    if lengths is not None:
        T = a.shape[0]
        valid = torch.arange(T, device=a.device).unsqueeze(1) < lengths.unsqueeze(0)
        valid = valid.unsqueeze(2)  # (T, B, 1)
        a = torch.where(valid, a, torch.ones((), dtype=a.dtype, device=a.device))
        b = torch.where(valid, b, torch.zeros((), dtype=b.dtype, device=b.device))
    return linear_scan(a, b, h0, chunk)
