"""Layer-normalised LSTM / GRU and peephole LSTM cells on the reference path: each step equals
formulas written out here (float64); zero peepholes are torch.nn's LSTM; gradcheck through a
stacked bidirectional layer with lengths; the layer equals a per-row manual loop over its cells;
a padded row equals the row alone; a few training steps lower the loss; bad sizes raise."""

from __future__ import annotations

import pytest
import torch
from tests.helpers import assert_padded_rows_equal_rows_alone, fit_running_sum

import rnnkit
from rnnkit.cells.layer_norm import LayerNormGRUCell, LayerNormLSTMCell
from rnnkit.cells.peephole import PeepholeLSTMCell

F64 = torch.float64
CELLS = {"ln_lstm": LayerNormLSTMCell, "ln_gru": LayerNormGRUCell, "peephole": PeepholeLSTMCell}


def _randomise(cell, seed=0):
    """Non-default values for every parameter (gains, LN biases, peepholes included)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g, dtype=p.dtype))


def _state(kind, B, H, g):
    h = torch.randn(B, H, generator=g, dtype=F64)
    if kind == "ln_gru":
        return h
    return rnnkit.LSTMState(h, torch.randn(B, H, generator=g, dtype=F64))


# Hand-written formulas, independent of the cells' code ----------------------------------------
def _norm(v, gain, bias, eps):
    mu = v.sum(1, keepdim=True) / v.shape[1]
    var = ((v - mu) ** 2).sum(1, keepdim=True) / v.shape[1]  # biased, as layer normalisation
    out = gain * (v - mu) / torch.sqrt(var + eps)
    return out if bias is None else out + bias


def _sig(v):
    return 1.0 / (1.0 + torch.exp(-v))


def _manual_step(kind, cell, x, state):
    P = dict(cell.named_parameters())
    H = cell.hidden_size
    if kind == "peephole":
        h, c = state
        a = x @ P["weight_ih"].T + h @ P["weight_hh"].T
        if cell.bias:
            a = a + P["bias_ih"] + P["bias_hh"]
        i = _sig(a[:, :H] + P["weight_ci"] * c)
        f = _sig(a[:, H : 2 * H] + P["weight_cf"] * c)
        c_new = f * c + i * torch.tanh(a[:, 2 * H : 3 * H])
        o = _sig(a[:, 3 * H :] + P["weight_co"] * c_new)
        return o * torch.tanh(c_new), c_new
    eps, b = cell.eps, (lambda n: P.get(f"ln_{n}_bias"))
    h = state if kind == "ln_gru" else state[0]
    ax = _norm(x @ P["weight_ih"].T, P["ln_ih_weight"], b("ih"), eps)
    ah = _norm(h @ P["weight_hh"].T, P["ln_hh_weight"], b("hh"), eps)
    if kind == "ln_gru":
        r = _sig(ax[:, :H] + ah[:, :H])
        z = _sig(ax[:, H : 2 * H] + ah[:, H : 2 * H])
        n = torch.tanh(ax[:, 2 * H :] + r * ah[:, 2 * H :])
        return (1 - z) * n + z * h, None
    a = ax + ah
    c = _sig(a[:, H : 2 * H]) * state[1] + _sig(a[:, :H]) * torch.tanh(a[:, 2 * H : 3 * H])
    h_new = _sig(a[:, 3 * H :]) * torch.tanh(_norm(c, P["ln_c_weight"], b("c"), eps))
    return h_new, c


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("params", ["initial", "random"])
@pytest.mark.parametrize("bias", [True, False])
def test_step_equals_hand_written_formula(kind, params, bias):
    torch.manual_seed(0)
    cell = CELLS[kind](3, 5, bias=bias).to(F64)
    if params == "random":
        _randomise(cell)
    g = torch.Generator().manual_seed(1)
    x, state = torch.randn(4, 3, generator=g, dtype=F64), _state(kind, 4, 5, g)
    for _ in range(3):  # a few steps, each from the cell's own previous state
        y, new = cell.step(x, state)
        h_ref, c_ref = _manual_step(kind, cell, x, state)
        torch.testing.assert_close(y, h_ref, atol=1e-12, rtol=1e-10)
        if kind == "ln_gru":
            assert y is new
        else:
            assert isinstance(new, rnnkit.LSTMState) and new.h is y
            torch.testing.assert_close(new.c, c_ref, atol=1e-12, rtol=1e-10)
        state = new


def test_initial_values():
    torch.manual_seed(0)
    for cls in (LayerNormLSTMCell, LayerNormGRUCell):
        cell = cls(7, 16)
        G = cell.num_gates
        for name, n in (("ih", G * 16), ("hh", G * 16)) + ((("c", 16),) if G == 4 else ()):
            assert torch.equal(getattr(cell, f"ln_{name}_weight"), torch.ones(n))
            assert torch.equal(getattr(cell, f"ln_{name}_bias"), torch.zeros(n))
        assert not hasattr(cell, "bias_ih") and not hasattr(cell, "bias_hh")
    for cell in (LayerNormLSTMCell(7, 16), LayerNormGRUCell(7, 16), PeepholeLSTMCell(7, 16)):
        for name in ("weight_ih", "weight_hh"):
            w = getattr(cell, name)
            assert w.abs().max() <= 0.25 and w.std() > 0.1  # U(-1/sqrt(16), 1/sqrt(16))
    p = PeepholeLSTMCell(7, 16)
    for name in ("weight_ci", "weight_cf", "weight_co"):
        assert torch.equal(getattr(p, name), torch.zeros(16))
    p.weight_ci.data.fill_(3.0)
    p.reset_parameters()
    assert torch.equal(p.weight_ci, torch.zeros(16))


@pytest.mark.parametrize("bias", [True, False])
def test_zero_peepholes_are_the_lstm(bias):
    torch.manual_seed(0)
    ref = torch.nn.LSTMCell(3, 5, bias=bias).to(F64)
    ours = rnnkit.LSTMCell(3, 5, bias=bias).to(F64)
    ours.load_state_dict(ref.state_dict())
    cell = PeepholeLSTMCell(3, 5, bias=bias).to(F64)
    missing = cell.load_state_dict(ref.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["weight_cf", "weight_ci", "weight_co"]
    g = torch.Generator().manual_seed(2)
    x, state = torch.randn(4, 3, generator=g, dtype=F64), _state("peephole", 4, 5, g)
    y, (h, c) = cell.step(x, state)
    h_ref, c_ref = ref(x, tuple(state))
    torch.testing.assert_close(h, h_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(c, c_ref, atol=1e-12, rtol=1e-10)
    y2, (h2, c2) = ours.step(x, state)
    torch.testing.assert_close(h, h2, atol=1e-12, rtol=1e-10)
    # the zero peepholes still get gradients: they learn
    h.sum().backward()
    assert all(getattr(cell, n).grad.abs().sum() > 0 for n in ("weight_ci", "weight_cf",
                                                               "weight_co"))


# The layer ------------------------------------------------------------------------------------
def _layer(kind, I=3, H=4, **kw):
    kw = {"num_layers": 2, "bidirectional": True, **kw}
    return rnnkit.Recurrent(lambda i: CELLS[kind](i, H), input_size=I, **kw).to(F64)


def _state_leaves(kind, state):
    return [state] if kind == "ln_gru" else list(state)


def _row_loop(layer, kind, x_row, state0, b):
    """One row (T_b, I) alone, looped by hand over every cell; returns outputs and finals."""
    D, seq, finals = layer.num_directions, x_row, []
    for layer_i in range(layer.num_layers):
        outs = []
        for d in range(D):
            k = layer_i * D + d
            cell = layer.cells[k]
            leaves = [s[k, b : b + 1] for s in _state_leaves(kind, state0)]
            st = leaves[0] if kind == "ln_gru" else rnnkit.LSTMState(*leaves)
            order = range(seq.shape[0]) if d == 0 else reversed(range(seq.shape[0]))
            ys = {}
            for t in order:
                y, st = cell.step(seq[t : t + 1], st)
                ys[t] = y[0]
            outs.append(torch.stack([ys[t] for t in range(seq.shape[0])]))
            finals.append(st)
        seq = torch.cat(outs, dim=1)
    return seq, finals


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_layer_equals_manual_loop(kind):
    torch.manual_seed(0)
    layer = _layer(kind)
    for k, cell in enumerate(layer.cells):
        _randomise(cell, seed=k)
    B, T, n = 3, 6, 4
    g = torch.Generator().manual_seed(3)
    x = torch.randn(B, T, 3, generator=g, dtype=F64)
    state0 = _state(kind, n * B, 4, g)
    state0 = (state0.view(n, B, 4) if kind == "ln_gru"
              else rnnkit.LSTMState(*(s.view(n, B, 4) for s in state0)))
    lengths = torch.tensor([6, 2, 4])
    assert layer.resolve_backend(x.device) == "traced"
    out, final = layer(x, state0, lengths=lengths)
    assert out.shape == (B, T, 8)
    for b, L in enumerate(lengths.tolist()):
        ref_out, ref_finals = _row_loop(layer, kind, x[b, :L], state0, b)
        torch.testing.assert_close(out[b, :L], ref_out, atol=1e-12, rtol=1e-10)
        assert torch.equal(out[b, L:], torch.zeros(T - L, 8))  # zeros past the length
        for k, ref_st in enumerate(ref_finals):  # finals at each row's own length
            for got, want in zip(_state_leaves(kind, final), _state_leaves(kind, ref_st)):
                torch.testing.assert_close(got[k, b], want[0], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_padded_row_equals_row_alone(kind):
    torch.manual_seed(0)
    assert_padded_rows_equal_rows_alone(_layer(kind), 3)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_gradcheck_two_steps(kind):
    torch.manual_seed(0)
    layer = _layer(kind, I=2, H=2)
    for cell in layer.cells:
        _randomise(cell)
    names = [n for n, _ in layer.named_parameters()]
    params = tuple(p.detach().clone().requires_grad_() for p in layer.parameters())
    x = torch.randn(2, 2, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(4, 2, 2, dtype=F64, requires_grad=True)
    lengths = torch.tensor([2, 1])

    def f(x, h0, *ps):
        state = h0 if kind == "ln_gru" else rnnkit.LSTMState(h0, torch.tanh(h0))
        out, fin = torch.func.functional_call(
            layer, dict(zip(names, ps)), (x, state), {"lengths": lengths})
        return (out, *_state_leaves(kind, fin))

    assert torch.autograd.gradcheck(f, (x, h0, *params), atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_training_lowers_the_loss(kind):
    """A tiny running-sum task: the output at every step is the sum of the inputs so far."""
    torch.manual_seed(0)
    layer = rnnkit.Recurrent(CELLS[kind](2, 16))
    first, last = fit_running_sum(layer, steps=60, lr=1e-2, batch=64, scale=0.5)
    assert last < 0.3 * first, (first, last)


# Parameters, names, errors --------------------------------------------------------------------
@pytest.mark.parametrize("kind", sorted(CELLS))
def test_layer_parameters_and_state_dict(kind):
    layer = rnnkit.Recurrent(CELLS[kind](3, 4, bias=False), num_layers=2, bidirectional=True)
    assert [c.input_size for c in layer.cells] == [3, 3, 8, 8]
    assert all(not c.bias for c in layer.cells)
    keys = set(layer.state_dict())
    extra = {"ln_lstm": "ln_c_weight", "ln_gru": "ln_hh_weight", "peephole": "weight_co"}[kind]
    assert {"weight_ih_l0", "weight_hh_l1_reverse", f"{extra}_l1_reverse"} <= keys
    assert not any(k.startswith("cells.") for k in keys)
    other = rnnkit.Recurrent(CELLS[kind](3, 4, bias=False), num_layers=2, bidirectional=True)
    other.load_state_dict(layer.state_dict())
    x = torch.randn(2, 3, 3)
    torch.testing.assert_close(other(x)[0], layer(x)[0])
    if kind != "peephole":
        cell = CELLS[kind](3, 4, eps=1e-3)
        assert rnnkit.Recurrent(cell, num_layers=2).cells[1].eps == 1e-3
        assert "eps=0.001" in repr(cell)
    # a layer's cell re-initialises the layer's own parameters (read through its aliases)
    with torch.no_grad():
        for p in layer.parameters():
            p.fill_(0.3)
    layer.cells[3].reset_parameters()
    w = layer.weight_hh_l1_reverse
    assert w.abs().max() <= 0.5 and len(w.unique()) > 1 and layer.weight_hh_l0.eq(0.3).all()
    if kind == "ln_lstm":
        assert layer.ln_c_weight_l1_reverse.eq(1).all() and layer.ln_c_weight_l0.eq(0.3).all()
    # device / dtype reach every parameter, and the spawned cells keep them
    deep = rnnkit.Recurrent(CELLS[kind](3, 4, dtype=F64), num_layers=2, bidirectional=True)
    assert {p.dtype for p in deep.parameters()} == {F64}
    for backend in ("kernel", "torch"):
        with pytest.raises(ValueError, match=backend):
            rnnkit.Recurrent(CELLS[kind](3, 4), backend=backend)(x)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_bad_sizes_raise(kind):
    cls = CELLS[kind]
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(ValueError, match="input_size must be a positive int"):
            cls(bad, 4)
        with pytest.raises(ValueError, match="hidden_size must be a positive int"):
            cls(3, bad)
    if kind != "peephole":
        for eps in (0, -1e-5, "1e-5", None):
            with pytest.raises(ValueError, match="eps must be a positive float"):
                cls(3, 4, eps=eps)
    cell = cls(3, 4)
    good = cell.initial_state(2)
    with pytest.raises(ValueError, match=r"x_t of shape \(B, 3\)"):
        cell.step(torch.zeros(2, 5), good)
    bad_h = torch.zeros(1, 4)
    with pytest.raises(ValueError, match=r"state of shape \(2, 4\)"):
        cell.step(torch.zeros(2, 3), bad_h if kind == "ln_gru" else good._replace(h=bad_h))
    if kind != "ln_gru":
        with pytest.raises(ValueError, match=r"cell state c of shape \(2, 4\)"):
            cell.step(torch.zeros(2, 3), good._replace(c=bad_h))
    with pytest.raises(ValueError, match="input_size=3"):
        rnnkit.Recurrent(cell)(torch.zeros(2, 5, 4))
