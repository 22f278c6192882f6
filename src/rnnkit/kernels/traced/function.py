"""The traced fast path as an autograd function over the whole sequence.

``traced_sequence(cell, x, state)`` is a kernel in the layer's sense: ``x`` (T, B, I) ->
``(outputs (T, B, n), every step's state)``. The hoisted products of ``x_t`` are one product
in PyTorch before the loop (autograd gives their input and weight gradients), the loop runs in
the generated C++ (:mod:`.codegen`), and the per-step products' weight gradients are one
product over all steps here.
"""

from __future__ import annotations

import os

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..common import state_leaves
from .graph import Unsupported, rebuild
from .runtime import Kernel, _ptrs, kernel_for, parameters, row_sequence


def _named_inputs(k: Kernel, x, xps, s0s, vecs, mats) -> dict:
    plan = k.plan
    named = {"X": x}
    named.update({f"XP{i}": t for i, t in enumerate(xps)})
    named.update({f"S0_{i}": t for i, t in enumerate(s0s)})
    named.update({f"V{i}": t for i, t in enumerate(vecs)})
    named.update({f"M{i}": t for i, t in enumerate(mats)})
    del plan
    return named


class TracedFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, k: Kernel, counts, x, *flat):
        nx, ns, nv, nm = counts
        xps, s0s = flat[:nx], flat[nx:nx + ns]
        vecs, mats = flat[nx + ns:nx + ns + nv], flat[nx + ns + nv:]
        T, B = xps[0].shape[:2] if xps else (x.shape[0], x.shape[1])
        named = _named_inputs(k, x, xps, s0s, vecs, mats)
        stored = {n.id: xps[0].new_empty(T, B, n.width) if xps else x.new_empty(T, B, n.width)
                  for n in k.layout.stored}
        named.update({f"S{i}": t for i, t in stored.items()})
        k.lib.rnnkit_traced_forward(T, B, _ptrs(k.layout, named))
        ctx.k, ctx.counts, ctx.TB = k, counts, (T, B)
        ctx.save_for_backward(x, *flat, *stored.values())
        ctx.set_materialize_grads(False)
        return tuple(stored[o.id] for o in k.layout.outputs)

    @staticmethod
    @once_differentiable
    def backward(ctx, *douts):
        k, (nx, ns, nv, nm), (T, B) = ctx.k, ctx.counts, ctx.TB
        saved = ctx.saved_tensors
        x, flat = saved[0], saved[1:1 + nx + ns + nv + nm]
        xps, s0s = flat[:nx], flat[nx:nx + ns]
        vecs, mats = flat[nx + ns:nx + ns + nv], flat[nx + ns + nv:]
        like = xps[0] if xps else x
        named = _named_inputs(k, x, xps, s0s, vecs, mats)
        lay, plan = k.layout, k.plan
        named.update({f"S{n.id}": t for n, t in zip(lay.stored, saved[1 + len(flat):])})
        for o, d in zip(lay.outputs, douts):
            named[f"DOUT{o.id}"] = None if d is None else d.contiguous()
        grads = {"DX": torch.zeros_like(x) if lay.uses_x else None}
        grads.update({f"DXP{i}": torch.zeros_like(t) for i, t in enumerate(xps)})
        grads.update({f"DS0_{i}": torch.zeros_like(t) for i, t in enumerate(s0s)})
        grads.update({f"DV{i}": torch.zeros_like(t) for i, t in enumerate(vecs)})
        prods = [n for n in lay.stored if n.kind == "prod"]
        grads.update({f"D{n.id}": like.new_zeros(T, B, n.width) for n in prods})
        grads["G"] = like.new_empty(max(1, B * lay.grad_size))
        named.update(grads)
        k.lib.rnnkit_traced_backward(T, B, _ptrs(lay, named))
        dmats = [None] * nm
        for n in prods:
            first, rest = row_sequence(n.args[0], named, plan)
            d = grads[f"D{n.id}"]
            if first is not None:
                dm = first.t() @ d[0]
                if T > 1:
                    dm.addmm_(rest.reshape(-1, rest.shape[-1]).t(), d[1:].reshape(-1, n.width))
            else:
                dm = rest.reshape(-1, rest.shape[-1]).t() @ d.reshape(-1, n.width)
            dmats[n.index] = dm if dmats[n.index] is None else dmats[n.index] + dm
        need = ctx.needs_input_grad
        dxps = [grads[f"DXP{i}"] for i in range(nx)]
        ds0 = [grads[f"DS0_{i}"] for i in range(ns)]
        dv = [grads[f"DV{i}"] for i in range(nv)]
        dx = grads["DX"] if need[2] else None
        return (None, None, dx, *dxps, *ds0, *dv, *dmats)


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
    T, B, I = x.shape
    x2 = x.reshape(T * B, I)
    xps = []
    for h in plan.hoisted:
        mat = env[h.mat.fx_node]
        if h.bias is None:
            xps.append((x2 @ mat).view(T, B, -1))
        else:
            xps.append(torch.addmm(env[h.bias.fx_node].reshape(-1), x2, mat).view(T, B, -1))
    s0s = [t.contiguous() for t in state_leaves(state)]
    vecs = [env[v.fx_node].reshape(-1).contiguous() for v in plan.vecs]
    mats = [env[m.fx_node].contiguous() for m in plan.mats]
    xin = x.contiguous() if k.layout.uses_x else x
    counts = (len(xps), len(s0s), len(vecs), len(mats))
    outs = TracedFunction.apply(k, counts, xin, *xps, *s0s, *vecs, *mats)
    by_id = {o.id: t for o, t in zip(k.layout.outputs, outs)}
    y = by_id[plan.outputs[0].id]
    states = rebuild(state, [by_id[o.id] for o in plan.outputs[1:]])
    return y, states
