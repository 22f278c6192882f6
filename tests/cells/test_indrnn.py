"""IndRNN cell and layer (reference path): the step equals the formula written out here
(float64), ``recurrent_max`` clamps the recurrent vector the step uses; the layer equals a
per-row manual loop over its cells and an RNN with a diagonal recurrent matrix; a padded row
equals the row alone; gradcheck through a stacked bidirectional layer with lengths; a tiny
training run overfits; names, spawned cells, bad arguments."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_padded_rows_equal_rows_alone, fit_running_sum

import rnnkit
from rnnkit.cells.indrnn import IndRNNCell

F64 = torch.float64
ACT = {"relu": torch.relu, "tanh": torch.tanh}


def _randomise(module, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(0.7 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def _manual_step(x, h, w_ih, u, b_ih, b_hh, act):
    a = x @ w_ih.T + u * h
    if b_ih is not None:
        a = a + b_ih + b_hh
    return ACT[act](a)


@pytest.mark.parametrize("act", ["relu", "tanh"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("params", ["initial", "random"])
def test_step_equals_hand_written_formula(act, bias, params):
    torch.manual_seed(0)
    cell = IndRNNCell(3, 5, bias=bias, nonlinearity=act, dtype=F64)
    if params == "random":
        _randomise(cell)
    g = torch.Generator().manual_seed(1)
    x, h = torch.randn(4, 3, generator=g, dtype=F64), torch.randn(4, 5, generator=g, dtype=F64)
    for _ in range(3):
        y, new = cell.step(x, h)
        ref = _manual_step(x, h, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, act)
        torch.testing.assert_close(y, ref, atol=1e-12, rtol=1e-10)
        assert y is new and y.shape == (4, 5)
        h = new
    if act == "relu":
        assert (y >= 0).all()


def test_recurrent_max_clamps_what_the_step_uses():
    cell = IndRNNCell(2, 4, recurrent_max=0.5, dtype=F64)
    assert cell.weight_hh.min() >= 0 and cell.weight_hh.max() <= 0.5  # drawn inside the bound
    with torch.no_grad():
        cell.weight_hh.copy_(torch.tensor([3.0, -2.0, 0.25, -0.1], dtype=F64))
    x, h = torch.randn(3, 2, dtype=F64), torch.rand(3, 4, dtype=F64) + 1.0
    u = torch.tensor([0.5, -0.5, 0.25, -0.1], dtype=F64)
    y, _ = cell.step(x, h)
    torch.testing.assert_close(
        y, _manual_step(x, h, cell.weight_ih, u, cell.bias_ih, cell.bias_hh, "relu"))
    assert torch.equal(cell.weight_hh, torch.tensor([3.0, -2.0, 0.25, -0.1], dtype=F64))
    # clamped entries get no gradient; the ones inside the bound do
    y.sum().backward()
    grad = cell.weight_hh.grad
    assert grad[0] == 0 and grad[1] == 0 and grad[2] != 0
    # without the bound the same parameter gives another output
    free = IndRNNCell(2, 4, dtype=F64)
    free.load_state_dict(cell.state_dict())
    assert not torch.allclose(free.step(x, h)[0], y)


def test_initial_values():
    torch.manual_seed(0)
    cell = IndRNNCell(7, 400)
    u = cell.weight_hh
    assert u.shape == (400,) and u.min() >= 0 and u.max() <= 1
    assert 0.4 < u.mean() < 0.6 and u.std() > 0.25  # U(0, 1), not a constant
    bound = 1 / 20  # 1/sqrt(400)
    for name in ("weight_ih", "bias_ih", "bias_hh"):
        p = getattr(cell, name)
        assert p.abs().max() <= bound and p.std() > bound / 3
    assert cell.weight_ih.shape == (400, 7)
    assert IndRNNCell(3, 4, recurrent_max=4.0).weight_hh.max() <= 1  # U(0, min(1, max))
    with torch.no_grad():
        u.fill_(5.0)
    cell.reset_parameters()
    assert cell.weight_hh.max() <= 1
    assert IndRNNCell(3, 4, bias=False).bias_ih is None


# The layer ------------------------------------------------------------------------------------
def _layer(act="relu", I=3, H=4, **kw):
    kw = {"num_layers": 2, "bidirectional": True, "nonlinearity": act, "dtype": F64, **kw}
    layer = rnnkit.IndRNN(I, H, **kw)
    _randomise(layer)
    return layer


def _row_loop(layer, x_row, h0, b):
    """One row (T_b, I) alone, looped by hand over every cell; returns outputs and finals."""
    D, seq, finals = layer.num_directions, x_row, []
    for layer_i in range(layer.num_layers):
        outs = []
        for d in range(D):
            k = layer_i * D + d
            c = layer.cells[k]
            h = h0[k, b : b + 1]
            order = range(seq.shape[0]) if d == 0 else reversed(range(seq.shape[0]))
            ys = {}
            for t in order:
                h = _manual_step(seq[t : t + 1], h, c.weight_ih, c.weight_hh, c.bias_ih,
                                 c.bias_hh, layer.nonlinearity)
                ys[t] = h[0]
            outs.append(torch.stack([ys[t] for t in range(seq.shape[0])]))
            finals.append(h[0])
        seq = torch.cat(outs, dim=1)
    return seq, torch.stack(finals)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_layer_equals_manual_loop(act):
    layer = _layer(act)
    B, T = 3, 6
    g = torch.Generator().manual_seed(3)
    x = torch.randn(B, T, 3, generator=g, dtype=F64)
    h0 = torch.randn(4, B, 4, generator=g, dtype=F64)
    lengths = torch.tensor([6, 2, 4])
    assert layer.resolve_backend(x.device) == "traced"
    out, final = layer(x, h0, lengths=lengths)
    assert out.shape == (B, T, 8) and final.shape == (4, B, 4)
    for b, L in enumerate(lengths.tolist()):
        ref_out, ref_final = _row_loop(layer, x[b, :L], h0, b)
        torch.testing.assert_close(out[b, :L], ref_out, atol=1e-12, rtol=1e-10)
        assert torch.equal(out[b, L:], torch.zeros(T - L, 8, dtype=F64))
        torch.testing.assert_close(final[:, b], ref_final, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_layer_is_an_rnn_with_a_diagonal_recurrent_matrix(act):
    """rnnkit.RNN (its own kernel) with weight_hh = diag(u) computes the IndRNN."""
    layer = _layer(act)
    rnn = rnnkit.RNN(3, 4, num_layers=2, bidirectional=True, nonlinearity=act, dtype=F64)
    sd = {k: (torch.diag(v) if k.startswith("weight_hh") else v)
          for k, v in layer.state_dict().items()}
    rnn.load_state_dict(sd)
    x, lengths = torch.randn(3, 5, 3, dtype=F64), torch.tensor([5, 1, 3])
    h0 = torch.randn(4, 3, 4, dtype=F64)
    out, h = layer(x, h0, lengths=lengths)
    out_ref, h_ref = rnn(x, h0, lengths=lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(h, h_ref, atol=1e-12, rtol=1e-10)


def test_padded_row_equals_row_alone():
    assert_padded_rows_equal_rows_alone(_layer("tanh"), 3)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_gradcheck_through_the_layer(act):
    torch.manual_seed(0)
    layer = _layer(act, I=2, H=3, recurrent_max=0.9)
    names = [n for n, _ in layer.named_parameters()]
    assert "weight_hh_l1_reverse" in names
    with torch.no_grad():  # recurrent weights inside the bound: clamp's gradient is 1 there
        for n, p in layer.named_parameters():
            if n.startswith("weight_hh"):
                p.uniform_(-0.8, 0.8)
    params = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())
    x = torch.randn(2, 3, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(4, 2, 3, dtype=F64, requires_grad=True)
    lengths = torch.tensor([3, 2])

    def f(x, h0, *ps):
        return torch.func.functional_call(
            layer, dict(zip(names, ps)), (x, h0), {"lengths": lengths})

    assert torch.autograd.gradcheck(f, (x, h0, *params), atol=1e-6, rtol=1e-5)


def test_training_overfits_a_small_batch():
    """The running sum of the inputs at every step (an IndRNN with u -> 1 is an integrator)."""
    torch.manual_seed(0)
    layer = rnnkit.IndRNN(2, 16, nonlinearity="tanh")
    first, last = fit_running_sum(layer, steps=150, lr=2e-2, batch=16, scale=0.3)
    assert last < 0.02 * first, (first, last)


# Shapes, names, errors ------------------------------------------------------------------------
def test_bidirectional_two_layers_shapes_and_state_dict():
    layer = rnnkit.IndRNN(5, 6, num_layers=2, bidirectional=True, nonlinearity="tanh",
                          recurrent_max=1.5)
    out, h = layer(torch.randn(4, 9, 5))
    assert out.shape == (4, 9, 12) and h.shape == (4, 4, 6)
    assert [c.input_size for c in layer.cells] == [5, 5, 12, 12]
    assert all(c.nonlinearity == "tanh" and c.recurrent_max == 1.5 for c in layer.cells)
    sd = layer.state_dict()
    assert sorted(sd) == sorted(f"{n}_l{k}{r}" for n in ("weight_ih", "weight_hh", "bias_ih",
                                                          "bias_hh")
                                for k in (0, 1) for r in ("", "_reverse"))
    assert sd["weight_hh_l1_reverse"].shape == (6,) and sd["weight_ih_l1"].shape == (6, 12)
    other = rnnkit.IndRNN(5, 6, num_layers=2, bidirectional=True, nonlinearity="tanh",
                          recurrent_max=1.5)
    x = torch.randn(2, 3, 5)
    assert not torch.allclose(other(x)[0], layer(x)[0])
    other.load_state_dict(sd)
    torch.testing.assert_close(other(x)[0], layer(x)[0])
    assert layer.cells[3].weight_hh is layer.weight_hh_l1_reverse
    deep = rnnkit.IndRNN(3, 4, num_layers=2, bidirectional=True, bias=False, dtype=F64)
    assert {p.dtype for p in deep.parameters()} == {F64}
    assert all(c.bias_ih is None for c in deep.cells) and len(deep.state_dict()) == 8


def test_bad_arguments_raise():
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="input_size must be a positive int"):
            IndRNNCell(bad, 4)
        with pytest.raises(ValueError, match="hidden_size must be a positive int"):
            IndRNNCell(3, bad)
    for act in ("sigmoid", "ReLU", None):
        with pytest.raises(ValueError, match="nonlinearity must be 'relu' or 'tanh'"):
            rnnkit.IndRNN(3, 4, nonlinearity=act)
    for m in (0, -1.0, "1", True, float("inf")):
        with pytest.raises(ValueError, match="recurrent_max must be None or a positive"):
            rnnkit.IndRNN(3, 4, recurrent_max=m)
    with pytest.raises(ValueError, match="batch first"):
        rnnkit.IndRNN(3, 4, batch_first=False)
    with pytest.raises(ValueError, match="dropout"):
        rnnkit.IndRNN(3, 4, dropout=1.0)
    cell = IndRNNCell(3, 4)
    with pytest.raises(ValueError, match=r"x_t of shape \(B, 3\)"):
        cell.step(torch.zeros(2, 5), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"state of shape \(2, 4\)"):
        cell.step(torch.zeros(2, 3), torch.zeros(1, 4))
    x = torch.zeros(2, 3, 3)
    for backend in ("kernel", "torch"):
        with pytest.raises(ValueError, match=backend):
            rnnkit.IndRNN(3, 4, backend=backend)(x)
    with pytest.raises(ValueError, match="input_size=3"):
        rnnkit.IndRNN(3, 4)(torch.zeros(2, 5, 4))
    with pytest.raises(ValueError, match=r"\(L\*D, B, H\)"):
        rnnkit.IndRNN(3, 4, num_layers=2)(x, torch.zeros(1, 2, 4))
