"""Hand-written BPTT for the vanilla RNN: h_t = act(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from . import native
from .common import (
    input_projection,
    recurrent_product,
    recurrent_weight_grads,
    tanh_,
    weight_grads,
)


class RNNFunction(torch.autograd.Function):
    """Whole-sequence vanilla RNN. Inputs time-major: x (T, B, I), h0 (B, H) -> hs (T, B, H).

    ``apply(x, h0, weight_ih, weight_hh, bias_ih, bias_hh, relu)``; ``gradcheck`` passes:

    >>> from rnnkit.cells import RNNCell
    >>> _ = torch.manual_seed(0)
    >>> cell = RNNCell(2, 3).double()
    >>> x = torch.randn(4, 2, 2, dtype=torch.float64, requires_grad=True)
    >>> h0 = torch.randn(2, 3, dtype=torch.float64, requires_grad=True)
    >>> torch.autograd.gradcheck(RNNFunction.apply, (x, h0, *cell.parameters(), False))
    True
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, relu: bool):
        bias = None if b_ih is None else b_ih + b_hh
        hs = input_projection(x, w_ih, bias)  # (T, B, H), activated in place below
        product = recurrent_product(w_hh, h0.shape[0])
        steps = hs.unbind(0)
        h = h0
        for h_t in steps:
            a = product(h, h_t, out=h_t)
            if a is not h_t:
                h_t.copy_(a)
            h_t.relu_() if relu else tanh_(h_t)
            h = h_t
        ctx.relu = relu
        ctx.save_for_backward(x, h0, w_ih, w_hh, hs)
        ctx.has_bias = b_ih is not None
        return hs

    @staticmethod
    @once_differentiable
    def backward(ctx, dhs):
        x, h0, w_ih, w_hh, hs = ctx.saved_tensors
        T = hs.shape[0]
        # d act / d pre-activation, for all steps at once.
        deriv = (hs > 0).to(hs.dtype) if ctx.relu else 1 - hs * hs
        da = torch.empty_like(hs)  # (T, B, H): gradient of the pre-activation
        da_t, deriv_t, dhs_t = da.unbind(0), deriv.unbind(0), dhs.unbind(0)
        product = recurrent_product(w_hh.t(), hs.shape[1])  # dh_{t-1} += da_t @ W_hh
        dh = dhs_t[T - 1]
        for t in range(T - 1, 0, -1):
            torch.mul(dh, deriv_t[t], out=da_t[t])
            dh = product(da_t[t], dhs_t[t - 1])  # carry dh to step t-1
        torch.mul(dh, deriv_t[0], out=da_t[0])
        need = ctx.needs_input_grad
        dh0 = torch.mm(da_t[0], w_hh) if need[1] else None
        dx = torch.mm(da.view(-1, da.shape[-1]), w_ih).view_as(x) if need[0] else None
        dw_ih, db = weight_grads(da, x, need[2], ctx.has_bias and (need[4] or need[5]))
        dw_hh, _ = recurrent_weight_grads(da, h0, hs, need[3], False)
        return dx, dh0, dw_ih, dw_hh, db, db, None


def rnn_sequence(cell, x: Tensor, h0: Tensor) -> tuple[Tensor, Tensor]:
    """Run ``cell`` (an :class:`~rnnkit.cells.RNNCell`) over x (T, B, I) from h0 (B, H).

    Returns ``(outputs, states)``, both (T, B, H) (the state of a vanilla RNN is its output).

    >>> from rnnkit.cells import RNNCell
    >>> from rnnkit.kernels import reference_sequence
    >>> _ = torch.manual_seed(0)
    >>> cell = RNNCell(3, 4, nonlinearity="relu")
    >>> x, h0 = torch.randn(6, 2, 3), torch.zeros(2, 4)
    >>> hs, states = rnn_sequence(cell, x, h0)
    >>> hs is states, torch.allclose(hs, reference_sequence(cell, x, h0)[0], atol=1e-6)
    (True, True)
    """
    args = (x, h0, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)
    native_loop = native.chosen(x.shape[1], cell.weight_hh, *args)
    fn = native.NativeRNNFunction if native_loop else RNNFunction
    hs = fn.apply(*args, cell.nonlinearity == "relu")
    return hs, hs
