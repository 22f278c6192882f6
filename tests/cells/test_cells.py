"""The built-in cells: parity with torch.nn's cells, gate layout, parameters, input checks."""

import math
import re

import pytest
import torch

from rnnkit import GRUCell, LSTMCell, LSTMState, RNNCell

I, H, B = 5, 7, 3

# (name, our cell factory, torch.nn cell factory, number of gates)
CELLS = [
    ("rnn_tanh", lambda **kw: RNNCell(I, H, **kw), lambda **kw: torch.nn.RNNCell(I, H, **kw), 1),
    ("rnn_relu", lambda **kw: RNNCell(I, H, nonlinearity="relu", **kw),
     lambda **kw: torch.nn.RNNCell(I, H, nonlinearity="relu", **kw), 1),
    ("lstm", lambda **kw: LSTMCell(I, H, **kw), lambda **kw: torch.nn.LSTMCell(I, H, **kw), 4),
    ("gru", lambda **kw: GRUCell(I, H, **kw), lambda **kw: torch.nn.GRUCell(I, H, **kw), 3),
]
IDS = [c[0] for c in CELLS]


def _random_state(cell, dtype):
    s = cell.initial_state(B, dtype=dtype)
    if isinstance(s, tuple):
        return type(s)(*(torch.randn_like(t) for t in s))
    return torch.randn_like(s)


def _leaves(s):
    return tuple(s) if isinstance(s, tuple) else (s,)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize(
    "dtype,tol",
    [(torch.float64, dict(rtol=1e-12, atol=1e-12)), (torch.float32, dict(rtol=1e-5, atol=1e-6))],
    ids=["f64", "f32"],
)
@pytest.mark.parametrize("name,ours_f,ref_f,G", CELLS, ids=IDS)
def test_cell_equals_torch_nn(name, ours_f, ref_f, G, dtype, tol, bias):
    ref = ref_f(bias=bias).to(dtype)
    ours = ours_f(bias=bias).to(dtype)
    # The parameter names are torch.nn's: its state dict loads as is, every key matched.
    assert set(ours.state_dict()) == set(ref.state_dict())
    ours.load_state_dict(ref.state_dict())

    x = torch.randn(B, I, dtype=dtype, requires_grad=True)
    state = _random_state(ours, dtype)
    for s in _leaves(state):
        s.requires_grad_()
    y, new = ours.step(x, state)
    got = _leaves(new)
    want = ref(x, tuple(state) if name == "lstm" else state)
    want = _leaves(want)
    assert len(got) == len(want)
    torch.testing.assert_close(y, want[0], **tol)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, **tol)

    # Gradients of the input, the state and every parameter agree as well.
    ws = [torch.randn_like(t) for t in got]
    inputs = [x, *_leaves(state)]
    g_ours = torch.autograd.grad(
        sum((t * w).sum() for t, w in zip(got, ws)), inputs + list(ours.parameters()))
    g_ref = torch.autograd.grad(
        sum((t * w).sum() for t, w in zip(want, ws)), inputs + list(ref.parameters()))
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b, **tol)


@pytest.mark.parametrize("name,ours_f,ref_f,G", CELLS, ids=IDS)
def test_forward_without_state_starts_from_zeros(name, ours_f, ref_f, G):
    cell = ours_f().double()
    x = torch.randn(B, I, dtype=torch.float64)
    y0, s0 = cell(x)
    y1, s1 = cell.step(x, cell.initial_state(B, dtype=torch.float64))
    torch.testing.assert_close(y0, y1, rtol=0, atol=0)
    for a, b in zip(_leaves(s0), _leaves(s1)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for z in _leaves(cell.initial_state(B, dtype=torch.float64)):
        assert z.shape == (B, H) and z.dtype == torch.float64 and not z.any()


def test_lstm_gate_layout_i_f_g_o():
    """Rows are laid out i|f|g|o: a huge bias on block 1 (forget) alone and a hugely negative
    one on block 0 (input) make c = c_prev, whatever the input."""
    cell = LSTMCell(I, H).double()
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
        cell.bias_ih[H : 2 * H] = 50.0  # f -> 1
        cell.bias_ih[0:H] = -50.0  # i -> 0
    x = torch.randn(B, I, dtype=torch.float64)
    prev = _random_state(cell, torch.float64)
    _, (h, c) = cell.step(x, prev)
    torch.testing.assert_close(c, prev.c, rtol=0, atol=1e-15)
    # And block 3 is the output gate: driving it to 0 zeroes h, whatever c is.
    with torch.no_grad():
        cell.bias_ih[3 * H :] = -50.0
    _, (h, c) = cell.step(x, prev)
    assert h.abs().max() < 1e-20
    # Block 2 is the candidate g = tanh(...): with f = 0, i = 1, huge g bias gives c = 1.
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_ih[0:H] = 50.0
        cell.bias_ih[H : 2 * H] = -50.0
        cell.bias_ih[2 * H : 3 * H] = 50.0
    _, (h, c) = cell.step(x, prev)
    torch.testing.assert_close(c, torch.ones_like(c), rtol=0, atol=1e-12)


def test_gru_gate_layout_r_z_n():
    """Rows are laid out r|z|n: a huge bias on block 1 (update gate z) keeps h = h_prev."""
    cell = GRUCell(I, H).double()
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_ih[H : 2 * H] = 50.0
    x = torch.randn(B, I, dtype=torch.float64)
    prev = torch.randn(B, H, dtype=torch.float64)
    _, h = cell.step(x, prev)
    torch.testing.assert_close(h, prev, rtol=0, atol=1e-15)
    # z -> 0 and r -> 0 (block 0): h = n = tanh(W_in x + b_in + 0 * (W_hn h + b_hn)).
    with torch.no_grad():
        cell.bias_ih[H : 2 * H] = -50.0
        cell.bias_ih[0:H] = -50.0
    _, h = cell.step(x, prev)
    n = torch.tanh(x @ cell.weight_ih[2 * H :].T + cell.bias_ih[2 * H :])
    torch.testing.assert_close(h, n, rtol=0, atol=1e-12)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("name,ours_f,ref_f,G", CELLS, ids=IDS)
def test_parameter_shapes(name, ours_f, ref_f, G, bias):
    cell = ours_f(bias=bias)
    shapes = {n: tuple(p.shape) for n, p in cell.named_parameters()}
    want = {"weight_ih": (G * H, I), "weight_hh": (G * H, H)}
    if bias:
        want.update(bias_ih=(G * H,), bias_hh=(G * H,))
    assert shapes == want
    assert cell.bias_ih is None if not bias else cell.bias_ih.requires_grad
    assert (cell.input_size, cell.hidden_size) == (I, H)


@pytest.mark.parametrize("make", [
    lambda: RNNCell(20, 64), lambda: LSTMCell(20, 64), lambda: GRUCell(20, 64),
], ids=["rnn", "lstm", "gru"])
def test_init_uniform_within_one_over_sqrt_h(make):
    cell = make()
    bound = 1 / math.sqrt(64)
    for name, p in cell.named_parameters():
        assert p.abs().max() <= bound, name
        # Spread over the whole range, not e.g. zeros or a narrower distribution (weights have
        # >= 1280 draws: the chance that none lands in the top 5% of the range is < 1e-28).
        if p.dim() == 2:
            assert p.max() > 0.95 * bound and p.min() < -0.95 * bound, name
        else:
            assert p.std() > 0.3 * bound, name
    w = cell.weight_hh.detach()
    assert abs(w.mean()) < 0.05 * bound
    # Uniform on [-b, b] has standard deviation b / sqrt(3).
    assert w.std() == pytest.approx(bound / math.sqrt(3), rel=0.05)
    # reset_parameters re-draws.
    before = cell.weight_ih.detach().clone()
    cell.reset_parameters()
    assert not torch.equal(before, cell.weight_ih)


@pytest.mark.parametrize("name,ours_f,ref_f,G", CELLS, ids=IDS)
def test_wrong_input_feature_size(name, ours_f, ref_f, G):
    cell = ours_f()
    with pytest.raises(ValueError, match=r"x_t of shape \(B, 5\), got \(3, 6\)"):
        cell.step(torch.randn(B, I + 1), cell.initial_state(B))
    with pytest.raises(ValueError, match=r"x_t of shape \(B, 5\), got \(3, 1, 5\)"):
        cell.step(torch.randn(B, 1, I), cell.initial_state(B))


@pytest.mark.parametrize("bad", [(B, H + 1), (B + 1, H), (1, H), (H,)])
@pytest.mark.parametrize("name,ours_f,ref_f,G", CELLS, ids=IDS)
def test_wrong_state_shape(name, ours_f, ref_f, G, bad):
    cell = ours_f()
    x = torch.randn(B, I)
    pattern = re.escape(f"state of shape ({B}, {H}), got {tuple(bad)}")
    h = torch.zeros(bad)
    state = LSTMState(h, torch.zeros(B, H)) if name == "lstm" else h
    with pytest.raises(ValueError, match=pattern):
        cell.step(x, state)


@pytest.mark.parametrize("bad", [(B, H + 1), (1, H)])
def test_lstm_wrong_cell_state_shape(bad):
    """c is checked too: a (1, H) c must not broadcast over the batch silently."""
    cell = LSTMCell(I, H)
    with pytest.raises(ValueError, match=r"cell state c of shape \(3, 7\), got \(" + str(bad[0])):
        cell.step(torch.randn(B, I), LSTMState(torch.zeros(B, H), torch.zeros(bad)))


@pytest.mark.parametrize("cls", [RNNCell, LSTMCell, GRUCell])
@pytest.mark.parametrize("args,field,value", [
    ((I, 0), "hidden_size", 0), ((0, H), "input_size", 0), ((I, -3), "hidden_size", -3),
    ((I, 2.0), "hidden_size", 2.0), ((I, True), "hidden_size", True),
])
def test_bad_sizes(cls, args, field, value):
    message = f"{field} must be a positive int, got {value!r}"
    with pytest.raises(ValueError, match=re.escape(message)):
        cls(*args)


def test_bad_nonlinearity():
    with pytest.raises(ValueError, match=r"'tanh' or 'relu', got 'sigmoid'"):
        RNNCell(I, H, nonlinearity="sigmoid")


def test_spawn_keeps_configuration_and_redraws():
    cell = RNNCell(I, H, bias=False, nonlinearity="relu").double()
    other = cell.spawn(2 * H)
    assert type(other) is RNNCell and other.nonlinearity == "relu" and other.bias is False
    assert other.weight_ih.shape == (H, 2 * H) and other.weight_ih.dtype == torch.float64
    same = cell.spawn(I)
    assert not torch.equal(same.weight_hh, cell.weight_hh)
