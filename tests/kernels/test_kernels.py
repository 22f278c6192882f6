"""Every hand-written kernel: gradcheck in float64 and equality with the reference loop."""

import pytest
import torch
from torch.autograd import gradcheck

from rnnkit import GRUCell, LSTMCell, LSTMState, RNNCell
from rnnkit.kernels import GRUFunction, LSTMFunction, RNNFunction, reference_sequence

D = dict(dtype=torch.float64)


def _params(G, I, H, bias=True):
    w = [torch.randn(G * H, I, **D) * 0.5, torch.randn(G * H, H, **D) * 0.5]
    b = [torch.randn(G * H, **D) * 0.5, torch.randn(G * H, **D) * 0.5] if bias else [None, None]
    return [t.requires_grad_() if t is not None else None for t in w + b]


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T,B", [(1, 1), (5, 3), (9, 2)])
def test_lstm_gradcheck(T, B, bias):
    I, H = 3, 4
    x = torch.randn(T, B, I, **D, requires_grad=True)
    h0 = torch.randn(B, H, **D, requires_grad=True)
    c0 = torch.randn(B, H, **D, requires_grad=True)
    assert gradcheck(LSTMFunction.apply, (x, h0, c0, *_params(4, I, H, bias)))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T,B", [(1, 1), (5, 3), (9, 2)])
def test_gru_gradcheck(T, B, bias):
    I, H = 3, 4
    x = torch.randn(T, B, I, **D, requires_grad=True)
    h0 = torch.randn(B, H, **D, requires_grad=True)
    assert gradcheck(GRUFunction.apply, (x, h0, *_params(3, I, H, bias)))


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T,B", [(1, 1), (6, 3)])
def test_rnn_gradcheck(T, B, bias, relu):
    I, H = 3, 4
    x = torch.randn(T, B, I, **D, requires_grad=True)
    h0 = torch.randn(B, H, **D, requires_grad=True)
    assert gradcheck(RNNFunction.apply, (x, h0, *_params(1, I, H, bias), relu))


def test_lstm_gradcheck_cell_state_only():
    """A loss on the cell states alone (dhs is None in backward) is still exact."""
    T, B, I, H = 4, 2, 3, 5
    x = torch.randn(T, B, I, **D, requires_grad=True)
    h0, c0 = torch.zeros(B, H, **D), torch.randn(B, H, **D, requires_grad=True)
    ps = _params(4, I, H)
    assert gradcheck(lambda *a: LSTMFunction.apply(*a)[1], (x, h0, c0, *ps))


@pytest.mark.parametrize("make", [
    lambda: RNNCell(4, 6), lambda: RNNCell(4, 6, nonlinearity="relu"), lambda: LSTMCell(4, 6),
    lambda: GRUCell(4, 6), lambda: LSTMCell(4, 6, bias=False), lambda: GRUCell(4, 6, bias=False),
])
@pytest.mark.parametrize("T,B", [(1, 1), (7, 3), (300, 2)])
def test_kernel_equals_reference_loop(make, T, B):
    cell = make().double()
    x = torch.randn(T, B, 4, **D, requires_grad=True)
    state = cell.initial_state(B, dtype=torch.float64)
    state = type(state)(*(torch.randn_like(s) for s in state)) if isinstance(
        state, tuple) else torch.randn_like(state)
    out_k, states_all = cell.kernel()(cell, x, state)
    final_k = LSTMState(*(s[-1] for s in states_all)) if isinstance(
        states_all, tuple) else states_all[-1]
    out_r, final_r = reference_sequence(cell, x, state)
    torch.testing.assert_close(out_k, out_r, rtol=1e-10, atol=1e-12)
    leaves_k = final_k if isinstance(final_k, tuple) else (final_k,)
    leaves_r = final_r if isinstance(final_r, tuple) else (final_r,)
    for a, b in zip(leaves_k, leaves_r):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)
    w = torch.randn_like(out_k)
    loss_k = (out_k * w).sum() + sum(s.square().sum() for s in leaves_k)
    loss_r = (out_r * w).sum() + sum(s.square().sum() for s in leaves_r)
    params = [x, *cell.parameters()]
    for a, b in zip(torch.autograd.grad(loss_k, params), torch.autograd.grad(loss_r, params)):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_large_batch_blocks_exercised():
    """Large B*H makes the backward use one-step blocks: still equal to the reference."""
    cell = LSTMCell(3, 300).double()
    x = torch.randn(3, 250, 3, **D, requires_grad=True)
    s0 = cell.initial_state(250, dtype=torch.float64)
    out_k, _ = cell.kernel()(cell, x, s0)
    out_r, _ = reference_sequence(cell, x, s0)
    gk = torch.autograd.grad(out_k.sum(), [x, cell.weight_hh])
    gr = torch.autograd.grad(out_r.sum(), [x, cell.weight_hh])
    for a, b in zip(gk, gr):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)
