"""rnnkit.RNN / LSTM / GRU against torch.nn: outputs, final states and every gradient, on every
backend; state dicts load both ways."""

import pytest
import torch
from tests.helpers import pair
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import rnnkit
from rnnkit.kernels import common

F64 = torch.float64
I, H = 3, 4

# Configurations sampled from L x D x lengths x state x (B, T): each backend and kind meets
# every value of every axis, without the full cartesian product.
#          (L, bidir, lengths, state, B, T)
CONFIGS = [
    (1, False, False, False, 3, 5),
    (1, True, True, True, 4, 6),
    (2, False, True, True, 5, 7),
    (2, True, False, True, 1, 4),  # batch 1
    (3, True, True, False, 4, 5),
    (3, False, False, True, 2, 1),  # T = 1
    (2, True, True, True, 3, 1),  # T = 1 with lengths (all 1)
    (1, False, True, False, 1, 6),  # batch 1 with lengths
]
CASES = [
    pytest.param(kind, backend, *cfg, id=f"{kind}-{backend}-L{cfg[0]}"
                 f"{'-bi' if cfg[1] else ''}{'-len' if cfg[2] else ''}"
                 f"{'-h0' if cfg[3] else ''}-B{cfg[4]}T{cfg[5]}")
    for kind in ("rnn", "lstm", "gru")
    for backend in ("kernel", "reference", "torch")
    for cfg in CONFIGS
]


def make_lengths(B, T, gen=None):
    """Unsorted lengths in [1, T] with a row of length 1 and a row of full length (B >= 2)."""
    if B == 1:
        return torch.tensor([max(1, T - 2)])
    lengths = torch.randint(1, T + 1, (B,), generator=gen)
    lengths[0], lengths[1] = 1, T
    return lengths[torch.randperm(B, generator=gen)]


def run_both(kind, backend, L, bidir, use_lengths, use_state, B, T, dtype=F64, **kw):
    ref, ours = pair(kind, I, H, dtype=dtype, backend=backend, num_layers=L,
                     bidirectional=bidir, **kw)
    D = 2 if bidir else 1
    x = torch.randn(B, T, I, dtype=dtype, requires_grad=True)
    leaves = []
    if use_state:
        leaves = [torch.randn(L * D, B, H, dtype=dtype, requires_grad=True)
                  for _ in range(2 if kind == "lstm" else 1)]
    state = None if not leaves else tuple(leaves) if kind == "lstm" else leaves[0]
    lengths = make_lengths(B, T) if use_lengths else None

    out, final = ours(x, state, lengths=lengths)
    if lengths is None:
        ref_out, ref_final = ref(x, state)
    else:
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        ref_packed, ref_final = ref(packed, state)
        ref_out, _ = pad_packed_sequence(ref_packed, batch_first=True, total_length=T)
    return ref, ours, x, leaves, lengths, (out, final), (ref_out, ref_final)


def flat(state):
    return list(state) if isinstance(state, tuple) else [state]


def check_all(ref, ours, x, leaves, got, want, rtol, atol):
    (out, final), (ref_out, ref_final) = got, want
    torch.testing.assert_close(out, ref_out, rtol=rtol, atol=atol)
    assert len(flat(final)) == len(flat(ref_final))
    for a, b in zip(flat(final), flat(ref_final)):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)

    names = [n for n, _ in ref.named_parameters()]
    ours_params = [getattr(ours, n) for n in names]  # torch.nn attribute names work on ours
    w_out = torch.randn_like(out)
    w_fin = [torch.randn_like(f) for f in flat(final)]

    def loss(o, fin):
        return (o * w_out).sum() + sum((f * w).sum() for f, w in zip(flat(fin), w_fin))

    inputs = [x, *leaves]
    g_ours = torch.autograd.grad(loss(out, final), inputs + ours_params)
    g_ref = torch.autograd.grad(loss(ref_out, ref_final), inputs + list(ref.parameters()))
    labels = ["x"] + [f"state{k}" for k in range(len(leaves))] + names
    for label, a, b in zip(labels, g_ours, g_ref):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol, msg=lambda m, n=label: f"{n}: {m}")


@pytest.mark.parametrize("kind,backend,L,bidir,use_lengths,use_state,B,T", CASES)
def test_parity_with_torch_nn(kind, backend, L, bidir, use_lengths, use_state, B, T):
    ref, ours, x, leaves, lengths, got, want = run_both(
        kind, backend, L, bidir, use_lengths, use_state, B, T)
    D = 2 if bidir else 1
    out, final = got
    assert out.shape == (B, T, D * H)
    for f in flat(final):
        assert f.shape == (L * D, B, H)
    if kind == "lstm":
        assert type(final).__name__ == "LSTMState"
    if lengths is not None:
        pad = torch.arange(T).unsqueeze(0) >= lengths.unsqueeze(1)  # (B, T)
        assert not out[pad].any()
    check_all(ref, ours, x, leaves, got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("backend", ["kernel", "reference", "torch"])
@pytest.mark.parametrize("kind,kw", [
    ("rnn", dict(nonlinearity="relu")),
    ("rnn", dict(bias=False)),
    ("lstm", dict(bias=False)),
    ("gru", dict(bias=False)),
], ids=["rnn-relu", "rnn-nobias", "lstm-nobias", "gru-nobias"])
def test_parity_variants(kind, kw, backend):
    ref, ours, x, leaves, lengths, got, want = run_both(
        kind, backend, 2, True, True, True, 4, 6, **kw)
    check_all(ref, ours, x, leaves, got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_float32_large_kernel(kind):
    """B=64, H=300: the recurrent product runs through oneDNN's packed weights."""
    B, T, I32, H32 = 64, 5, 16, 300
    ref, ours = pair(kind, I32, H32, dtype=torch.float32, backend="kernel")
    assert ours.resolve_backend(torch.device("cpu")) == "kernel"
    if not common._can_pack(ours.weight_hh_l0, B):
        pytest.skip("oneDNN packed weights are not available in this torch build")
    x = torch.randn(B, T, I32, requires_grad=True)
    out, final = ours(x)
    ref_out, ref_final = ref(x)
    check_all(ref, ours, x, [], (out, final), (ref_out, ref_final), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("L,bidir,bias", [(1, False, True), (2, True, True), (3, True, False)])
def test_state_dict_round_trip(kind, L, bidir, bias):
    ref, ours = pair(kind, I, H, num_layers=L, bidirectional=bidir, bias=bias)  # torch -> ours
    sd_ref, sd_ours = ref.state_dict(), ours.state_dict()
    assert list(sd_ours) == list(sd_ref)  # same keys, same (torch.nn flat) order
    for k in sd_ref:
        assert torch.equal(sd_ours[k], sd_ref[k]), k
        assert getattr(ours, k) is ours.cells[_index(k, bidir)].get_parameter(k.split("_l")[0])
    back = type(ref)(I, H, num_layers=L, bidirectional=bidir, bias=bias, batch_first=True)
    back = back.to(F64)
    assert back.load_state_dict(sd_ours)  # ours -> torch.nn, strict
    for k, v in back.state_dict().items():
        assert torch.equal(v, sd_ref[k]), k


def _index(key, bidir):
    layer = int(key.split("_l")[1].split("_")[0])
    return layer * (2 if bidir else 1) + key.endswith("_reverse")


def test_torch_attribute_names():
    ref, ours = pair("lstm", I, H, num_layers=2, bidirectional=True)
    assert ours.weight_hh_l0 is ours.cells[0].weight_hh
    assert ours.weight_ih_l1_reverse is ours.cells[3].weight_ih
    assert ours.weight_ih_l1_reverse.shape == (4 * H, 2 * H)
    assert torch.equal(ours.bias_hh_l1_reverse, ref.bias_hh_l1_reverse)
    for missing in ("weight_ih_l2", "weight_ih_l5_reverse", "nonsense_l0", "nonsense"):
        with pytest.raises(AttributeError):
            getattr(ours, missing)


def test_reverse_names_do_not_alias_the_next_layer():
    """A unidirectional layer has no _reverse weights: such names must not reach layer 1."""
    uni = pair("gru", H, H, num_layers=2)[1]
    with pytest.raises(AttributeError):
        uni.weight_ih_l0_reverse  # noqa: B018
    bi = torch.nn.GRU(H, H, bidirectional=True, batch_first=True).to(F64)
    with pytest.raises(RuntimeError, match="weight_ih_l0_reverse"):
        uni.load_state_dict(bi.state_dict())
    # And a deeper state dict does not load into a shallower layer.
    deep = torch.nn.GRU(H, H, num_layers=3, batch_first=True).to(F64)
    with pytest.raises(RuntimeError, match="weight_ih_l2"):
        uni.load_state_dict(deep.state_dict())


def test_nested_state_dict_round_trip():
    """Inside a parent module the torch.nn names keep the parent's prefix."""
    ref = torch.nn.ModuleDict({"enc": torch.nn.LSTM(I, H, 2, bidirectional=True,
                                                    batch_first=True)})
    ours = torch.nn.ModuleDict({"enc": rnnkit.LSTM(I, H, 2, bidirectional=True)})
    ours.load_state_dict(ref.state_dict())
    assert list(ours.state_dict()) == list(ref.state_dict())
    assert all("enc.weight" in k or "enc.bias" in k for k in ours.state_dict())
    for k, v in ours.state_dict().items():
        assert torch.equal(v, ref.state_dict()[k])
