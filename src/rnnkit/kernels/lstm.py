"""Hand-written BPTT for the LSTM.

Internally the gate blocks are reordered from torch.nn's ``i|f|g|o`` to ``o|i|f|g`` so that one
in-place sigmoid covers every gate (``g`` as ``tanh(a) = 2 sigmoid(2a) - 1``, its weight rows
pre-scaled by 2), and so that in the backward pass the gradients of ``i, f, g`` (which all scale
with ``dc``) are one contiguous block.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..cells.states import LSTMState
from . import native
from .common import (
    const,
    input_projection,
    inverse,
    permute_blocks,
    previous,
    recurrent_product,
    recurrent_weight_grads,
    tanh_into,
    time_blocks,
    weight_grads,
)

_ORDER = [3, 0, 1, 2]  # internal block k holds torch's gate _ORDER[k]: o, i, f, g
_INV = inverse(_ORDER)


def _scale_g(w: Tensor | None, H: int) -> Tensor | None:
    """Double the g rows (last block) of an internal-order weight or bias."""
    if w is None:
        return None
    w = w.clone()
    w[3 * H :] *= 2
    return w


class LSTMFunction(torch.autograd.Function):
    """Whole-sequence LSTM, time-major: x (T, B, I), h0, c0 (B, H) -> hs, cs (T, B, H).

    ``apply(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh)``; its hand-written backward
    passes ``gradcheck`` (float64):

    >>> from rnnkit.cells import LSTMCell
    >>> _ = torch.manual_seed(0)
    >>> cell = LSTMCell(2, 3).double()
    >>> x, h0, c0 = (torch.randn(*s, dtype=torch.float64, requires_grad=True)
    ...              for s in ((4, 2, 2), (2, 3), (2, 3)))
    >>> torch.autograd.gradcheck(LSTMFunction.apply, (x, h0, c0, *cell.parameters()))
    True
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh):
        H = w_hh.shape[1]
        w_ih_p = permute_blocks(w_ih, _ORDER)
        w_hh_p = permute_blocks(w_hh, _ORDER)
        bias = None if b_ih is None else permute_blocks(b_ih + b_hh, _ORDER)
        # g's pre-activation is doubled so that sigmoid of the whole block gives (tanh(a)+1)/2.
        gates = input_projection(x, _scale_g(w_ih_p, H), _scale_g(bias, H))  # (T, B, 4H)
        T = gates.shape[0]
        hs = gates.new_empty(T, *h0.shape)  # (T, B, H)
        cs = torch.empty_like(hs)
        tcs = torch.empty_like(hs)  # tanh(c_t), kept for backward
        g_t = gates.unbind(0)
        o_t, i_t = gates[..., :H].unbind(0), gates[..., H : 2 * H].unbind(0)
        f_t, gg_t = gates[..., 2 * H : 3 * H].unbind(0), gates[..., 3 * H :].unbind(0)
        h_t, c_t, tc_t = hs.unbind(0), cs.unbind(0), tcs.unbind(0)
        product = recurrent_product(_scale_g(w_hh_p, H), h0.shape[0])
        h, c = h0, c0
        one, two = const(1.0, gates), const(2.0, gates)
        for t in range(T):
            torch.sigmoid(product(h, g_t[t], out=g_t[t]), out=g_t[t])  # o, i, f and (g + 1) / 2
            gg_t[t].mul_(two).sub_(one)  # g = tanh(a_g)
            torch.mul(f_t[t], c, out=c_t[t])
            c_t[t].addcmul_(i_t[t], gg_t[t])  # c = f * c + i * g
            tanh_into(c_t[t], tc_t[t])
            torch.mul(o_t[t], tc_t[t], out=h_t[t])  # h = o * tanh(c)
            h, c = h_t[t], c_t[t]
        ctx.save_for_backward(x, h0, c0, w_ih_p, w_hh_p, gates, hs, cs, tcs)
        ctx.has_bias = b_ih is not None
        ctx.set_materialize_grads(False)
        return hs, cs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs, dcs):
        x, h0, c0, w_ih_p, w_hh_p, gates, hs, cs, tcs = ctx.saved_tensors
        T, B, H = hs.shape
        if dhs is None:
            dhs = torch.zeros_like(hs)
        dgates = torch.empty_like(gates)  # (T, B, 4H) pre-activation gradients, o|i|f|g
        dg_t = dgates.unbind(0)
        do_t = dgates[..., :H].unbind(0)
        difg_t = dgates[..., H:].view(T, B, 3, H).unbind(0)
        f_t = gates[..., 2 * H : 3 * H].unbind(0)
        dhs_t = dhs.unbind(0)
        dcs_t = dcs.unbind(0) if dcs is not None else None
        product = recurrent_product(w_hh_p.t(), B)  # dh_{t-1} += da_t @ W_hh
        dh = dhs_t[T - 1]
        dc_in = dcs_t[T - 1] if dcs_t is not None else None  # dL/dc_t not through h_t
        for a, b in time_blocks(T, B, H):
            # Factors that do not depend on the recurrence, for the block's steps at once.
            gb, tc = gates[a:b], tcs[a:b]
            o, i, g = gb[..., :H], gb[..., H : 2 * H], gb[..., 3 * H :]
            sd = torch.addcmul(gb[..., : 3 * H], gb[..., : 3 * H], gb[..., : 3 * H], value=-1)
            tcd = torch.mul(tc, sd[..., :H])  # da_o = dh * tanh(c) * o'
            k = torch.addcmul(o, o * tc, tc, value=-1)  # dc += dh * o * (1 - tanh(c)^2)
            p = gb.new_empty(b - a, B, 3, H)  # da_{i,f,g} = dc * p
            torch.mul(g, sd[..., H : 2 * H], out=p[:, :, 0])
            torch.mul(previous(c0, cs, a, b), sd[..., 2 * H :], out=p[:, :, 1])
            ig = i * g
            torch.addcmul(i, ig, g, value=-1, out=p[:, :, 2])
            k_t, tcd_t, p_t = k.unbind(0), tcd.unbind(0), p.unbind(0)
            for t in range(b - 1, a - 1, -1):
                j = t - a
                dc = torch.mul(dh, k_t[j]) if dc_in is None else torch.addcmul(dc_in, dh, k_t[j])
                torch.mul(dh, tcd_t[j], out=do_t[t])
                torch.mul(p_t[j], dc.unsqueeze(1), out=difg_t[t])
                if dcs_t is not None and t > 0:
                    dc_in = torch.addcmul(dcs_t[t - 1], dc, f_t[t])
                else:
                    dc_in = dc * f_t[t]
                if t > 0:
                    dh = product(dg_t[t], dhs_t[t - 1])
        need = ctx.needs_input_grad
        dh0 = torch.mm(dg_t[0], w_hh_p) if need[1] else None
        dc0 = dc_in if need[2] else None
        dx = torch.mm(dgates.view(T * B, -1), w_ih_p).view_as(x) if need[0] else None
        dw_ih, db = weight_grads(dgates, x, need[3], ctx.has_bias and (need[5] or need[6]))
        dw_hh, _ = recurrent_weight_grads(dgates, h0, hs, need[4], False)
        dw_ih, dw_hh, db = (permute_blocks(w, _INV) for w in (dw_ih, dw_hh, db))
        return dx, dh0, dc0, dw_ih, dw_hh, db, db


def lstm_sequence(cell, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
    """Run ``cell`` (an :class:`~rnnkit.cells.LSTMCell`) over x (T, B, I) from ``(h0, c0)``.

    Returns ``(outputs (T, B, H), LSTMState(hs, cs))`` with every step's state. It equals the
    reference loop (autograd over ``cell.step``), gradients included:

    >>> from rnnkit.cells import LSTMCell
    >>> from rnnkit.kernels import reference_sequence
    >>> _ = torch.manual_seed(0)
    >>> cell = LSTMCell(3, 4)
    >>> x = torch.randn(6, 2, 3, requires_grad=True)  # (T, B, I)
    >>> hs, (_, cs) = lstm_sequence(cell, x, cell.initial_state(2))
    >>> ref, (h, c) = reference_sequence(cell, x, cell.initial_state(2))
    >>> tuple(cs.shape), torch.allclose(hs, ref, atol=1e-6), torch.allclose(cs[-1], c, atol=1e-6)
    ((6, 2, 4), True, True)
    >>> dx, = torch.autograd.grad(hs.sum(), x)
    >>> dx_ref, = torch.autograd.grad(ref.sum(), x)
    >>> torch.allclose(dx, dx_ref, atol=1e-6)
    True
    """
    h0, c0 = state
    args = (x, h0, c0, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    native_loop = native.chosen(x.shape[1], cell.weight_hh, *args)
    fn = native.NativeLSTMFunction if native_loop else LSTMFunction
    hs, cs = fn.apply(*args)
    return hs, LSTMState(hs, cs)
