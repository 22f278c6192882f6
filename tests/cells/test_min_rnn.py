"""minGRU and minLSTM: the parallel scan equals the step loop (outputs, final states, every
gradient) with initial states, lengths, both directions and stacked layers; gradcheck of the
scan; a long float32 sequence; generation (a prefix in parallel, then steps); bad inputs."""

from __future__ import annotations

import pytest
import torch

import rnnkit
from rnnkit.kernels.linear_scan import linear_scan, masked_scan

F64 = torch.float64
CELLS = {"mingru": rnnkit.MinGRUCell, "minlstm": rnnkit.MinLSTMCell}
LAYERS = {"mingru": rnnkit.MinGRU, "minlstm": rnnkit.MinLSTM}


def _step_loop(cell, x, h0, lengths=None):
    """Ground truth: cell.step over x (T, B, I); a row's state stops at its length."""
    h, hs = h0, []
    for t in range(x.shape[0]):
        _, new = cell.step(x[t], h)
        if lengths is not None:
            new = torch.where((t < lengths).unsqueeze(1), new, h)
        h = new
        hs.append(h)
    return torch.stack(hs), h


def _grads(outputs, inputs, seed=0):
    g = torch.Generator().manual_seed(seed)
    weights = [torch.randn(o.shape, generator=g, dtype=F64).to(o.dtype) for o in outputs]
    loss = sum((o * w).sum() for o, w in zip(outputs, weights))
    return torch.autograd.grad(loss, inputs)


@pytest.mark.parametrize("kind", sorted(CELLS))
@pytest.mark.parametrize("T", [1, 9, 70, 130])  # 70, 130: chunks of 32, a partial one
def test_cell_scan_equals_step_loop(kind, T):
    torch.manual_seed(1)
    cell = CELLS[kind](3, 5).to(F64)
    x = torch.randn(T, 4, 3, dtype=F64, requires_grad=True)
    h0 = torch.randn(4, 5, dtype=F64, requires_grad=True)
    lengths = torch.tensor([T, 1, max(1, T // 2), max(1, T - 1)])
    hs, final = cell.scan(x, h0, lengths)
    ref_hs, ref_final = _step_loop(cell, x, h0, lengths)
    torch.testing.assert_close(hs, ref_hs, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(final, ref_final, atol=1e-12, rtol=1e-10)
    # padding past a row's length leaves its state exactly as it was at its last step
    for i, n in enumerate(lengths.tolist()):
        assert torch.equal(hs[n - 1 :, i], hs[n - 1, i].expand(T - n + 1, -1))
    inputs = (x, h0, *cell.parameters())
    for a, b in zip(_grads((hs, final), inputs), _grads((ref_hs, ref_final), inputs)):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=1e-9)


def _random_layer_inputs(layer, B, T, seed):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(B, T, layer.input_size, generator=g, dtype=F64, requires_grad=True)
    n = layer.num_layers * layer.num_directions
    h0 = torch.randn(n, B, layer.hidden_size, generator=g, dtype=F64, requires_grad=True)
    return x, h0


@pytest.mark.parametrize("kind", sorted(LAYERS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_layer_parallel_equals_step_loop(kind, bidirectional):
    """The default backend (the scan) against the reference path (cell.step per step), two
    layers, random initial states, lengths 1 and full among them, every gradient."""
    torch.manual_seed(2)
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=bidirectional).to(F64)
    assert layer.resolve_backend(torch.device("cpu")) == "kernel"
    T = 70
    x, h0 = _random_layer_inputs(layer, 5, T, seed=3)
    lengths = torch.tensor([T, 1, 33, 64, 2])  # chunks of 32: ends just past, at a boundary
    runs = {}
    for backend in ("auto", "reference"):
        layer.backend = backend
        out, hn = layer(x, h0, lengths)
        runs[backend] = (out, hn, _grads((out, hn), (x, h0, *layer.parameters())))
    (out, hn, grads), (out_ref, hn_ref, grads_ref) = runs["auto"], runs["reference"]
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(hn, hn_ref, atol=1e-12, rtol=1e-10)
    assert (out[1, 1:] == 0).all() and (out[2, 33:] == 0).all()  # outputs past lengths: zero
    assert len(grads) == 2 + len(list(layer.parameters()))
    for a, b in zip(grads, grads_ref):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=1e-9)


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_padded_row_equals_row_alone(kind):
    """A row's outputs and final state do not depend on the padding after its length."""
    torch.manual_seed(4)
    layer = LAYERS[kind](3, 4, num_layers=2, bidirectional=True).to(F64)
    x, h0 = _random_layer_inputs(layer, 2, 80, seed=5)
    out, hn = layer(x, h0, torch.tensor([80, 11]))
    out_alone, hn_alone = layer(x[1:, :11], h0[:, 1:].contiguous())
    torch.testing.assert_close(out[1:, :11], out_alone, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(hn[:, 1:], hn_alone, atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_gradcheck_scan(kind):
    torch.manual_seed(6)
    cell = CELLS[kind](2, 3).to(F64)
    x = torch.randn(6, 3, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(3, 3, dtype=F64, requires_grad=True)
    lengths = torch.tensor([6, 1, 4])

    def run(x, h0, w, b):  # the scan of the projection, chunks of 4: two, one of them partial
        a, b = cell.coefficients(torch.nn.functional.linear(x, w, b))
        return masked_scan(a, b, h0, lengths, chunk=4)

    w0 = cell.weight_ih.detach().clone().requires_grad_()
    b0 = cell.bias_ih.detach().clone().requires_grad_()
    assert torch.autograd.gradcheck(run, (x, h0, w0, b0))
    assert torch.autograd.gradcheck(lambda x, h0: cell.scan(x, h0, lengths)[0], (x, h0))


def test_gradcheck_linear_scan():
    """The hand-written backward of the scan (a, b, h0), chunks that do not divide T."""
    torch.manual_seed(15)
    a = torch.rand(11, 2, 3, dtype=F64, requires_grad=True)
    b = torch.randn(11, 2, 3, dtype=F64, requires_grad=True)
    h0 = torch.randn(2, 3, dtype=F64, requires_grad=True)
    for chunk in (1, 3, 4, 11, 20):
        fn = lambda a, b, h0, c=chunk: linear_scan(a, b, h0, c)  # noqa: E731
        assert torch.autograd.gradcheck(fn, (a, b, h0))


def test_gradcheck_layer_bidirectional():
    torch.manual_seed(7)
    layer = rnnkit.MinLSTM(2, 3, num_layers=2, bidirectional=True).to(F64)
    x, h0 = _random_layer_inputs(layer, 3, 5, seed=8)
    lengths = torch.tensor([5, 1, 3])
    assert torch.autograd.gradcheck(lambda x, h0: layer(x, h0, lengths)[0], (x, h0))


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_saturated_gates(kind):
    """Large pre-activations (gates at 0 or 1 in float64): still finite and equal."""
    torch.manual_seed(9)
    cell = CELLS[kind](3, 4).to(F64)
    x = 40 * torch.randn(100, 2, 3, dtype=F64)
    h0 = torch.randn(2, 4, dtype=F64)
    hs, _ = cell.scan(x, h0)
    assert torch.isfinite(hs).all()
    torch.testing.assert_close(hs, _step_loop(cell, x, h0)[0], atol=1e-9, rtol=1e-9)


# float32, T = 2048. Measured against float64 (max abs, |h| <= 2.5): scan 3.4e-7, step loop
# 3.0e-7 (a log-space scan: 3e-6 in chunks of 32, 2e-4 unchunked, docs/kernels.md).
LONG_TOL = {"atol": 1e-5, "rtol": 1e-5}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_long_sequence_float32(kind):
    """T = 2048 in float32: scan and step loop agree with each other and with float64."""
    torch.manual_seed(10)
    cell = CELLS[kind](8, 16)
    x, h0 = torch.randn(2048, 2, 8), torch.randn(2, 16)
    with torch.no_grad():
        hs, final = cell.scan(x, h0)
        ref, ref_final = _step_loop(cell, x, h0)
        exact, _ = _step_loop(cell.to(F64), x.to(F64), h0.to(F64))
    assert hs.dtype == torch.float32
    torch.testing.assert_close(hs, ref, **LONG_TOL)
    torch.testing.assert_close(final, ref_final, **LONG_TOL)
    torch.testing.assert_close(hs.to(F64), exact, **LONG_TOL)


def test_float32_gradients_at_a_large_shape():
    """float32 at a shape where the built-in kernels' input projection would take oneDNN's
    (autograd-less) path: the scan's gradients still equal the step loop's."""
    torch.manual_seed(14)
    layer = rnnkit.MinGRU(128, 128)
    x = torch.randn(8, 64, 128, requires_grad=True)
    grads = {}
    for backend in ("kernel", "reference"):
        layer.backend = backend
        out, hn = layer(x)
        grads[backend] = _grads((out, hn), (x, *layer.parameters()))
    for a, b in zip(grads["kernel"], grads["reference"]):  # float32 sums over T*B = 512 terms
        scale = float(b.abs().max())
        torch.testing.assert_close(a, b, atol=1e-5 * scale, rtol=0)  # measured 5e-7


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_generation_prefix_then_steps(kind):
    """A prefix in parallel, then one step at a time (cell.step per layer, and the layer on
    T = 1 slices), equals stepping from the start and the whole sequence in parallel."""
    torch.manual_seed(11)
    layer = LAYERS[kind](3, 4, num_layers=2).to(F64)
    x, h0 = _random_layer_inputs(layer, 2, 12, seed=12)
    full, full_h = layer(x, h0)
    prefix, state = layer(x[:, :5], h0)
    outs, layer_state = [prefix], state
    cell_state = list(state.unbind(0))
    for t in range(5, 12):
        y = x[:, t]
        for k, cell in enumerate(layer.cells):
            y, cell_state[k] = cell.step(y, cell_state[k])
        y_layer, layer_state = layer(x[:, t : t + 1], layer_state)
        torch.testing.assert_close(y_layer[:, 0], y, atol=1e-12, rtol=1e-10)
        outs.append(y.unsqueeze(1))
    torch.testing.assert_close(torch.cat(outs, 1), full, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(torch.stack(cell_state), full_h, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(layer_state, full_h, atol=1e-12, rtol=1e-10)
    stepped, step_outs = None, []  # stepping all the way, from h0
    for t in range(12):
        y, stepped = layer(x[:, t : t + 1], h0 if t == 0 else stepped)
        step_outs.append(y)
    torch.testing.assert_close(torch.cat(step_outs, 1), full, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(stepped, full_h, atol=1e-12, rtol=1e-10)


def test_linear_scan_initial_state_any_sign():
    """Any initial state enters the scan as the step has it (lucidrains/minGRU-pytorch#9):
    negative, zero, and chunk sizes that do and do not divide T."""
    torch.manual_seed(13)
    a = torch.rand(200, 2, 3, dtype=F64) * 0.5 + 0.5
    b = torch.randn(200, 2, 3, dtype=F64)
    for h0, chunk in ((-torch.rand(2, 3, dtype=F64) * 10, 16), (torch.zeros(2, 3, dtype=F64), 7),
                      (torch.randn(2, 3, dtype=F64), None), (torch.randn(2, 3, dtype=F64), 500)):
        h, loop = h0, []
        for t in range(200):
            h = a[t] * h + b[t]
            loop.append(h)
        torch.testing.assert_close(linear_scan(a, b, h0, chunk),
                                   torch.stack(loop), atol=1e-12, rtol=1e-10)


def test_state_dict_names_and_bias():
    layer = rnnkit.MinLSTM(3, 4, num_layers=2, bidirectional=True, bias=False)
    assert sorted(layer.state_dict()) == ["weight_ih_l0", "weight_ih_l0_reverse",
                                          "weight_ih_l1", "weight_ih_l1_reverse"]
    assert layer.weight_ih_l1.shape == (12, 8)
    other = rnnkit.MinLSTM(3, 4, num_layers=2, bidirectional=True, bias=False)
    other.load_state_dict(layer.state_dict())
    x = torch.randn(2, 6, 3)
    torch.testing.assert_close(other(x)[0], layer(x)[0])


def test_bad_inputs():
    layer = rnnkit.MinGRU(3, 4, num_layers=2)
    x = torch.randn(2, 5, 3)
    with pytest.raises(ValueError, match="expects input_size=3"):
        layer(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"every length must be in \[1, T=5\]; found 0"):
        layer(x, lengths=torch.tensor([5, 0]))
    with pytest.raises(ValueError, match="found 6"):
        layer(x, lengths=torch.tensor([6, 1]))
    with pytest.raises(ValueError, match=r"state must have shape \(L\*D, B, H\)"):
        layer(x, torch.zeros(1, 2, 4))
    cell = rnnkit.MinLSTMCell(3, 4)
    with pytest.raises(ValueError, match=r"step expects x of shape \(B, 3\)"):
        cell.step(torch.randn(2, 4), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"scan expects a state of shape \(2, 4\)"):
        cell.scan(torch.randn(5, 2, 3), torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"every length must be in \[1, T=5\]"):
        cell.scan(torch.randn(5, 2, 3), torch.zeros(2, 4), torch.tensor([6, 2]))
    with pytest.raises(ValueError, match=r"lengths must be \(2,\) integers"):
        cell.scan(torch.randn(5, 2, 3), torch.zeros(2, 4), torch.tensor([5.0, 2.0]))
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        rnnkit.MinGRUCell(3, 0)
    with pytest.raises(ValueError, match="batch first"):
        rnnkit.MinGRU(3, 4, batch_first=False)
