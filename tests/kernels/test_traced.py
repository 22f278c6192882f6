"""The traced fast path (rnnkit.kernels.traced): a cell's own step compiled into a whole-sequence
kernel. Every cell here is checked against the reference loop (autograd over step): outputs,
every step's state, and the gradients of the input, the initial state and every parameter, in
float64 to rounding and in float32 to its precision; then the layer around it (2 layers, both
directions, lengths), gradcheck, training, caching, and the steps it must refuse."""

import logging
import shutil

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rnnkit
from rnnkit.cells import GRUCell, LSTMCell, RNNCell
from rnnkit.cells.base import RecurrentCell
from rnnkit.cells.indrnn import IndRNNCell
from rnnkit.cells.layer_norm import LayerNormGRUCell, LayerNormLSTMCell
from rnnkit.cells.peephole import PeepholeLSTMCell
from rnnkit.cells.states import LSTMState
from rnnkit.kernels import reference_sequence
from rnnkit.kernels.common import map_state, state_leaves
from rnnkit.kernels.traced import Unsupported, kernel_for, traced_sequence
from rnnkit.layers import fallback

pytestmark = pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                                reason="no C++ compiler: the traced path falls back")
F64 = torch.float64


class UserLSTM(RecurrentCell):
    """An LSTM as a user writes it: two Linear layers and chunk."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.wi, self.wh = nn.Linear(input_size, 4 * hidden_size), nn.Linear(hidden_size,
                                                                               4 * hidden_size)

    def initial_state(self, batch, device=None, dtype=None):
        return LSTMState.zeros(batch, self.hidden_size, device, dtype)

    def step(self, x_t, state):
        h, c = state
        i, f, g, o = (self.wi(x_t) + self.wh(h)).chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, LSTMState(h, c)


class Elman(RecurrentCell):
    """One Linear over [x_t, h]: a product of a concatenation, per step."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.lin = nn.Linear(input_size + hidden_size, hidden_size)

    def step(self, x_t, h):
        h = torch.tanh(self.lin(torch.cat([x_t, h], 1)))
        return h, h


class ChoGRU(RecurrentCell):
    """Cho et al.'s GRU: the reset gate scales h before its product (two products per step)."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.wx = nn.Linear(input_size, 3 * hidden_size)
        self.wh = nn.Linear(hidden_size, 2 * hidden_size, bias=False)
        self.wn = nn.Linear(hidden_size, hidden_size, bias=False)

    def step(self, x_t, h):
        H, ax = self.hidden_size, self.wx(x_t)
        r, z = torch.sigmoid(ax[:, : 2 * H] + self.wh(h)).chunk(2, 1)
        n = torch.tanh(ax[:, 2 * H:] + self.wn(r * h))
        h = torch.lerp(n, h, z)
        return h, h


class Zoo(RecurrentCell):
    """Many elementwise operations, per-row reductions written by hand, a scalar parameter,
    and an output that is not the state."""

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.w = nn.Parameter(torch.randn(hidden_size, input_size) * 0.4)
        self.u = nn.Parameter(torch.randn(hidden_size, hidden_size) * 0.4)
        self.g = nn.Parameter(torch.rand(hidden_size) + 0.5)
        self.s = nn.Parameter(torch.tensor(0.7))

    def step(self, x_t, h):
        a = x_t @ self.w.t() + h @ self.u.t()
        m, v = a.mean(-1, keepdim=True), a.var(-1, keepdim=True, unbiased=False)
        a = (a - m) / torch.sqrt(v + 1e-5) * self.g
        b = F.silu(a) + 0.1 * F.leaky_relu(a, 0.2) - F.hardtanh(a, -0.5, 0.5) / 3
        b = b + torch.maximum(a, h) * self.s + torch.addcmul(h, a, b, value=0.25)
        b = F.softplus(b).clamp(max=3.0) - 0.5 * torch.sigmoid(b.sum(-1, keepdim=True))
        b = b + torch.exp(-a * a) - torch.log1p(a.abs()) + F.gelu(h) * torch.rsqrt(1 + a * a)
        new = torch.tanh(b / (2 + torch.relu(a)) + h.pow(2) * 0.1)
        return new * 2 - 1, new


I, H = 5, 4
MAKERS = {"user_lstm": UserLSTM, "cho_gru": ChoGRU, "peephole": PeepholeLSTMCell,
          "indrnn": IndRNNCell}
CELLS = {
    "lstm": lambda: LSTMCell(I, H), "gru": lambda: GRUCell(I, H),
    "rnn_relu": lambda: RNNCell(I, H, nonlinearity="relu"), "user_lstm": lambda: UserLSTM(I, H),
    "ln_lstm": lambda: LayerNormLSTMCell(I, H), "ln_gru": lambda: LayerNormGRUCell(I, H),
    "peephole": lambda: PeepholeLSTMCell(I, H), "indrnn": lambda: IndRNNCell(I, H),
    "indrnn_max": lambda: IndRNNCell(I, H, recurrent_max=0.5), "elman": lambda: Elman(I, H),
    "cho_gru": lambda: ChoGRU(I, H), "zoo": lambda: Zoo(I, H),
}


def _compare(cell, dtype, T=7, B=3, atol=1e-10, rtol=1e-9):
    torch.manual_seed(1)
    cell = cell.to(dtype)
    x = torch.randn(T, B, I, dtype=dtype, requires_grad=True)
    state = map_state(lambda t: torch.randn_like(t).requires_grad_(),
                      cell.initial_state(B, dtype=dtype))
    y, states = traced_sequence(cell, x, state)
    y_ref, final_ref = reference_sequence(cell, x, state)
    torch.testing.assert_close(y, y_ref, atol=atol, rtol=rtol)
    finals = [s[-1] for s in state_leaves(states)]
    for a, b in zip(finals, state_leaves(final_ref)):
        torch.testing.assert_close(a, b, atol=atol, rtol=rtol)
    inputs = [x, *state_leaves(state), *cell.parameters()]
    gy, gs = torch.randn_like(y), [torch.randn_like(f) for f in finals]
    got = torch.autograd.grad([y, *finals], inputs, [gy, *gs], allow_unused=True)
    want = torch.autograd.grad([y_ref, *state_leaves(final_ref)], inputs, [gy, *gs],
                               allow_unused=True)
    for a, b in zip(got, want):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, atol=atol * 10, rtol=rtol * 10)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_equals_the_reference_loop_in_float64(name):
    _compare(CELLS[name](), F64)


@pytest.mark.parametrize("name", ["user_lstm", "ln_lstm", "cho_gru", "zoo", "indrnn_max"])
def test_equals_the_reference_loop_in_float32(name):
    _compare(CELLS[name](), torch.float32, atol=2e-5, rtol=2e-4)


@pytest.mark.parametrize("name", ["user_lstm", "cho_gru", "peephole", "indrnn"])
@pytest.mark.parametrize("hidden", [37, 64])
def test_batch_one_float32_products_equal_the_reference_loop(name, hidden):
    # batch 1 with a small float32 weight: the matrix-vector loop of gemv.h (its full blocks,
    # 16-wide blocks and masked tail at 4 x 37 = 148 and 37 outputs)
    _compare(MAKERS[name](I, hidden), torch.float32, T=20, B=1, atol=2e-5, rtol=2e-4)


@pytest.mark.parametrize("stop_after", [-1, 3])
@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("name, hidden", [("user_lstm", 128), ("peephole", 150), ("cho_gru", 150),
                                          ("ln_lstm", 128), ("zoo", 130)])
def test_batch_one_loop_split_between_threads(name, hidden, threads, stop_after, monkeypatch):
    """At batch 1 with every product on gemv.h the generated loop runs in one parallel region:
    products and reduction-free elementwise loops split their columns between the threads
    (uneven shares, tails), the rest runs on thread 0 (ln_lstm's normalisations, zoo's
    reductions), parameter gradients go to each thread's own row; with stop_after the barrier
    reports contended cores after 3 waits and thread 0 finishes alone, mid-step."""
    make = {"ln_lstm": LayerNormLSTMCell, "zoo": Zoo, **MAKERS}[name]
    monkeypatch.setenv("RNNKIT_SPLIT_STOP_AFTER", str(stop_after))
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _compare(make(I, hidden), torch.float32, T=12, B=1, atol=3e-5, rtol=3e-4)
    finally:
        torch.set_num_threads(before)


def test_every_step_state_is_the_reference_loops():
    cell = UserLSTM(I, H).double()
    x = torch.randn(6, 2, I, dtype=F64)
    _, states = traced_sequence(cell, x, cell.initial_state(2, dtype=F64))
    state = cell.initial_state(2, dtype=F64)
    for t in range(6):
        _, state = cell.step(x[t], state)
        torch.testing.assert_close(states.c[t], state.c, atol=1e-12, rtol=0)


@pytest.mark.parametrize("name", ["user_lstm", "cho_gru", "peephole", "indrnn"])
def test_layer_two_layers_both_directions_lengths(name):
    torch.manual_seed(0)
    make = MAKERS[name]
    fast = rnnkit.Recurrent(lambda n: make(n, H), num_layers=2, bidirectional=True,
                            input_size=I).double()
    ref = rnnkit.Recurrent(lambda n: make(n, H), num_layers=2, bidirectional=True,
                           input_size=I, backend="reference").double()
    ref.load_state_dict(fast.state_dict())
    assert fast.resolve_backend(torch.device("cpu")) == "traced"
    x = torch.randn(4, 6, I, dtype=F64, requires_grad=True)
    lengths = torch.tensor([6, 2, 5, 1])
    out, final = fast(x, lengths=lengths)
    out_ref, final_ref = ref(x, lengths=lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-11, rtol=1e-9)
    for a, b in zip(state_leaves(final), state_leaves(final_ref)):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=1e-9)
    loss = out.square().sum() + sum(s.sum() for s in state_leaves(final))
    loss_ref = out_ref.square().sum() + sum(s.sum() for s in state_leaves(final_ref))
    g = torch.autograd.grad(loss, [x, *fast.parameters()])
    g_ref = torch.autograd.grad(loss_ref, [x, *ref.parameters()])
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-8)


def test_gradcheck_through_the_layer():
    torch.manual_seed(0)
    layer = rnnkit.Recurrent(ChoGRU(2, 3), backend="traced").double()
    x = torch.randn(2, 4, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(1, 2, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, h: layer(x, h)[0], (x, h0))


def test_parameters_are_read_at_every_call_and_training_works():
    torch.manual_seed(0)
    layer = rnnkit.Recurrent(UserLSTM(3, 8))
    head = nn.Linear(8, 2)
    x, y = torch.randn(6, 10, 3), torch.randint(0, 2, (6,))
    opt = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=0.05)
    first = None
    for _ in range(60):
        loss = F.cross_entropy(head(layer(x)[0][:, -1]), y)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first
    ref = rnnkit.Recurrent(UserLSTM(3, 8), backend="reference")
    ref.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer(x)[0], ref(x)[0], atol=1e-5, rtol=1e-4)


def test_no_grad_and_batch_one():
    cell = UserLSTM(I, H)
    x = torch.randn(50, 1, I)
    with torch.no_grad():
        y, _ = traced_sequence(cell, x, cell.initial_state(1))
        y_ref, _ = reference_sequence(cell, x, cell.initial_state(1))
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-4)


def test_the_analysis_is_cached_per_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNKIT_CACHE", str(tmp_path))
    cell = Zoo(I, 9)  # a size no other test uses: its code is new to this process
    x, state = torch.randn(3, 2, I), cell.initial_state(2)
    k = kernel_for(cell, x, state)
    assert not isinstance(k, str) and k.analyse_s > 0
    assert kernel_for(cell, x, state) is k  # the same configuration: no new analysis
    assert kernel_for(cell, torch.randn(9, 7, I), cell.initial_state(7)) is k  # any T, B
    assert k.path.parent == tmp_path and k.path.exists() and k.compile_s > 0
    assert kernel_for(cell.double(), x.double(), cell.initial_state(2, dtype=F64)) is not k


def test_a_step_with_randomness_falls_back_with_one_line(caplog, monkeypatch):
    monkeypatch.setattr(fallback, "_NOTED", set())

    class Noisy(Elman):
        def step(self, x_t, h):
            h = torch.tanh(self.lin(torch.cat([F.dropout(x_t, 0.5, self.training), h], 1)))
            return h, h

    layer = rnnkit.Recurrent(Noisy(I, H))
    with caplog.at_level(logging.INFO, logger="rnnkit"):
        out1, _ = layer(torch.randn(2, 3, I))
        layer(torch.randn(2, 3, I))
    assert caplog.text.count("cannot take the traced fast path") == 1
    assert "Noisy" in caplog.text and "random" in caplog.text
    assert out1.shape == (2, 3, H)
    layer.eval()  # no dropout in eval mode: the same cell compiles
    assert not isinstance(kernel_for(layer.cells[0], torch.randn(3, 2, I),
                                     layer.cells[0].initial_state(2)), str)


class _Global(Elman):
    scale = torch.tensor(2.0)

    def step(self, x_t, h):
        return super().step(x_t * self.scale, h)


class _BatchSum(Elman):
    def step(self, x_t, h):
        h = torch.tanh(self.lin(torch.cat([x_t, h], 1)) + h.sum(0))
        return h, h


class _InPlace(Elman):
    def step(self, x_t, h):
        a = self.lin(torch.cat([x_t, h], 1))
        return a.tanh_(), a


@pytest.mark.parametrize("cls, why", [
    (_Global, "neither a parameter nor a buffer"),
    (_BatchSum, "rows of the batch"),
    (_InPlace, "in place"),
])
def test_steps_it_cannot_compile_say_why(cls, why):
    cell = cls(I, H)
    x = torch.randn(3, 2, I)
    with pytest.raises(Unsupported, match=why):
        traced_sequence(cell, x, cell.initial_state(2))
    layer = rnnkit.Recurrent(cls(I, H), backend="traced")
    with pytest.raises(ValueError, match=f"backend='traced'.*{why}"):
        layer(x.transpose(0, 1))
    out, _ = rnnkit.Recurrent(cls(I, H))(x.transpose(0, 1))  # auto: the reference loop
    assert out.shape == (2, 3, H)


@pytest.mark.parametrize("name", ["user_lstm", "cho_gru", "elman", "zoo"])
def test_the_loop_driven_from_python_with_onednn_products_is_the_same(name, monkeypatch):
    """Large recurrent weights: Python runs the steps, the products go through oneDNN on views
    of the loop's buffers (forced here at a small size)."""
    from rnnkit.kernels.traced import driven, function

    monkeypatch.setattr(driven, "MIN_WEIGHT", 0)
    calls = []
    for fn in ("driven_forward", "driven_backward"):
        real = getattr(function, fn)
        monkeypatch.setattr(function, fn, lambda *a, real=real, fn=fn: calls.append(fn) or real(*a))
    _compare(CELLS[name](), torch.float32, atol=2e-5, rtol=2e-4)
    assert "driven_forward" in calls and "driven_backward" in calls
