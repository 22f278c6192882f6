"""Hand-written BPTT for the LSTM with a projection (``torch.nn.LSTM(proj_size=P)``).

Per step: ``a = x_t W_ih^T + b + h_{t-1} W_hh^T`` (the input part for all steps in one
product), ``c_t = f c_{t-1} + i g``, ``m_t = o tanh(c_t)`` (B, H), ``h_t = m_t W_hr^T`` (B, P).
The backward carries ``dh`` (B, P) and ``dc`` (B, H): ``dm = dh W_hr``, the gates' derivatives
from the saved activations, ``dh_{t-1} = dL/dh_{t-1} + da_t W_hh``; the weight gradients are
one product each after the loop. Gates stay in torch.nn's ``i|f|g|o`` order (no native loop).
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from ..cells.states import LSTMState


class ProjLSTMFunction(torch.autograd.Function):
    """Whole sequence, time-major: x (T, B, I), h0 (B, P), c0 (B, H) -> hs (T, B, P), cs (T, B, H).

    ``apply(x, h0, c0, weight_ih, weight_hh, bias_ih, bias_hh, weight_hr)``; its backward passes
    ``gradcheck`` (float64):

    >>> from rnnkit.cells.lstm_proj import ProjLSTMCell
    >>> _ = torch.manual_seed(0)
    >>> cell = ProjLSTMCell(2, 3, proj_size=2).double()
    >>> x, h0, c0 = (torch.randn(*s, dtype=torch.float64, requires_grad=True)
    ...              for s in ((4, 2, 2), (2, 2), (2, 3)))
    >>> torch.autograd.gradcheck(ProjLSTMFunction.apply, (x, h0, c0, *cell.parameters()))
    True
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr):
        T, B, _ = x.shape
        H = w_hr.shape[1]
        xa = x.reshape(T * B, -1) @ w_ih.t()
        if b_ih is not None:
            xa += b_ih + b_hh
        gates = xa.view(T, B, 4 * H)  # pre-activations, activated in place: i|f|g|o
        cs, tcs = gates.new_empty(T, B, H), gates.new_empty(T, B, H)
        ms = gates.new_empty(T, B, H)  # o * tanh(c), the projection's input
        hs = gates.new_empty(T, B, h0.shape[1])
        w_hh_t, w_hr_t = w_hh.t(), w_hr.t()
        h, c = h0, c0
        for t in range(T):
            a = gates[t].addmm_(h, w_hh_t)
            torch.sigmoid_(a[:, : 2 * H])
            torch.tanh_(a[:, 2 * H : 3 * H])
            torch.sigmoid_(a[:, 3 * H :])
            i, f, g, o = a.chunk(4, dim=1)
            c = torch.mul(f, c, out=cs[t]).addcmul_(i, g)
            tc = torch.tanh(c, out=tcs[t])
            m = torch.mul(o, tc, out=ms[t])
            h = torch.mm(m, w_hr_t, out=hs[t])
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, w_hr, gates, cs, tcs, ms, hs)
        ctx.has_bias = b_ih is not None
        ctx.set_materialize_grads(False)
        return hs, cs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs, dcs):
        x, h0, c0, w_ih, w_hh, w_hr, gates, cs, tcs, ms, hs = ctx.saved_tensors
        T, B, H = cs.shape
        dgates = torch.empty_like(gates)  # (T, B, 4H) pre-activation gradients
        dh_all = torch.empty_like(hs)  # (T, B, P) every h_t's whole gradient
        dh = hs.new_zeros(B, hs.shape[2]) if dhs is None else dhs[T - 1].clone()
        dc_next = None if dcs is None else dcs[T - 1]
        for t in range(T - 1, -1, -1):
            dh_all[t] = dh
            i, f, g, o = gates[t].chunk(4, dim=1)
            tc = tcs[t]
            dm = dh @ w_hr  # (B, H)
            dc = dm * o * (1 - tc * tc)
            if dc_next is not None:
                dc += dc_next
            di, df, dg, do = dgates[t].chunk(4, dim=1)
            torch.mul(dm * tc, o * (1 - o), out=do)
            torch.mul(dc * g, i * (1 - i), out=di)
            torch.mul(dc * (c0 if t == 0 else cs[t - 1]), f * (1 - f), out=df)
            torch.mul(dc * i, 1 - g * g, out=dg)
            dc_next = dc * f
            if t > 0:
                dh = dgates[t] @ w_hh
                if dhs is not None:
                    dh += dhs[t - 1]
                if dcs is not None:
                    dc_next += dcs[t - 1]
        need = ctx.needs_input_grad
        da = dgates.view(T * B, -1)
        dx = (da @ w_ih).view_as(x) if need[0] else None
        dh0 = dgates[0] @ w_hh if need[1] else None
        dc0 = dc_next if need[2] else None
        dw_ih = da.t() @ x.reshape(T * B, -1) if need[3] else None
        h_prev = torch.cat([h0.unsqueeze(0), hs[:-1]]).view(T * B, -1)
        dw_hh = da.t() @ h_prev if need[4] else None
        db = da.sum(0) if ctx.has_bias and (need[5] or need[6]) else None
        dw_hr = dh_all.view(T * B, -1).t() @ ms.view(T * B, H) if need[7] else None
        return dx, dh0, dc0, dw_ih, dw_hh, db, db, dw_hr


def proj_lstm_sequence(cell, x: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
    """Run a :class:`~rnnkit.cells.lstm_proj.ProjLSTMCell` over x (T, B, I) from ``(h0, c0)``.

    Returns ``(outputs (T, B, P), LSTMState(hs (T, B, P), cs (T, B, H)))``, every step's state;
    it equals the reference loop (autograd over ``cell.step``), gradients included:

    >>> from rnnkit.cells.lstm_proj import ProjLSTMCell
    >>> from rnnkit.kernels import reference_sequence
    >>> _ = torch.manual_seed(0)
    >>> cell = ProjLSTMCell(3, 4, proj_size=2)
    >>> x = torch.randn(6, 2, 3, requires_grad=True)
    >>> hs, (_, cs) = proj_lstm_sequence(cell, x, cell.initial_state(2))
    >>> ref, (h, c) = reference_sequence(cell, x, cell.initial_state(2))
    >>> tuple(hs.shape), torch.allclose(hs, ref, atol=1e-6), torch.allclose(cs[-1], c, atol=1e-6)
    ((6, 2, 2), True, True)
    """
    h0, c0 = state
    hs, cs = ProjLSTMFunction.apply(x, h0, c0, cell.weight_ih, cell.weight_hh, cell.bias_ih,
                                    cell.bias_hh, cell.weight_hr)
    return hs, LSTMState(hs, cs)
