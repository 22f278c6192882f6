"""The native (C++) per-step loops: equal to the Python kernels and to autograd, and a clean
fallback when they cannot be built."""

import os
import subprocess
import sys

import pytest
import torch

import rnnkit
from rnnkit import GRUCell, LSTMCell
from rnnkit.kernels import GRUFunction, LSTMFunction, RNNFunction, native, reference_sequence

needs_native = pytest.mark.skipif(
    native.library() is None, reason=f"native kernels unavailable: {native.status()}"
)
F32 = dict(rtol=2e-5, atol=2e-5)


def _inputs(G, T, B, I, H, bias, scale=0.5):
    x = torch.randn(T, B, I, requires_grad=True)
    h0 = torch.randn(B, H, requires_grad=True)
    c0 = torch.randn(B, H, requires_grad=True)
    ps = [torch.randn(G * H, I) * scale, torch.randn(G * H, H) * scale]
    ps += [torch.randn(G * H) * scale, torch.randn(G * H) * scale] if bias else [None, None]
    return x, h0, c0, [p.requires_grad_() if p is not None else None for p in ps]


def _grads(loss, tensors):
    live = [t for t in tensors if t is not None]
    return torch.autograd.grad(loss, live)


def _as_accurate(ours, python, exact, slack=1e-6):
    """Each float32 result of the native loop is as close to float64 as the Python kernel's
    (within 4x, plus slack relative to the value's scale). `python` holds several float32
    evaluations of the Python kernel in different summation orders (`_python_orders`), and the
    yardstick is their worst error: one float32 path alone lands close to float64 by luck, and
    its error varies 3x from seed to seed (15x over 40 chaotic steps), so comparing with one
    would test luck."""
    for i, (nat, ex) in enumerate(zip(ours, exact)):
        assert torch.isfinite(nat).all()
        scale = max(1.0, ex.abs().max().item())
        err_nat = (nat.double() - ex).abs().max().item()
        err_py = max((py[i].double() - ex).abs().max().item() for py in python)
        assert err_nat <= 4 * err_py + slack * scale, (i, err_nat, err_py, scale)


def _permuted(args, G, H, order):
    """The same network with its hidden units renumbered by `order` (within each of the G gate
    blocks): equal in exact arithmetic, rounded in another order in float32. Built by indexing
    the leaves, so autograd's gradients are with respect to the original tensors."""
    rows = torch.cat([g * H + order for g in range(G)])
    x, states, (w_ih, w_hh, b_ih, b_hh) = args[0], args[1:-4], args[-4:]
    return [x, *(s[:, order] for s in states), w_ih[rows], w_hh[rows][:, order],
            *(None if b is None else b[rows] for b in (b_ih, b_hh))]


def _run(fn, leaves, weights, G, order=None, extra=()):
    """Outputs of fn and the gradients of a weighted sum of them, hidden units renumbered by
    `order` inside and back outside."""
    args = leaves if order is None else _permuted(leaves, G, weights[0].shape[-1], order)
    outs = fn.apply(*args, *extra)
    outs = outs if isinstance(outs, tuple) else (outs,)
    if order is not None:
        back = torch.argsort(order)
        outs = tuple(o[..., back] for o in outs)
    loss = sum((o * w.to(o)).sum() for o, w in zip(outs, weights))
    return (*outs, *_grads(loss, leaves))


def _python_orders(fn, leaves, weights, G, extra=(), orders=4):
    """The Python kernel in float32 as given and with `orders` renumberings of the hidden units."""
    H = weights[0].shape[-1]
    perms = [torch.randperm(H, generator=torch.Generator().manual_seed(k)) for k in range(orders)]
    return [_run(fn, leaves, weights, G, order, extra) for order in [None, *perms]]


def _check_native(native_fn, python_fn, G, leaves, weights, extra=()):
    _as_accurate(_run(native_fn, leaves, weights, G, extra=extra),
                 _python_orders(python_fn, leaves, weights, G, extra),
                 _run(python_fn, _in64(leaves), weights, G, extra=extra))


def _in64(tensors):
    return [None if t is None else t.detach().double().requires_grad_() for t in tensors]


def test_native_builds_where_it_can():
    """Where a compiler and PyTorch's MKL exist (CI's machines), the native loop must build:
    a compile error must fail here, not silently skip every other test in this file."""
    import ctypes
    import platform
    import shutil
    from pathlib import Path

    lib = Path(torch.__file__).parent / "lib" / "libtorch_cpu.so"
    compiler = os.environ.get("CXX") or shutil.which("g++") or shutil.which("c++")
    if platform.system() != "Linux" or compiler is None or not lib.exists():
        pytest.skip("no compiler or no libtorch_cpu.so here")
    if not hasattr(ctypes.CDLL(str(lib)), "cblas_sgemm_compute"):
        pytest.skip("this PyTorch does not export MKL's packed sgemm")
    if os.environ.get("RNNKIT_NATIVE") == "0":
        pytest.skip("disabled by RNNKIT_NATIVE=0")
    assert native.library() is not None, native.status()


@needs_native
def test_status_names_the_native_path():
    assert native.status().startswith("native")
    x = torch.zeros(2, 2)
    assert native.usable(x)
    assert not native.usable(x.double())
    with native.disabled():
        assert not native.usable(x)
    assert native.usable(x)


@needs_native
def test_whole_loop_in_cpp_where_mkl_keeps_up_with_onednn():
    def w(g, h):
        return torch.zeros(g * h, h)

    assert native.whole_loop_in_cpp(32, w(4, 256))  # 1 MB weight: MKL as fast as oneDNN
    assert native.whole_loop_in_cpp(128, w(3, 256))
    assert not native.whole_loop_in_cpp(32, w(4, 512))  # 4 MB: oneDNN streams it faster
    assert not native.whole_loop_in_cpp(2, w(4, 1024))
    assert native.whole_loop_in_cpp(1, w(4, 1024))  # batch 1: MKL's packed product is faster
    assert native.chosen(32, w(4, 512))  # Python loop, oneDNN product, C++ steps
    assert not native.chosen(1, w(4, 64).double())
    assert not native.chosen(0, w(4, 64))


@needs_native
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T,B,I,H", [(1, 1, 3, 4), (6, 3, 5, 7), (40, 2, 4, 33), (5, 17, 8, 64),
                                     (5, 3, 4, 257), (1, 2, 3, 257),  # H 257: oneDNN product
                                     (30, 1, 5, 37), (12, 1, 6, 64),  # batch 1: own gemv
                                     (8, 4, 3, 40), (6, 7, 5, 21)])  # up to 16 rows: own too
def test_lstm_native_equals_python_kernel(T, B, I, H, bias):
    x, h0, c0, ps = _inputs(4, T, B, I, H, bias)
    # A loss on every h and every c: dcs reaches the kernel, as when the layer gathers final
    # cell states at each row's own length.
    weights = [torch.randn(T, B, H), torch.randn(T, B, H)]
    _check_native(native.NativeLSTMFunction, LSTMFunction, 4, [x, h0, c0, *ps], weights)


@needs_native
def test_lstm_native_loss_on_cells_only_and_on_outputs_only():
    x, h0, c0, ps = _inputs(4, 5, 3, 4, 6, True)
    for pick in (0, 1):
        got = []
        for fn in (native.NativeLSTMFunction, LSTMFunction):
            loss = fn.apply(x, h0, c0, *ps)[pick].square().sum()
            got.append(_grads(loss, [x, h0, c0, *ps]))
        for a, b in zip(*got):
            torch.testing.assert_close(a, b, **F32)


@needs_native
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T,B,I,H", [(1, 1, 3, 4), (6, 3, 5, 7), (40, 2, 4, 33), (5, 17, 8, 64),
                                     (5, 3, 4, 300), (1, 2, 3, 300),  # H 300: oneDNN product
                                     (30, 1, 5, 37), (12, 1, 6, 64)])  # batch 1: own gemv
def test_gru_native_equals_python_kernel(T, B, I, H, bias):
    x, h0, _, ps = _inputs(3, T, B, I, H, bias)
    _check_native(native.NativeGRUFunction, GRUFunction, 3, [x, h0, *ps], [torch.randn(T, B, H)])


@needs_native
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("T,B,I,H", [(1, 1, 3, 4), (6, 3, 5, 7), (40, 2, 4, 33), (5, 17, 8, 300),
                                     (4, 2, 3, 513), (1, 1, 3, 513),  # H 513, B 2: oneDNN
                                     (30, 1, 5, 37), (12, 1, 6, 150)])  # batch 1: own gemv
def test_rnn_native_equals_python_kernel(T, B, I, H, bias, relu):
    x, h0, _, ps = _inputs(1, T, B, I, H, bias)
    _check_native(native.NativeRNNFunction, RNNFunction, 1, [x, h0, *ps], [torch.randn(T, B, H)],
                  extra=(relu,))


@needs_native
@pytest.mark.parametrize("relu", [False, True])
def test_rnn_rows_split_between_threads(relu):
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert native.library().rnnkit_max_threads() == 2
        x, h0, _, ps = _inputs(1, 6, 33, 5, 128, True, scale=0.2)
        _check_native(native.NativeRNNFunction, RNNFunction, 1, [x, h0, *ps],
                      [torch.randn(6, 33, 128)], extra=(relu,))
    finally:
        torch.set_num_threads(before)


@needs_native
@pytest.mark.parametrize("fns", [(native.NativeLSTMFunction, LSTMFunction, 4),
                                 (native.NativeGRUFunction, GRUFunction, 3)])
def test_rows_split_between_threads(fns):
    """Steps with at least 4096 elements split their rows between OpenMP threads (CI runs with
    one thread, so this test asks for two)."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert native.library().rnnkit_max_threads() == 2  # the same OpenMP pool as PyTorch
        ours, theirs, G = fns
        x, h0, c0, ps = _inputs(G, 6, 33, 5, 128, True, scale=0.2)
        args = (x, h0, c0, *ps) if G == 4 else (x, h0, *ps)
        w = torch.randn(6, 33, 128)
        got = []
        for fn in (ours, theirs):
            out = fn.apply(*args)
            hs = out[0] if G == 4 else out
            got.append((hs, *_grads((hs * w).sum(), list(args))))
        for a, b in zip(*got):
            torch.testing.assert_close(a, b, **F32)
    finally:
        torch.set_num_threads(before)


@needs_native
@pytest.mark.parametrize("threads", [2, 3, 6])
@pytest.mark.parametrize("T,B,I,H", [(20, 1, 5, 128), (9, 5, 4, 64), (6, 16, 3, 100),
                                     (7, 2, 3, 66), (5, 3, 2, 200)])
def test_lstm_hidden_units_split_between_threads(T, B, I, H, threads):
    """Up to 16 rows with a small recurrent weight, the LSTM's whole loop splits its hidden
    units between the threads (gemv.h's products, one barrier a step): every row block of four,
    two and one, uneven shares and column tails, a thread with no units (H 200 in 6 threads:
    five shares of 48 cover it), dcs, dh0 and dc0 all reach the split loop."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert native.library().rnnkit_max_threads() == threads
        x, h0, c0, ps = _inputs(4, T, B, I, H, True, scale=0.3)
        weights = [torch.randn(T, B, H), torch.randn(T, B, H)]
        _check_native(native.NativeLSTMFunction, LSTMFunction, 4, [x, h0, c0, *ps], weights)
    finally:
        torch.set_num_threads(before)


@needs_native
@pytest.mark.parametrize("waits", [1, 2, 7])
@pytest.mark.parametrize("T,B,H", [(20, 1, 128), (9, 3, 200)])
def test_lstm_split_loop_left_for_contended_cores_agrees(T, B, H, waits):
    """When the barriers find the cores contended, the team leaves the split loop and thread 0
    finishes the sequence alone (forward: after a whole step; backward: between a step's gate
    gradients and its product). Forced here after `waits` barriers of every loop."""
    lib = native.library()
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    lib.rnnkit_split_stop_after(waits)
    try:
        x, h0, c0, ps = _inputs(4, T, B, 4, H, True, scale=0.3)
        weights = [torch.randn(T, B, H), torch.randn(T, B, H)]
        _check_native(native.NativeLSTMFunction, LSTMFunction, 4, [x, h0, c0, *ps], weights)
        assert lib.rnnkit_split_contended() >= 2  # the forward and the backward loop
    finally:
        lib.rnnkit_split_stop_after(-1)
        torch.set_num_threads(before)


@needs_native
@pytest.mark.parametrize("make", [lambda: LSTMCell(5, 16), lambda: GRUCell(5, 16)])
def test_native_equals_autograd_reference_in_float64_terms(make):
    """The float32 native loop against autograd over the cell's step in float64 (the ground
    truth), so both float32 paths are held to the same standard."""
    cell = make()
    x = torch.randn(30, 4, 5)
    state = cell.initial_state(4)
    state = type(state)(*(torch.randn_like(s) for s in state)) if isinstance(
        state, tuple) else torch.randn_like(state)
    out, _ = cell.kernel()(cell, x.requires_grad_(), state)
    g = _grads(out.square().sum(), [x, *cell.parameters()])
    c64 = make().double()
    c64.load_state_dict(cell.state_dict())
    x64 = x.detach().double().requires_grad_()
    s64 = type(state)(*(s.double() for s in state)) if isinstance(
        state, tuple) else state.double()
    out64, _ = reference_sequence(c64, x64, s64)
    g64 = _grads(out64.square().sum(), [x64, *c64.parameters()])
    torch.testing.assert_close(out, out64.float(), **F32)
    for a, b in zip(g, g64):
        torch.testing.assert_close(a, b.float(), rtol=1e-4, atol=1e-4)


@needs_native
@pytest.mark.parametrize("cls", [rnnkit.LSTM, rnnkit.GRU, rnnkit.RNN,
                                 lambda *a, **k: rnnkit.RNN(*a, nonlinearity="relu", **k)])
def test_layer_with_lengths_two_layers_bidirectional_matches_python(cls):
    layer = cls(6, 12, num_layers=2, bidirectional=True, backend="kernel")
    x = torch.randn(4, 9, 6, requires_grad=True)
    lengths = torch.tensor([9, 3, 7, 1])
    got = []
    for ctx in (native.disabled, _nothing):
        with ctx():
            out, final = layer(x, lengths=lengths)
            leaves = final if isinstance(final, tuple) else (final,)
            loss = out.square().sum() + sum(s.sin().sum() for s in leaves)
            got.append((out, *leaves, *_grads(loss, [x, *layer.parameters()])))
    for a, b in zip(*got):
        torch.testing.assert_close(a, b, **F32)


@needs_native
def test_non_finite_inputs_propagate():
    """Compiled with -ffast-math, the loop must still turn a NaN input into NaN outputs and
    saturate (not overflow) on huge pre-activations."""
    layer = rnnkit.LSTM(3, 4, backend="kernel")
    x = torch.zeros(1, 3, 3)
    x[0, 1, 0] = float("nan")
    out, _ = layer(x)
    assert torch.isfinite(out[0, 0]).all() and torch.isnan(out[0, 1:]).all()
    big, _ = layer(torch.full((1, 2, 3), 1e6))
    small, _ = layer(torch.full((1, 2, 3), -1e6))
    assert torch.isfinite(big).all() and torch.isfinite(small).all()
    assert big.abs().max() <= 1 and small.abs().max() <= 1


@needs_native
@pytest.mark.parametrize("scale", [30.0, 60.0, 100.0, 1e3, 1e5])
@pytest.mark.parametrize("fns", [(native.NativeLSTMFunction, LSTMFunction, 4),
                                 (native.NativeGRUFunction, GRUFunction, 3)])
def test_saturated_gates_stay_finite(fns, scale):
    """Pre-activations far beyond exp's float range (|a| > 88) saturate the gates: outputs and
    gradients stay finite and equal the Python kernels' (a first build with -ffast-math and
    glibc's vector exp returned NaN from about |a| = 50)."""
    ours, theirs, G = fns
    x, h0, c0, ps = _inputs(G, 4, 3, 5, 8, True, scale=scale)
    args = (x, h0, c0, *ps) if G == 4 else (x, h0, *ps)
    args64 = _in64(args)
    got = []
    for fn, a in ((ours, args), (theirs, args), (theirs, args64)):
        out = fn.apply(*a)
        hs = out[0] if G == 4 else out
        got.append((hs, *_grads(hs.sum(), list(a))))
    # Saturated gates keep only a few bits of sigma'(a) and 1 - tanh(a)^2 in float32 (both
    # paths store the activations), so the gradients agree with float64 to a few percent.
    for nat, exact in zip(got[0], got[2]):
        assert torch.isfinite(nat).all()
        assert (nat.double() - exact).abs().max() <= 0.05 * exact.abs().max() + 1e-6


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _python(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env},
    )


_PROBE = (
    "import torch, rnnkit\n"
    "from rnnkit.kernels import native\n"
    "print(native.status())\n"
    "out, _ = rnnkit.LSTM(3, 4, backend='kernel')(torch.randn(2, 5, 3))\n"
    "out.sum().backward() if out.requires_grad else None\n"
    "print(tuple(out.shape))\n"
)


def test_disabled_by_environment_falls_back():
    res = _python(_PROBE, RNNKIT_NATIVE="0")
    assert res.returncode == 0, res.stderr
    assert "python (native unavailable: disabled by RNNKIT_NATIVE=0)" in res.stdout
    assert "(2, 5, 4)" in res.stdout


def test_failed_compilation_falls_back(tmp_path):
    """A broken compiler must not break the library: the Python kernels run, and status says
    why the native loop is missing."""
    res = _python(_PROBE, CXX="/bin/false", RNNKIT_CACHE=str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert "python (native unavailable:" in res.stdout and "failed" in res.stdout
    assert "(2, 5, 4)" in res.stdout
    assert not list(tmp_path.glob("*.so"))


@needs_native
def test_compiler_command_with_a_wrapper(tmp_path):
    """CXX may be a command line ("ccache g++", "env X=1 g++"), as make accepts it."""
    import shutil

    gxx = shutil.which("g++") or shutil.which("c++")
    if gxx is None:
        pytest.skip("no g++ here")
    res = _python(_PROBE, RNNKIT_CACHE=str(tmp_path), CXX=f"env RNNKIT_TEST=1 {gxx}")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("native"), res.stdout


@needs_native
def test_builds_into_the_cache_directory(tmp_path):
    res = _python(_PROBE, RNNKIT_CACHE=str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("native")
    assert len(list(tmp_path.glob("native-*.so"))) == 1


@needs_native
@pytest.mark.parametrize("error", [
    PermissionError(13, "Permission denied"),  # a read-only home
    OSError(30, "Read-only file system"),  # EROFS: an OSError but not a PermissionError
], ids=["permission", "read-only-fs"])
def test_unwritable_cache_builds_into_the_temporary_directory(tmp_path, monkeypatch, error):
    """A cache folder that cannot be written must not cost the native loop: it is built under
    the temporary directory instead."""
    cache, tmp = tmp_path / "cache", tmp_path / "tmp"
    tmp.mkdir()
    real = native._compile

    def compile_(compiler, target):
        if cache in target.parents:
            raise type(error)(error.errno, error.strerror, str(target.parent))
        return real(compiler, target)

    monkeypatch.setenv("RNNKIT_CACHE", str(cache))
    monkeypatch.setattr(native, "_compile", compile_)
    monkeypatch.setattr(native.tempfile, "gettempdir", lambda: str(tmp))
    lib = native._load()
    assert lib.rnnkit_abi_version() == native._ABI
    assert list(tmp.glob("rnnkit-*/native-*.so")) and not cache.exists()


def test_cache_key_includes_the_cpu_flags(tmp_path):
    """-march=native depends on the CPU's feature flags: two machines that report the same
    model name (usual for virtual machines) but different flags must not share a cached
    library (the first version keyed on the model name line alone, so an AVX-512 build could
    be loaded where AVX-512 is missing)."""
    ids = []
    for flags in ("fpu sse2 avx2", "fpu sse2 avx2 avx512f"):
        info = tmp_path / f"cpuinfo-{len(ids)}"
        info.write_text(f"processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: {flags}\n\n"
                        f"processor\t: 1\nmodel name\t: AMD EPYC\nflags\t\t: {flags}\n")
        ids.append(native._cpu_id(str(info)))
    assert ids[0] != ids[1]
    assert "avx512f" in ids[1] and "AMD EPYC" in ids[1]
