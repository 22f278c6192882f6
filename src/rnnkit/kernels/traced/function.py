"""The traced fast path as an autograd function over the whole sequence.

``traced_sequence(cell, x, state)`` is a kernel in the layer's sense: ``x`` (T, B, I) ->
``(outputs (T, B, n), every step's state)``. The hoisted products of ``x_t`` are one product
in PyTorch before the loop (autograd gives their input and weight gradients), the loop runs in
the generated C++ (:mod:`.codegen`), and the per-step products' weight gradients are one
product over all steps here.
"""

from __future__ import annotations

import os
import threading

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..common import input_projection, state_leaves
from .driven import backward as driven_backward
from .driven import forward as driven_forward
from .driven import python_drives
from .graph import Unsupported, rebuild
from .runtime import Kernel, _ptrs, kernel_for, parameters, row_sequence


def _named_inputs(x, xps, s0s, vecs, mats) -> dict:
    named = {"X": x}
    named.update({f"XP{i}": t for i, t in enumerate(xps)})
    named.update({f"S0_{i}": t for i, t in enumerate(s0s)})
    named.update({f"V{i}": t for i, t in enumerate(vecs)})
    named.update({f"M{i}": t for i, t in enumerate(mats)})
    return named


_MAX_WORKSPACE_BYTES = 1 << 30
_local = threading.local()


def _workspace(n: int, like: Tensor) -> Tensor:
    """n elements of ``like``'s dtype reused between backward calls on this thread (contents
    undefined): a fresh buffer of tens of MB costs its page faults on every call."""
    if n * like.element_size() > _MAX_WORKSPACE_BYTES:
        return like.new_empty(n)
    bufs = _local.__dict__.setdefault("bufs", {})
    buf = bufs.get(like.dtype)
    if buf is None or buf.numel() < n:
        buf = bufs[like.dtype] = like.new_empty(n)
    return buf[:n]


def _split(flat, counts):
    out, at = [], 0
    for c in counts:
        out.append(flat[at:at + c])
        at += c
    return out


class TracedFunction(torch.autograd.Function):
    """``apply(kernel, counts, x, *hoisted weights, *hoisted biases, *initial state leaves,
    *parameter vectors, *parameter matrices)`` -> the unique outputs (T, B, n). The hoisted
    products ``x @ w (+ b)`` are computed here (one product each) and their gradients too, from
    the loop's gradients of their outputs."""

    @staticmethod
    def forward(ctx, k: Kernel, counts, x, *flat):
        hw, hb, s0s, vecs, mats = _split(flat, counts)
        T, B = x.shape[:2]
        xps = [input_projection(x, w.t(), None if b is None else b.reshape(-1))
               for w, b in zip(hw, hb)]
        named = _named_inputs(x, xps, s0s, vecs, mats)
        stored = {n.id: x.new_empty(T, B, n.width) for n in k.layout.stored}
        named.update({f"S{i}": t for i, t in stored.items()})
        named["W"] = x.new_empty(max(1, B * k.layout.scratch_size))
        ptrs = _ptrs(k.layout, named)
        driven = python_drives(k, x, mats)
        if driven:
            driven_forward(k, mats, ptrs, T, B)
        else:
            k.lib.rnnkit_traced_forward(T, B, ptrs)
        ctx.k, ctx.counts, ctx.driven = k, counts, driven
        ctx.save_for_backward(x, *xps, *flat, *stored.values())
        ctx.set_materialize_grads(False)
        return tuple(stored[o.id] for o in k.layout.outputs)

    @staticmethod
    @once_differentiable
    def backward(ctx, *douts):
        k, counts = ctx.k, ctx.counts
        lay = k.layout
        saved = ctx.saved_tensors
        x, nh = saved[0], counts[0]
        xps, flat = saved[1:1 + nh], saved[1 + nh:1 + nh + sum(counts)]
        hw, hb, s0s, vecs, mats = _split(flat, counts)
        T, B = x.shape[:2]
        named = _named_inputs(x, xps, s0s, vecs, mats)
        named.update({f"S{n.id}": t for n, t in zip(lay.stored, saved[1 + nh + len(flat):])})
        for o, d in zip(lay.outputs, douts):
            named[f"DOUT{o.id}"] = None if d is None else d.contiguous()
        grads = _loop_backward(k, named, x, xps, s0s, vecs, mats if ctx.driven else None)
        need = ctx.needs_input_grad
        dx = grads["DX"] if lay.uses_x else None
        dhw, dhb = [], []
        x2 = x.reshape(T * B, -1)
        for i, (w, b) in enumerate(zip(hw, hb)):
            d2 = grads[f"DXP{i}"].view(T * B, -1)
            if need[2]:
                part = torch.mm(d2, w.t()).view_as(x)
                dx = part if dx is None else dx.add_(part)
            dhw.append(torch.mm(x2.t(), d2) if need[3 + i] else None)
            dhb.append(None if b is None else d2.sum(0).view_as(b))
        dmats = _matrix_grads(k, named, grads, T, counts[4])
        ds0 = [grads[f"DS0_{i}"] for i in range(len(s0s))]
        dv = [grads[f"DV{i}"].sum(0) for i in range(len(vecs))]
        return (None, None, dx if need[2] else None, *dhw, *dhb, *ds0, *dv, *dmats)


def _loop_backward(k: Kernel, named: dict, x, xps, s0s, vecs, driven_mats) -> dict:
    """The generated backward loop (driven from Python when ``driven_mats`` are given). The
    per-step gradients are zeroed step by step inside it (no pass over memory); those only
    read here live in this thread's workspace."""
    lay, (T, B) = k.layout, x.shape[:2]
    threads = k.lib.rnnkit_traced_threads()
    prods = lay.prods
    widths = [t.shape[-1] for t in xps] + [n.width for n in prods]
    space = _workspace(T * B * sum(widths) + B * lay.grad_size + 1, x)
    grads, at = {"DX": torch.empty_like(x) if lay.uses_x else None}, 0
    for name, w in [(f"DXP{i}", t.shape[-1]) for i, t in enumerate(xps)] + \
            [(f"D{n.id}", n.width) for n in prods]:
        grads[name] = space[at:at + T * B * w].view(T, B, w)
        at += T * B * w
    grads["G"] = space[at:]
    grads.update({f"DS0_{i}": torch.zeros_like(t) for i, t in enumerate(s0s)})
    grads.update({f"DV{i}": t.new_zeros(threads, t.numel()) for i, t in enumerate(vecs)})
    named.update(grads)
    if driven_mats is not None:
        driven_backward(k, driven_mats, _ptrs(lay, named), T, B)
    else:
        k.lib.rnnkit_traced_backward(T, B, _ptrs(lay, named))
    return grads


def _matrix_grads(k: Kernel, named: dict, grads: dict, T: int, n_mats: int) -> list:
    """Each per-step product's weight gradient, sum_t A_t^T dOut_t, as one product."""
    dmats = [None] * n_mats
    for n in k.layout.prods:
        first, rest = row_sequence(n.args[0], named, k.plan)
        d = grads[f"D{n.id}"]
        if first is not None:
            dm = first.t() @ d[0]
            if T > 1:
                dm.addmm_(rest.reshape(-1, rest.shape[-1]).t(), d[1:].reshape(-1, n.width))
        else:
            dm = rest.reshape(-1, rest.shape[-1]).t() @ d.reshape(-1, n.width)
        dmats[n.index] = dm if dmats[n.index] is None else dmats[n.index] + dm
    return dmats


def traced_enabled(device) -> bool:
    """Whether ``"auto"`` tries the traced path on ``device``: on a CPU, unless
    ``RNNKIT_TRACED=0``."""
    return torch.device(device).type == "cpu" and os.environ.get("RNNKIT_TRACED", "1") != "0"


def traced_sequence(cell, x: Tensor, state):
    """Run ``cell`` over x (T, B, I) from ``state`` on its traced fast path: ``(outputs (T, B,
    n), every step's state)``; :class:`~.graph.Unsupported` (with the reason) when the step
    cannot take it."""
    if x.device.type != "cpu":
        raise Unsupported(f"the traced fast path runs on a CPU, not {x.device.type}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise Unsupported("an empty sequence or batch")
    k = kernel_for(cell, x, state)
    if isinstance(k, str):
        raise Unsupported(k)
    plan = k.plan
    env = parameters(k, cell)
    hw = [env[h.mat.fx_node] for h in plan.hoisted]
    hb = [None if h.bias is None else env[h.bias.fx_node] for h in plan.hoisted]
    s0s = [t.contiguous() for t in state_leaves(state)]
    vecs = [env[v.fx_node].reshape(-1).contiguous() for v in plan.vecs]
    mats = [env[m.fx_node].contiguous() for m in plan.mats]
    counts = (len(hw), len(hb), len(s0s), len(vecs), len(mats))
    outs = TracedFunction.apply(k, counts, x.contiguous(), *hw, *hb, *s0s, *vecs, *mats)
    by_id = {o.id: t for o, t in zip(k.layout.outputs, outs)}
    y = by_id[plan.outputs[0].id]
    states = rebuild(state, [by_id[o.id] for o in plan.outputs[1:]])
    return y, states
