"""Hand-written BPTT for the GRU (torch.nn's formulation, reset applied after W_hn h).

The recurrent weight's blocks are reordered from ``r|z|n`` to ``n|r|z`` internally. In the
backward pass one buffer per step holds ``[d(W_hn h), da_r, da_z, da_n]``: its first three
blocks are the gradient of the recurrent projection (order n|r|z), its last three the gradient
of the input projection (order r|z|n), so both products read one contiguous slice.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from . import native
from .common import (
    input_projection,
    inverse,
    permute_blocks,
    previous,
    recurrent_product,
    recurrent_weight_grads,
    tanh_,
    time_blocks,
    weight_grads,
)

_ORDER = [2, 0, 1]  # internal recurrent block k holds torch's block _ORDER[k]: n, r, z
_INV = inverse(_ORDER)


class GRUFunction(torch.autograd.Function):
    """Whole-sequence GRU, time-major: x (T, B, I), h0 (B, H) -> hs (T, B, H).

    ``apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh)``; its backward passes ``gradcheck``:

    >>> from rnnkit.cells import GRUCell
    >>> _ = torch.manual_seed(0)
    >>> cell = GRUCell(2, 3).double()
    >>> x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    >>> h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradcheck(GRUFunction.apply, (x, h0, *cell.parameters()))
    True
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        H = w_hh.shape[1]
        xw = input_projection(x, w_ih, b_ih)  # (T, B, 3H), r|z|n
        T = xw.shape[0]
        w_hh_p = permute_blocks(w_hh, _ORDER)
        b_hh_p = permute_blocks(b_hh, _ORDER)
        hw = xw.new_empty(T, h0.shape[0], 3 * H)  # recurrent projection, n|r|z
        rz = xw.new_empty(T, h0.shape[0], 2 * H)  # sigmoid(r), sigmoid(z)
        n = xw.new_empty(T, *h0.shape)
        hs = torch.empty_like(n)
        xrz_t, xn_t = xw[..., : 2 * H].unbind(0), xw[..., 2 * H :].unbind(0)
        hw_t, hn_t = hw.unbind(0), hw[..., :H].unbind(0)
        rz_t, r_t, z_t = rz.unbind(0), rz[..., :H].unbind(0), rz[..., H:].unbind(0)
        n_t, h_t = n.unbind(0), hs.unbind(0)
        product = recurrent_product(w_hh_p, h0.shape[0])
        if b_hh_p is None:
            hw.zero_()
        else:
            hw.copy_(b_hh_p)
        h = h0
        for t in range(T):
            hw_new = product(h, hw_t[t], out=hw_t[t])
            if hw_new is not hw_t[t]:
                hn_t[t].copy_(hw_new[:, :H])  # saved for backward
            torch.add(xrz_t[t], hw_new[:, H:], out=rz_t[t]).sigmoid_()
            tanh_(torch.addcmul(xn_t[t], r_t[t], hw_new[:, :H], out=n_t[t]))
            torch.lerp(n_t[t], h, z_t[t], out=h_t[t])  # n + z * (h - n)
            h = h_t[t]
        ctx.save_for_backward(x, h0, w_ih, w_hh_p, hw[..., :H], rz, n, hs)
        ctx.has_bias = b_ih is not None
        return hs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs):
        x, h0, w_ih, w_hh_p, hn, rz, n, hs = ctx.saved_tensors
        T, B, H = hs.shape
        buf = hs.new_empty(T, B, 4 * H)  # [d(hw_n), da_r, da_z, da_n]
        buf_t, dzn_t = buf.unbind(0), buf[..., 2 * H :].view(T, B, 2, H).unbind(0)
        dan_t, dar_t, dhn_t = (buf[..., 3 * H :].unbind(0), buf[..., H : 2 * H].unbind(0),
                               buf[..., :H].unbind(0))
        r_t, z_t = rz[..., :H].unbind(0), rz[..., H:].unbind(0)
        dhs_t = dhs.unbind(0)
        product = recurrent_product(w_hh_p.t(), B)  # dh_{t-1} += dhw_t @ W_hh
        dh = dhs_t[T - 1]
        for a, b in time_blocks(T, B, H):
            # Factors that do not depend on the recurrence, for the block's steps at once.
            rzb, nb = rz[a:b], n[a:b]
            sd = torch.addcmul(rzb, rzb, rzb, value=-1)  # sigmoid'(r), sigmoid'(z)
            zz = nb.new_empty(b - a, B, 2, H)
            torch.mul(previous(h0, hs, a, b) - nb, sd[..., H:], out=zz[:, :, 0])  # da_z / dh
            torch.mul(1 - rzb[..., H:], 1 - nb * nb, out=zz[:, :, 1])  # da_n / dh
            rr = hn[a:b] * sd[..., :H]  # da_r = da_n * rr
            zz_t, rr_t = zz.unbind(0), rr.unbind(0)
            for t in range(b - 1, a - 1, -1):
                j = t - a
                torch.mul(zz_t[j], dh.unsqueeze(1), out=dzn_t[t])  # da_z, da_n
                torch.mul(dan_t[t], rr_t[j], out=dar_t[t])
                torch.mul(dan_t[t], r_t[t], out=dhn_t[t])
                prev = dhs_t[t - 1] if t > 0 else None
                dh_direct = torch.mul(dh, z_t[t]) if prev is None else torch.addcmul(
                    prev, dh, z_t[t])
                dh = product(buf_t[t][:, : 3 * H], dh_direct, out=dh_direct)
        need = ctx.needs_input_grad
        dxw = buf[..., H:]  # (T, B, 3H) r|z|n
        dhw = buf[..., : 3 * H]  # (T, B, 3H) n|r|z
        dx = torch.mm(dxw.reshape(T * B, -1), w_ih).view_as(x) if need[0] else None
        dw_ih, db_ih = weight_grads(dxw, x, need[2], ctx.has_bias and need[4])
        dw_hh, db_hh = recurrent_weight_grads(dhw, h0, hs, need[3], ctx.has_bias and need[5])
        dw_hh, db_hh = permute_blocks(dw_hh, _INV), permute_blocks(db_hh, _INV)
        return dx, (dh if need[1] else None), dw_ih, dw_hh, db_ih, db_hh


def gru_sequence(cell, x: Tensor, h0: Tensor) -> tuple[Tensor, Tensor]:
    """Run ``cell`` (a :class:`~rnnkit.cells.GRUCell`) over x (T, B, I) from h0 (B, H).

    Returns ``(outputs, states)``, both (T, B, H).

    >>> from rnnkit.cells import GRUCell
    >>> from rnnkit.kernels import reference_sequence
    >>> _ = torch.manual_seed(0)
    >>> cell = GRUCell(3, 4)
    >>> x, h0 = torch.randn(6, 2, 3), torch.randn(2, 4)
    >>> hs, states = gru_sequence(cell, x, h0)
    >>> tuple(hs.shape), torch.allclose(hs, reference_sequence(cell, x, h0)[0], atol=1e-6)
    ((6, 2, 4), True)
    """
    args = (x, h0, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    native_loop = native.chosen(x.shape[1], cell.weight_hh, *args)
    fn = native.NativeGRUFunction if native_loop else GRUFunction
    hs = fn.apply(*args)
    return hs, hs
