"""``Recurrent(cell)``: the layer equals a loop over its cells, runs cells users write, picks a
backend, handles lengths and dropout, and rejects bad inputs with messages that say why."""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import pytest
import torch
from torch import Tensor, nn

import rnnkit
from rnnkit import LSTMState, Recurrent, RecurrentCell

F64 = torch.float64
CPU = torch.device("cpu")


class PeepholeState(NamedTuple):
    h: Tensor
    c: Tensor


class PeepholeLSTMCell(RecurrentCell):
    """An LSTM whose gates also read the cell state (Gers & Schmidhuber 2000), as a user would
    write it: the gates' weights in an ``nn.Linear``, the peepholes a (3, H) parameter."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.linear = nn.Linear(input_size + hidden_size, 4 * hidden_size)
        self.peep = nn.Parameter(torch.empty(3, hidden_size))
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def spawn(self, input_size: int) -> PeepholeLSTMCell:
        return type(self)(input_size, self.hidden_size).to(self.peep)

    def initial_state(self, batch, device=None, dtype=None) -> PeepholeState:
        z = torch.zeros(batch, self.hidden_size, device=device, dtype=dtype)
        return PeepholeState(z, z.clone())

    def step(self, x_t, state):
        h, c = state
        i, f, g, o = self.linear(torch.cat([x_t, h], 1)).chunk(4, 1)  # each (B, H)
        i = torch.sigmoid(i + self.peep[0] * c)
        f = torch.sigmoid(f + self.peep[1] * c)
        c = f * c + i * torch.tanh(g)
        h = torch.sigmoid(o + self.peep[2] * c) * torch.tanh(c)
        return h, PeepholeState(h, c)


class NoSpawnCell(PeepholeLSTMCell):
    spawn = RecurrentCell.spawn  # the default: deep copy, same input size only


def _leaves(s):
    return list(s) if isinstance(s, tuple) else [s]


def _random_state(layer, B, dtype=F64):
    s = layer.initial_state(B, dtype=dtype)
    if isinstance(s, tuple):
        return type(s)(*(torch.randn_like(t) for t in s))
    return torch.randn_like(s)


def _assert_states_close(a, b, **tol):
    assert type(a) is type(b)
    for x, y in zip(_leaves(a), _leaves(b)):
        torch.testing.assert_close(x, y, **tol)


def manual(layer, x, lengths, state):
    """Each row alone, truncated to its length, through every cell by hand (no padding)."""
    B, T, _ = x.shape
    D, n = layer.num_directions, len(layer.cells)
    out = torch.zeros(B, T, D * layer.hidden_size, dtype=x.dtype)
    finals = [[None] * B for _ in range(n)]
    for b in range(B):
        seq = x[b : b + 1, : int(lengths[b])]  # (1, n_b, I)
        for layer_i in range(layer.num_layers):
            outs = []
            for d in range(D):
                k = layer_i * D + d
                cell = layer.cells[k]
                s = type(state)(*(t[k, b : b + 1] for t in state))
                ys = [None] * seq.shape[1]
                for t in range(seq.shape[1]) if d == 0 else reversed(range(seq.shape[1])):
                    ys[t], s = cell.step(seq[:, t], s)
                finals[k][b] = s
                outs.append(torch.stack(ys, 1))
            seq = torch.cat(outs, 2)
        out[b, : seq.shape[1]] = seq[0]
    final = type(state)(*(
        torch.stack([torch.cat([finals[k][b][j] for b in range(B)]) for k in range(n)])
        for j in range(len(state))
    ))
    return out, final


# The layer is a loop over its cells --------------------------------------------------------------
@pytest.mark.parametrize("backend", ["auto", "reference"])
@pytest.mark.parametrize("make", [
    lambda b: rnnkit.RNN(3, 5, backend=b), lambda b: rnnkit.RNN(3, 5, nonlinearity="relu",
                                                                backend=b),
    lambda b: rnnkit.LSTM(3, 5, backend=b), lambda b: rnnkit.GRU(3, 5, backend=b),
    lambda b: Recurrent(PeepholeLSTMCell(3, 5), backend=b),
], ids=["rnn", "rnn-relu", "lstm", "gru", "peephole"])
def test_layer_equals_manual_loop_over_cell(make, backend):
    layer = make(backend).double()
    B, T = 3, 6
    x = torch.randn(B, T, 3, dtype=F64)
    state = _random_state(layer, B)
    out, final = layer(x, state)

    cell, s = layer.cells[0], (type(state)(*(t[0] for t in state)) if isinstance(state, tuple)
                               else state[0])
    ys = []
    for t in range(T):
        y, s = cell.step(x[:, t], s)
        ys.append(y)
    torch.testing.assert_close(out, torch.stack(ys, 1), rtol=1e-12, atol=1e-12)
    want = type(s)(*(t.unsqueeze(0) for t in s)) if isinstance(s, tuple) else s.unsqueeze(0)
    _assert_states_close(final, want, rtol=1e-12, atol=1e-12)


# A cell the user writes --------------------------------------------------------------------------
def test_user_cell_bidirectional_two_layers_with_lengths():
    layer = Recurrent(PeepholeLSTMCell(3, 5), num_layers=2, bidirectional=True).double()
    assert [type(c) for c in layer.cells] == [PeepholeLSTMCell] * 4
    assert [c.input_size for c in layer.cells] == [3, 3, 10, 10]
    assert layer.resolve_backend(CPU) == "traced"
    B, T = 4, 6
    x = torch.randn(B, T, 3, dtype=F64, requires_grad=True)
    lengths = torch.tensor([3, 6, 1, 4])
    state = _random_state(layer, B)
    assert isinstance(state, PeepholeState) and state.h.shape == (4, B, 5)
    out, final = layer(x, state, lengths=lengths)
    assert out.shape == (B, T, 10) and isinstance(final, PeepholeState)
    pad = torch.arange(T).unsqueeze(0) >= lengths.unsqueeze(1)
    assert not out[pad].any()
    want_out, want_final = manual(layer, x, lengths, state)
    torch.testing.assert_close(out, want_out, rtol=1e-12, atol=1e-12)
    _assert_states_close(final, want_final, rtol=1e-12, atol=1e-12)
    # Padding does not leak into the gradient of the valid inputs either.
    (g,) = torch.autograd.grad(out.sum() + final.c.sum(), x)
    (g_want,) = torch.autograd.grad(want_out.sum() + want_final.c.sum(), x)
    torch.testing.assert_close(g, g_want, rtol=1e-10, atol=1e-12)
    assert not g[pad].any()


def test_user_cell_factory_form():
    layer = Recurrent(lambda i: PeepholeLSTMCell(i, 8), input_size=3, num_layers=2)
    assert [c.input_size for c in layer.cells] == [3, 8]
    assert layer.input_size == 3 and layer.hidden_size == 8
    out, final = layer(torch.randn(2, 4, 3))
    assert out.shape == (2, 4, 8) and final.h.shape == (2, 2, 8)
    # The layer's state dict round-trips through a fresh layer, nested parameter names included.
    other = Recurrent(lambda i: PeepholeLSTMCell(i, 8), input_size=3, num_layers=2)
    other.load_state_dict(layer.state_dict())
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(other(x)[0], layer(x)[0], rtol=0, atol=0)
    assert "linear.weight_l1" not in layer.state_dict()  # nested keys left as they are
    assert "cells.1.linear.weight" in layer.state_dict()
    assert "peep_l1" in layer.state_dict() and layer.peep_l1 is layer.cells[1].peep


def test_user_cell_construction_errors():
    with pytest.raises(TypeError, match=r"cannot spawn a cell with input size 5 .*factory"):
        Recurrent(NoSpawnCell(3, 5), num_layers=2)
    layer = Recurrent(NoSpawnCell(3, 5), bidirectional=True)  # same input size: default spawn
    assert not torch.equal(layer.cells[0].peep, layer.cells[1].peep)  # re-drawn, not copied
    with pytest.raises(TypeError, match=r"needs input_size="):
        Recurrent(lambda i: PeepholeLSTMCell(i, 8))
    with pytest.raises(ValueError, match=r"input_size=4 but the cell reads 3"):
        Recurrent(PeepholeLSTMCell(3, 5), input_size=4)
    with pytest.raises(TypeError, match=r"Linear is not a cell: it lacks 'input_size'"):
        Recurrent(nn.Linear(3, 4))
    with pytest.raises(ValueError, match=r"num_layers must be an int >= 1, got 0"):
        Recurrent(PeepholeLSTMCell(3, 5), num_layers=0)


def test_duck_typed_cell_without_spawn():
    """The contract is step / initial_state / sizes: a plain nn.Module is enough for one layer."""

    class Elman(nn.Module):
        input_size, hidden_size = 3, 4

        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(7, 4)

        def initial_state(self, batch, device=None, dtype=None):
            return torch.zeros(batch, 4, device=device, dtype=dtype)

        def step(self, x_t, h):
            h = torch.tanh(self.lin(torch.cat([x_t, h], 1)))
            return h, h

    layer = Recurrent(Elman())
    assert layer.resolve_backend(CPU) == "traced"
    out, h = layer(torch.randn(2, 5, 3))
    assert out.shape == (2, 5, 4) and h.shape == (1, 2, 4)
    torch.testing.assert_close(h[0], out[:, -1])
    with pytest.raises(TypeError, match=r"Elman has no spawn\(input_size\).*factory"):
        Recurrent(Elman(), num_layers=2)


def test_user_cell_trains():
    """A few dozen Adam steps fit the running sum of the inputs on a small batch."""
    torch.manual_seed(1)
    layer = Recurrent(PeepholeLSTMCell(2, 16), num_layers=2, bidirectional=False)
    head = nn.Linear(16, 1)
    x = torch.randn(8, 6, 2) * 0.5
    target = x.sum(2).cumsum(1).unsqueeze(2) * 0.5  # (B, T, 1)
    lengths = torch.tensor([6, 5, 4, 6, 3, 2, 6, 1])
    mask = (torch.arange(6).unsqueeze(0) < lengths.unsqueeze(1)).unsqueeze(2)
    opt = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=0.03)
    losses = []
    for _ in range(60):
        out, _ = layer(x, lengths=lengths)
        loss = ((head(out) - target).square() * mask).sum() / mask.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.05 * losses[0], losses[:: 10]


# Backends ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU])
def test_auto_backend(cls):
    layer = cls(3, 4)
    assert layer.backend == "auto"
    assert layer.resolve_backend(CPU) == "kernel"
    assert layer.resolve_backend(torch.device("cuda")) == "torch"
    user = Recurrent(PeepholeLSTMCell(3, 4))
    assert user.resolve_backend(CPU) == "traced"
    assert user.resolve_backend(torch.device("cuda")) == "reference"
    for b in ("kernel", "reference", "torch"):
        assert cls(3, 4, backend=b).resolve_backend(CPU) == b
    with torch.no_grad():  # inference: the LSTM goes to oneDNN, the others stay on the kernel
        assert layer.resolve_backend(CPU) == ("torch" if cls is rnnkit.LSTM else "kernel")
        assert user.resolve_backend(CPU) == "traced"
        assert cls(3, 4, backend="kernel").resolve_backend(CPU) == "kernel"


@pytest.mark.parametrize("bidirectional", [False, True])
def test_auto_inference_matches_the_kernel(bidirectional):
    torch.manual_seed(0)
    layer = rnnkit.LSTM(5, 7, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(4, 9, 5)
    lengths = torch.tensor([9, 3, 6, 1])
    out_k, (h_k, c_k) = layer(x, lengths=lengths)  # grad enabled: the kernel
    with torch.no_grad():
        out_t, (h_t, c_t) = layer(x, lengths=lengths)  # oneDNN
    torch.testing.assert_close(out_t, out_k.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(h_t, h_k.detach(), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(c_t, c_k.detach(), atol=1e-5, rtol=1e-5)


def test_kernel_and_torch_backends_need_builtin_cells():
    x = torch.randn(2, 3, 3)
    layer = Recurrent(PeepholeLSTMCell(3, 4), backend="kernel")
    msg = r"backend='kernel' needs cells with a kernel; PeepholeLSTMCell has none"
    with pytest.raises(ValueError, match=msg):
        layer.resolve_backend(CPU)
    with pytest.raises(ValueError, match=msg):
        layer(x)
    layer = Recurrent(PeepholeLSTMCell(3, 4), backend="torch")
    with pytest.raises(ValueError, match=r"backend='torch' .* got PeepholeLSTMCell"):
        layer(x)
    with pytest.raises(ValueError, match=r"backend must be one of .* got 'cudnn'"):
        rnnkit.LSTM(3, 4, backend="cudnn")


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_kernel_with_lengths_equals_reference(kind):
    cls = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU}[kind]
    layer = cls(3, 5, num_layers=2, bidirectional=True, backend="kernel").double()
    B, T = 5, 7
    x = torch.randn(B, T, 3, dtype=F64, requires_grad=True)
    state = _random_state(layer, B)
    for s in _leaves(state):
        s.requires_grad_()
    lengths = torch.tensor([4, 1, 7, 2, 5])
    results = []
    for backend in ("kernel", "reference"):
        layer.backend = backend
        out, final = layer(x, state, lengths)
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=F64).view_as(out)).sum() + sum(
            (f * f).sum() for f in _leaves(final))
        grads = torch.autograd.grad(loss, [x, *_leaves(state), *layer.parameters()])
        results.append((out, _leaves(final), grads))
    (o1, f1, g1), (o2, f2, g2) = results
    torch.testing.assert_close(o1, o2, rtol=1e-10, atol=1e-12)
    for a, b in zip(f1 + list(g1), f2 + list(g2)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


# Lengths ---------------------------------------------------------------------------------------
def test_lengths_accepted_in_other_forms():
    layer = rnnkit.GRU(3, 4, bidirectional=True)
    x = torch.randn(3, 5, 3)
    out, h = layer(x, lengths=torch.tensor([2, 5, 1]))
    for form in ([2, 5, 1], (2, 5, 1), torch.tensor([2, 5, 1], dtype=torch.int32),
                 torch.tensor([2, 5, 1], dtype=torch.uint8)):
        out2, h2 = layer(x, lengths=form)
        torch.testing.assert_close(out2, out, rtol=0, atol=0)
        torch.testing.assert_close(h2, h, rtol=0, atol=0)


def test_full_lengths_equal_no_lengths():
    layer = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True)
    x = torch.randn(3, 5, 3)
    out, (h, c) = layer(x)
    out2, (h2, c2) = layer(x, lengths=[5, 5, 5])
    torch.testing.assert_close(out2, out, rtol=0, atol=0)
    torch.testing.assert_close(c2, c, rtol=0, atol=0)


# Dropout ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["kernel", "reference", "torch"])
def test_dropout_train_and_eval(backend):
    layer = rnnkit.LSTM(3, 8, num_layers=2, dropout=0.5, backend=backend)
    plain = rnnkit.LSTM(3, 8, num_layers=2, backend=backend)
    plain.load_state_dict(layer.state_dict())
    x = torch.randn(4, 5, 3)
    a, b = layer(x)[0], layer(x)[0]
    assert not torch.allclose(a, b)
    layer.eval()
    a, b = layer(x)[0], layer(x)[0]
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, plain(x)[0], rtol=1e-6, atol=1e-6)
    # Only between layers: a single layer has nothing to drop.
    single = rnnkit.GRU(3, 8, dropout=0.5, backend=backend)
    torch.testing.assert_close(single(x)[0], single(x)[0], rtol=0, atol=0)


@pytest.mark.parametrize("p", [1.0, -0.1, 1.5])
def test_dropout_out_of_range_rejected(p):
    with pytest.raises(ValueError, match=re.escape(f"dropout must be in [0, 1), got {p!r}")):
        rnnkit.LSTM(3, 4, num_layers=2, dropout=p)


# Input checks ----------------------------------------------------------------------------------
def _raises(exc, message, fn, *args, **kw):
    with pytest.raises(exc, match=re.escape(message)):
        fn(*args, **kw)


def test_x_checks():
    layer = rnnkit.LSTM(3, 4)
    _raises(ValueError, "x must have shape (B, T, I) = (batch, time, 3); got a 2-d tensor of "
            "shape (5, 3)", layer, torch.randn(5, 3))
    _raises(ValueError, "got a 4-d tensor of shape (2, 5, 3, 1)", layer, torch.randn(2, 5, 3, 1))
    _raises(ValueError, "x has 6 features (shape (2, 5, 6)) but the layer expects input_size=3",
            layer, torch.randn(2, 5, 6))
    _raises(TypeError, "x is torch.float64 on cpu but the layer's parameters are torch.float32",
            layer, torch.randn(2, 5, 3, dtype=F64))
    _raises(TypeError, "x must be a floating tensor, got torch.int64", layer,
            torch.ones(2, 5, 3, dtype=torch.long))
    _raises(ValueError, "B >= 1 and T >= 1, got shape (2, 0, 3)", layer, torch.randn(2, 0, 3))
    _raises(TypeError, "x must be a Tensor of shape (B, T, I), got list", layer, [[[0.0] * 3]])


def test_state_checks():
    lstm = rnnkit.LSTM(3, 4, num_layers=2)
    x = torch.randn(5, 6, 3)
    h = torch.zeros(2, 5, 4)
    _raises(ValueError, "state must be structured like the cell's state (LSTMState(h: (2, 5, 4), "
            "c: (2, 5, 4))); got Tensor", lstm, x, h)
    _raises(ValueError, "state must have shape (L*D, B, H) = (2, 5, 4) (L=2, D=1, B=5); got "
            "(1, 5, 4)", lstm, x, LSTMState(h[:1], h[:1]))
    _raises(ValueError, "= (2, 5, 4) (L=2, D=1, B=5); got (2, 5, 5)", lstm, x,
            LSTMState(h, torch.zeros(2, 5, 5)))
    _raises(TypeError, "state is torch.float64 on cpu; x is torch.float32 on cpu", lstm, x,
            LSTMState(h, h.double()))
    # A plain (h, c) tuple is accepted and means the same as an LSTMState.
    c = torch.randn(2, 5, 4)
    out, final = lstm(x, (h, c))
    out2, final2 = lstm(x, LSTMState(h, c))
    torch.testing.assert_close(out, out2, rtol=0, atol=0)
    assert isinstance(final, LSTMState)

    gru = rnnkit.GRU(3, 4, bidirectional=True)
    _raises(ValueError, "state must have shape (L*D, B, H) = (2, 5, 4) (L=1, D=2, B=5); got "
            "(1, 5, 4)", gru, x, torch.zeros(1, 5, 4))
    _raises(ValueError, "state must be structured like the cell's state (a Tensor of shape "
            "(2, 5, 4)); got tuple", gru, x, (torch.zeros(2, 5, 4), torch.zeros(2, 5, 4)))


def test_lengths_checks():
    layer = rnnkit.RNN(3, 4)
    x = torch.randn(3, 5, 3)
    _raises(ValueError, "every length must be in [1, T=5]; found 0 (lengths=[2, 0, 5])",
            layer, x, lengths=torch.tensor([2, 0, 5]))
    _raises(ValueError, "every length must be in [1, T=5]; found 6 (lengths=[2, 6, 5])",
            layer, x, lengths=[2, 6, 5])
    _raises(ValueError, "lengths must have shape (3,), got (4,)", layer, x, lengths=[1, 2, 3, 4])
    _raises(ValueError, "lengths must have shape (3,), got (3, 1)", layer, x,
            lengths=torch.tensor([[1], [2], [3]]))
    _raises(TypeError, "lengths must be integers, got torch.float32", layer, x,
            lengths=torch.tensor([1.0, 2.0, 3.0]))
    _raises(TypeError, "lengths must be integers, got torch.bool", layer, x,
            lengths=torch.tensor([True, True, True]))
