"""rnnkit.LSTM(proj_size=P) against torch.nn.LSTM(proj_size=P): outputs, h, c and every
gradient by name, with initial states and lengths, on every backend; names, state dicts both
ways, bad proj_size, gradcheck, the backend it runs on."""

import logging

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.cells.lstm_proj import ProjLSTMCell
from rnnkit.layers import fallback

F64 = torch.float64
I, H, P = 3, 5, 2
CPU = torch.device("cpu")

#          (L, bidir, lengths, state, B, T)
CONFIGS = [
    (1, False, False, False, 3, 5),
    (1, True, True, True, 4, 6),
    (2, False, True, True, 5, 7),
    (2, True, False, True, 2, 4),
    (2, True, True, False, 4, 5),
    (1, False, True, True, 1, 1),  # B = T = 1
]
CASES = [
    pytest.param(backend, *cfg, id=f"{backend}-L{cfg[0]}{'-bi' if cfg[1] else ''}"
                 f"{'-len' if cfg[2] else ''}{'-h0' if cfg[3] else ''}-B{cfg[4]}T{cfg[5]}")
    for backend in ("auto", "kernel", "reference", "torch")
    for cfg in CONFIGS
]


def make_pair(L, bidir, bias=True, backend="auto", dtype=F64):
    ref = torch.nn.LSTM(I, H, num_layers=L, bidirectional=bidir, bias=bias, proj_size=P,
                        batch_first=True).to(dtype)
    ours = rnnkit.LSTM(I, H, num_layers=L, bidirectional=bidir, bias=bias, proj_size=P,
                       backend=backend).to(dtype)
    assert ours.load_state_dict(ref.state_dict()).missing_keys == []
    return ref, ours


def make_lengths(B, T):
    if B == 1:
        return torch.tensor([max(1, T - 2)])
    lengths = torch.randint(1, T + 1, (B,))
    lengths[0], lengths[1] = 1, T
    return lengths[torch.randperm(B)]


def run_ref(ref, x, state, lengths):
    if lengths is None:
        return ref(x, state)
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    out, final = ref(packed, state)
    return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0], final


def check_against_torch(ref, ours, L, D, use_lengths, use_state, B, T, bias=True):
    x = torch.randn(B, T, I, dtype=F64, requires_grad=True)
    leaves = []
    if use_state:
        leaves = [torch.randn(L * D, B, n, dtype=F64, requires_grad=True) for n in (P, H)]
    state = tuple(leaves) if leaves else None
    lengths = make_lengths(B, T) if use_lengths else None
    out, final = ours(x, state, lengths=lengths)
    ref_out, ref_final = run_ref(ref, x, state, lengths)

    assert out.shape == (B, T, D * P) and type(final).__name__ == "LSTMState"
    assert final.h.shape == (L * D, B, P) and final.c.shape == (L * D, B, H)
    tol = dict(rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(out, ref_out, **tol)
    torch.testing.assert_close(final.h, ref_final[0], **tol)
    torch.testing.assert_close(final.c, ref_final[1], **tol)

    names = [n for n, _ in ref.named_parameters()]
    assert names == [n for n, _ in ours.named_parameters()]
    w = [torch.randn_like(t) for t in (out, final.h, final.c)]

    def loss(o, fin):
        return sum((a * b).sum() for a, b in zip((o, *fin), w))

    inputs = [x, *leaves]
    g_ours = torch.autograd.grad(loss(out, final), inputs + [p for _, p in ours.named_parameters()])
    g_ref = torch.autograd.grad(loss(ref_out, ref_final), inputs + list(ref.parameters()))
    labels = ["x", *[f"state{k}" for k in range(len(leaves))], *names]
    for label, a, b in zip(labels, g_ours, g_ref):
        torch.testing.assert_close(a, b, **tol, msg=lambda m, n=label: f"{n}: {m}")


@pytest.mark.parametrize("backend,L,bidir,use_lengths,use_state,B,T", CASES)
def test_parity_with_torch_nn(backend, L, bidir, use_lengths, use_state, B, T):
    torch.manual_seed(L * 100 + B * 10 + T)
    ref, ours = make_pair(L, bidir, backend=backend)
    check_against_torch(ref, ours, L, 2 if bidir else 1, use_lengths, use_state, B, T)


@pytest.mark.parametrize("backend", ["kernel", "reference", "torch"])
def test_parity_without_bias(backend):
    torch.manual_seed(1)
    ref, ours = make_pair(2, True, bias=False, backend=backend)
    assert "weight_hr_l1_reverse" in ours.state_dict() and "bias_ih_l0" not in ours.state_dict()
    check_against_torch(ref, ours, 2, 2, True, True, 4, 6)


@pytest.mark.filterwarnings("ignore:LSTM with projections")  # torch.nn's own, float32
def test_names_shapes_and_state_dict_both_ways():
    torch.manual_seed(0)
    ref = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P, batch_first=True)
    ours = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P)
    assert list(ours.state_dict()) == list(ref.state_dict())  # same keys, same order
    for (n, p), (rn, rp) in zip(ours.named_parameters(), ref.named_parameters()):
        assert n == rn and p.shape == rp.shape, (n, rn)
    assert ours.weight_hh_l1.shape == (4 * H, P) and ours.weight_ih_l1.shape == (4 * H, 2 * P)
    assert ours.cells[3].weight_hr is ours.weight_hr_l1_reverse
    assert ours.proj_size == P and ours.hidden_size == H
    ours.load_state_dict(ref.state_dict())  # torch.nn -> rnnkit
    other = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P, batch_first=True)
    other.load_state_dict(ours.state_dict())  # rnnkit -> torch.nn
    for k, v in ref.state_dict().items():
        assert torch.equal(other.state_dict()[k], v), k
    x = torch.randn(2, 4, I)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[0], other(x)[0])
    a, b = rnnkit.LSTM(I, H, proj_size=P), rnnkit.LSTM(I, H, proj_size=P)  # rnnkit -> rnnkit
    b.load_state_dict(a.state_dict())
    assert torch.equal(a.weight_hr_l0, b.weight_hr_l0)


def test_init_matches_torch_nn_bounds():
    lstm = rnnkit.LSTM(I, 100, proj_size=P)
    bound = 1 / 100 ** 0.5
    for name, p in lstm.named_parameters():
        assert p.abs().max() <= bound and p.std() > bound / 4, name


@pytest.mark.parametrize("proj_size,kind,match", [
    (-1, ValueError, "proj_size should be a positive integer or zero"),
    (H, ValueError, "proj_size has to be smaller than hidden_size"),
    (H + 3, ValueError, "proj_size has to be smaller than hidden_size"),
    (1.5, TypeError, "proj_size should be of type int"),
])
def test_bad_proj_size_raises_like_torch_nn(proj_size, kind, match):
    if not isinstance(proj_size, float):  # torch.nn raises the same kind
        with pytest.raises(kind):
            torch.nn.LSTM(I, H, proj_size=proj_size)
    with pytest.raises(kind, match=match):
        rnnkit.LSTM(I, H, proj_size=proj_size)
    with pytest.raises(ValueError):
        ProjLSTMCell(I, H, proj_size=0)


def test_proj_size_zero_is_the_plain_lstm():
    lstm = rnnkit.LSTM(I, H, proj_size=0)
    assert type(lstm.cells[0]) is rnnkit.LSTMCell
    assert lstm.resolve_backend(CPU) == "kernel"


def test_backends_agree_and_auto_is_the_kernel():
    torch.manual_seed(3)
    lstm = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P).double()
    x, lengths = torch.randn(4, 6, I, dtype=F64), torch.tensor([6, 2, 5, 1])
    assert lstm.resolve_backend(CPU) == "kernel"
    with torch.no_grad():
        assert lstm.resolve_backend(CPU) == "kernel"  # oneDNN has no projected LSTM
    assert lstm.resolve_backend(torch.device("cuda")) == "torch"  # cuDNN has one
    results = {}
    for backend in ("auto", "kernel", "reference", "torch"):
        lstm.backend = backend
        results[backend] = lstm(x, lengths=lengths)
    for backend in ("kernel", "reference", "torch"):
        (o, (h, c)), (o2, (h2, c2)) = results["auto"], results[backend]
        for a, b in ((o, o2), (h, h2), (c, c2)):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_auto_is_cudnn_and_agrees_with_the_kernel():
    torch.manual_seed(4)
    lstm = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P).double()
    x, lengths = torch.randn(4, 6, I, dtype=F64), torch.tensor([6, 2, 5, 1])
    out, (h, c) = lstm(x, lengths=lengths)
    lstm.cuda()
    assert lstm.resolve_backend(torch.device("cuda")) == "torch"
    out_c, (h_c, c_c) = lstm(x.cuda(), lengths=lengths)
    for a, b in ((out, out_c), (h, h_c), (c, c_c)):
        torch.testing.assert_close(a, b.cpu(), rtol=1e-9, atol=1e-10)


class _NoKernelYet(ProjLSTMCell):
    no_kernel_reason = "this variant has no hand-written kernel yet"

    def kernel(self):
        return None


def test_a_cell_without_kernel_says_why_once(caplog, monkeypatch):
    monkeypatch.setattr(fallback, "_NOTED", set())  # the note is logged once per process
    layer = rnnkit.Recurrent(_NoKernelYet(I, H, proj_size=P))
    assert layer.resolve_backend(CPU) == "traced"  # its step compiled (kernels/traced)
    monkeypatch.setenv("RNNKIT_TRACED", "0")  # without that path: the reference loop, and why
    with caplog.at_level(logging.INFO, logger="rnnkit"):
        assert layer.resolve_backend(CPU) == "reference"
        assert layer.resolve_backend(CPU) == "reference"
    assert caplog.text.count("_NoKernelYet") == 1 and "no hand-written kernel yet" in caplog.text
    layer.backend = "kernel"
    with pytest.raises(ValueError, match=r"backend='kernel' .*_NoKernelYet.*no hand-written"):
        layer(torch.randn(2, 3, I))


def test_bad_state_shape_says_what_it_expects():
    lstm = rnnkit.LSTM(I, H, proj_size=P)
    x = torch.randn(2, 3, I)
    with pytest.raises(ValueError, match=r"\(1, 2, 2\)"):
        lstm(x, (torch.zeros(1, 2, H), torch.zeros(1, 2, H)))
    cell = lstm.cells[0]
    with pytest.raises(ValueError, match="expects h of shape"):
        cell.step(torch.zeros(2, I), (torch.zeros(2, H), torch.zeros(2, H)))


@pytest.mark.parametrize("backend", ["kernel", "reference"])
def test_gradcheck_float64(backend):
    torch.manual_seed(0)
    lstm = rnnkit.LSTM(2, 3, num_layers=2, bidirectional=True, proj_size=1,
                       backend=backend).double()
    x = torch.randn(2, 3, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(4, 2, 1, dtype=F64, requires_grad=True)
    c0 = torch.randn(4, 2, 3, dtype=F64, requires_grad=True)
    params = list(lstm.parameters())
    names = [n for n, _ in lstm.named_parameters()]
    lengths = torch.tensor([3, 2])

    def fn(x, h0, c0, *ps):
        out = torch.func.functional_call(lstm, dict(zip(names, ps)), (x, (h0, c0)),
                                         {"lengths": lengths})
        return out[0], out[1].h, out[1].c

    assert torch.autograd.gradcheck(fn, (x, h0, c0, *params))


def test_zoneout_wraps_the_projected_cell():
    from rnnkit.layers.zoneout import Zoneout

    layer = rnnkit.Recurrent(Zoneout(ProjLSTMCell(I, H, proj_size=P), 0.1, 0.1), num_layers=2,
                             bidirectional=True)
    out, state = layer(torch.randn(2, 4, I), lengths=torch.tensor([4, 2]))
    assert out.shape == (2, 4, 2 * P) and state.h.shape == (4, 2, P) and state.c.shape == (4, 2, H)


def test_onnx_export_unrolls_the_reference_path():
    """ONNX's LSTM operator has no projection: the traced layer runs its reference loop."""
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    import io

    torch.manual_seed(0)
    lstm = rnnkit.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P).eval()
    x, lengths = torch.randn(2, 4, I), torch.tensor([4, 2])
    f = io.BytesIO()
    torch.onnx.export(lstm, (x, None, lengths), f, dynamo=False,
                      input_names=["x", "lengths"], output_names=["out", "h", "c"])
    session = ort.InferenceSession(f.getvalue())
    out, h, c = session.run(None, {"x": x.numpy(), "lengths": lengths.numpy()})
    with torch.no_grad():
        want_out, (want_h, want_c) = lstm(x, lengths=lengths)
    for got, want in ((out, want_out), (h, want_h), (c, want_c)):
        torch.testing.assert_close(torch.from_numpy(got), want, rtol=1e-5, atol=1e-6)
