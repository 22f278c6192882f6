"""Helpers shared by the kernels and the layer: state pytrees, gathers, gate permutations."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor


def map_state(fn: Callable[..., Tensor], *states: Any) -> Any:
    """Apply ``fn`` leaf-wise over states: None, a Tensor, or a (Named)tuple / list of them.

    Several states of the same structure are walked together (``fn`` gets one leaf of each).
    """
    first = states[0]
    if first is None:
        return None
    if isinstance(first, Tensor):
        return fn(*states)
    if isinstance(first, tuple):
        leaves = [map_state(fn, *parts) for parts in zip(*states)]
        return type(first)(*leaves) if hasattr(first, "_fields") else tuple(leaves)
    if isinstance(first, list):
        return [map_state(fn, *parts) for parts in zip(*states)]
    raise TypeError(
        "a state must be None, a Tensor, or a tuple/NamedTuple/list of Tensors; "
        f"found {type(first).__name__}"
    )


def state_leaves(state: Any) -> list[Tensor]:
    if isinstance(state, Tensor):
        return [state]
    out: list[Tensor] = []
    for part in state:
        out.extend(state_leaves(part))
    return out


def stack_states(states: list[Any]) -> Any:
    """Stack per-(layer, direction) states (B, ...) into one state of (L*D, B, ...)."""
    return map_state(lambda *xs: torch.stack(xs, 0), *states)


def gather_last(states_all: Any, lengths: Tensor | None) -> Any:
    """From states with a leading time axis (T, B, ...), each row's state at its last step."""
    if lengths is None:
        return map_state(lambda s: s[-1], states_all)

    def pick(s: Tensor) -> Tensor:
        rows = torch.arange(s.shape[1], device=s.device)
        return s[lengths - 1, rows]

    return map_state(pick, states_all)


def permute_blocks(w: Tensor | None, order: list[int]) -> Tensor | None:
    """Reorder the gate blocks of a (G*H, ...) weight or (G*H,) bias: block k <- w's order[k]."""
    if w is None:
        return None
    g = len(order)
    blocks = w.reshape(g, w.shape[0] // g, *w.shape[1:])
    return blocks[order].reshape(w.shape)


def inverse(order: list[int]) -> list[int]:
    inv = [0] * len(order)
    for k, src in enumerate(order):
        inv[src] = k
    return inv


def input_projection(
    x: Tensor, weight: Tensor, bias: Tensor | None, out: Tensor | None = None
) -> Tensor:
    """All steps' input projection in one matrix product: (T, B, I) -> (T, B, G*H), written
    into ``out`` (T*B*G*H elements, contiguous) when given.

    For float32 on a CPU it goes through oneDNN's matmul (the weight reordered for the call),
    which is 1.1-1.25x faster than torch.mm at these shapes, where K = I is small (measured at
    2 threads: (3200, 128) x (128, 1024) 5.1 vs 6.5 ms, (6400, 256) x (256, 2048) 45 vs 52 ms).
    """
    T, B, I = x.shape
    x2 = x.reshape(T * B, I)
    if out is not None:  # a buffer written before: no page faults, as oneDNN's new output has
        out = out.view(T * B, -1)
        if bias is None:
            return torch.mm(x2, weight.t(), out=out).view(T, B, -1)
        return torch.addmm(bias, x2, weight.t(), out=out).view(T, B, -1)
    packed = _reordered(weight, T * B)
    if packed is not None:
        try:
            out = torch.ops.mkldnn._linear_pointwise(x2, packed, bias, "none", [], "")
            return out.view(T, B, -1)
        except RuntimeError:  # pragma: no cover - oneDNN refused this shape
            pass
    out = torch.mm(x2, weight.t()) if bias is None else torch.addmm(bias, x2, weight.t())
    return out.view(T, B, -1)


def weight_grads(
    dgates: Tensor, inputs: Tensor, needs_weight: bool, needs_bias: bool
) -> tuple[Tensor | None, Tensor | None]:
    """Weight and bias gradients over all steps at once: one (G*H, T*B) x (T*B, K) product."""
    d2 = dgates.reshape(-1, dgates.shape[-1])
    dw = torch.mm(d2.t(), inputs.reshape(-1, inputs.shape[-1])) if needs_weight else None
    db = d2.sum(0) if needs_bias else None
    return dw, db


def recurrent_weight_grads(
    dgates: Tensor, h0: Tensor, hs: Tensor, needs_weight: bool, needs_bias: bool
) -> tuple[Tensor | None, Tensor | None]:
    """:func:`weight_grads` for the recurrent weight, whose inputs are the previous states
    h_{t-1} = [h0, hs[0], ..., hs[T-2]]: sum_t dgates_t^T h_{t-1} as one product over steps
    1..T-1 plus step 0's, without building the shifted (T, B, H) sequence."""
    G = dgates.shape[-1]
    dw = None
    if needs_weight:
        dw = torch.mm(dgates[0].t(), h0)
        if dgates.shape[0] > 1:
            dw.addmm_(dgates[1:].reshape(-1, G).t(), hs[:-1].reshape(-1, hs.shape[-1]))
    db = dgates.reshape(-1, G).sum(0) if needs_bias else None
    return dw, db


# Elementwise helpers ---------------------------------------------------------------------------
# torch's CPU tanh is several times slower than its sigmoid on large tensors (measured with torch
# 2.13 on these machines: 174 us vs 28 us for 64 x 2048 floats), so large tanh's are computed as
# 2 * sigmoid(2x) - 1. Small ones stay one op: there the per-op overhead dominates.
_TANH_VIA_SIGMOID_MIN = 8192
_CONSTANTS: dict = {}


def const(value: float, like: Tensor) -> Tensor:
    """A cached 0-d tensor. A Python number in an in-place op is wrapped into a new tensor and
    converted on every call (about 5 us each, measured): per-step code uses these instead."""
    key = (value, like.dtype, like.device)
    c = _CONSTANTS.get(key)
    if c is None:
        c = _CONSTANTS[key] = torch.tensor(value, dtype=like.dtype, device=like.device)
    return c


def tanh_into(src: Tensor, out: Tensor) -> Tensor:
    """``out = tanh(src)`` in the fastest form for its size; returns ``out``."""
    if src.numel() >= _TANH_VIA_SIGMOID_MIN and src.device.type == "cpu":
        two = const(2.0, src)
        torch.mul(src, two, out=out).sigmoid_()
        return out.mul_(two).sub_(const(1.0, src))
    return torch.tanh(src, out=out)


def tanh_(t: Tensor) -> Tensor:
    """In-place tanh of ``t`` (the fastest form for its size); returns ``t``."""
    return tanh_into(t, t)


# Backward time blocks: the derivative factors of a block of steps are computed together, with
# the block sized to stay in cache (about 64K elements of B x H): at batch 1 that is hundreds of
# steps at once (few ops), at large batches a step or two (no passes over memory-sized tensors).
_BLOCK_ELEMS = 65536


def time_blocks(T: int, B: int, H: int) -> list[tuple[int, int]]:
    """Blocks [a, b) covering range(T), latest first, for a reverse-time backward pass."""
    size = max(1, _BLOCK_ELEMS // max(1, B * H))
    return [(max(0, b - size), b) for b in range(T, 0, -size)]


def previous(first: Tensor, seq: Tensor, a: int, b: int) -> Tensor:
    """Values at steps a-1 .. b-2 of ``seq`` (T, B, H), with ``first`` standing for step -1."""
    if a > 0:
        return seq[a - 1 : b - 1]
    return torch.cat([first.unsqueeze(0), seq[: b - 1]], 0)


# The recurrent product --------------------------------------------------------------------------
# Every step multiplies a small (B, K) matrix by the same weight. For float32 on a CPU, oneDNN's
# matmul with the weight reordered once per sequence is 1.5-2.5x faster than addmm at the shapes
# where the product dominates (measured here, torch 2.13: (16, 1024) x (1024, 4096) 784 us vs
# 1876 us). At small shapes the reorder does not pay, and addmm is used.
_PACK_MIN_WORK = 1 << 21  # B * K * N multiply-adds per step


def _can_pack(w: Tensor, batch: int) -> bool:
    return (
        w.dtype == torch.float32
        and w.device.type == "cpu"
        and batch * w.shape[0] * w.shape[1] >= _PACK_MIN_WORK
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
    )


def _reordered(w: Tensor, batch: int) -> Tensor | None:
    """``w`` (N, K) reordered for oneDNN's matmul with ``batch`` rows where that pays
    (:func:`_can_pack`), else None (also when oneDNN refuses the weight)."""
    if not _can_pack(w, batch):
        return None
    try:
        return torch.ops.mkldnn._reorder_linear_weight(w.contiguous(), batch)
    except RuntimeError:  # pragma: no cover - oneDNN refused this weight
        return None


def recurrent_product(w: Tensor, batch: int) -> Callable[..., Tensor]:
    """``f(h, acc, out=None) -> acc + h @ w.T`` for a weight ``w`` (N, K) fixed during one
    sequence. ``acc`` is never modified unless it is ``out``; the result is ``out`` when the
    product can write there, else a new tensor (callers copy or activate it into place).
    """
    packed = _reordered(w, batch)
    if packed is not None:
        linear = torch.ops.mkldnn._linear_pointwise.binary
        return lambda h, acc, out=None: linear(h, acc, packed, None, "add")
    w_t = w.t()
    return lambda h, acc, out=None: torch.addmm(acc, h, w_t, out=out)


def linear_product(w: Tensor, batch: int) -> Callable[[Tensor], Tensor]:
    """``f(h) -> h @ w.T`` for a weight ``w`` (N, K) fixed during one sequence: oneDNN's
    matmul with the weight reordered once where :func:`recurrent_product` would use it."""
    packed = _reordered(w, batch)
    if packed is not None:
        linear = torch.ops.mkldnn._linear_pointwise
        return lambda h: linear(h.contiguous(), packed, None, "none", [], "")
    w_t = w.t()
    return lambda h: torch.mm(h, w_t)
