"""Regularisers as modules: locked and embedding dropout, weight drop (DropConnect on weight_hh)
on every backend, zoneout, AR/TAR. Each is the identity (zoneout: its expectation) in eval
mode, validates its probabilities, and computes what a hand-written version computes."""

from __future__ import annotations

import copy
import math

import pytest
import torch
from torch import nn

import rnnkit
from rnnkit import Recurrent
from rnnkit.cells import GRUCell, LSTMCell
from rnnkit.layers.regularizers import (
    EmbeddingDropout,
    LockedDropout,
    WeightDrop,
    Zoneout,
    ar_tar_penalty,
)

F64 = torch.float64


# Probabilities --------------------------------------------------------------------------------
def _makers():
    return {
        "dropout": lambda p: LockedDropout(p),
        "embed_dropout": lambda p: EmbeddingDropout(nn.Embedding(5, 2), p),
        "weight_dropout": lambda p: WeightDrop(rnnkit.LSTM(2, 3), p),
        "zoneout_h": lambda p: Zoneout(LSTMCell(2, 3), zoneout_h=p),
        "zoneout_c": lambda p: Zoneout(LSTMCell(2, 3), zoneout_c=p),
    }


@pytest.mark.parametrize("name", list(_makers()))
@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan")])
def test_probabilities_outside_0_1_raise_naming_the_argument(name, p):
    with pytest.raises(ValueError, match=rf"{name} must be a probability in \[0, 1\)"):
        _makers()[name](p)


@pytest.mark.parametrize("name", list(_makers()))
@pytest.mark.parametrize("p", [True, "0.5", None])
def test_probabilities_that_are_not_numbers_raise(name, p):
    with pytest.raises(TypeError, match=name):
        _makers()[name](p)


def test_probabilities_are_stored_as_floats_under_their_names():
    assert LockedDropout(0.25).dropout == 0.25
    assert EmbeddingDropout(nn.Embedding(3, 2), 0).embed_dropout == 0.0
    assert WeightDrop(rnnkit.GRU(2, 3), 0.5).weight_dropout == 0.5
    z = Zoneout(LSTMCell(2, 3), 0.1, 0.2)
    assert (z.zoneout_h, z.zoneout_c) == (0.1, 0.2)


# LockedDropout --------------------------------------------------------------------------------
def test_locked_dropout_is_the_identity_in_eval_and_at_zero():
    x = torch.randn(3, 4, 5)
    assert LockedDropout(0.5).eval()(x) is x
    assert LockedDropout(0.0)(x) is x


def test_locked_dropout_mask_is_constant_over_time_and_rescaled():
    p = 0.4
    x = torch.randn(16, 7, 10, dtype=F64)
    y = LockedDropout(p)(x)
    ratio = y / x  # (B, T, F): the mask
    assert torch.allclose(ratio, ratio[:, :1].expand_as(ratio), atol=1e-12)
    zero, kept = ratio == 0, (ratio - 1 / (1 - p)).abs() < 1e-12
    assert bool((zero | kept).all()) and zero.any() and kept.any()
    m = ratio[:, 0]  # (B, F): differs between sequences, and between calls
    assert not torch.equal(m[0], m[1]) or not torch.equal(m[1], m[2])
    assert not torch.equal(LockedDropout(p)(x), y)


def test_locked_dropout_expectation_is_the_input():
    p, n = 0.3, 4000
    x = torch.randn(4, 5, 6, dtype=F64)
    drop = LockedDropout(p)
    mean = torch.stack([drop(x) for _ in range(n)]).mean(0)
    # Each entry is x * m with var(m) = p / (1 - p): 5 standard errors of the mean.
    tol = 5 * x.abs() * math.sqrt(p / (1 - p) / n)
    assert bool(((mean - x).abs() <= tol + 1e-12).all())
    zeros = (drop(torch.ones(2000, 3, 8)) == 0).double().mean().item()
    assert abs(zeros - p) < 0.02


def test_locked_dropout_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"\(B, T, F\)"):
        LockedDropout(0.5)(torch.randn(3, 4))


# EmbeddingDropout -----------------------------------------------------------------------------
def test_embedding_dropout_drops_whole_rows_and_rescales():
    p, V = 0.5, 12
    emb = nn.Embedding(V, 4)
    drop = EmbeddingDropout(emb, p)
    tokens = torch.arange(V).repeat(3, 2)  # (3, 2V): every word six times
    y = drop(tokens)
    w = emb.weight.detach()
    dropped = 0
    for v in range(V):
        rows = y[tokens == v]  # (6, 4): one fate for every occurrence of v
        assert torch.equal(rows, rows[:1].expand_as(rows))
        if torch.equal(rows[0], torch.zeros(4)):
            dropped += 1
        else:
            assert torch.allclose(rows[0], w[v] / (1 - p))
    assert 0 < dropped < V


def test_embedding_dropout_gradient_skips_the_dropped_rows():
    emb = nn.Embedding(10, 3)
    drop = EmbeddingDropout(emb, 0.5)
    tokens = torch.arange(10).unsqueeze(0)
    y = drop(tokens)
    y.sum().backward()
    kept = y[0].abs().sum(1) > 0
    assert torch.allclose(emb.weight.grad[kept], torch.full((int(kept.sum()), 3), 2.0))
    assert torch.equal(emb.weight.grad[~kept], torch.zeros(int((~kept).sum()), 3))


def test_embedding_dropout_in_eval_is_the_embedding_and_keys_are_its_own():
    emb = nn.Embedding(7, 3, padding_idx=0)
    drop = EmbeddingDropout(emb, 0.3)
    tokens = torch.randint(0, 7, (4, 5))
    assert torch.equal(drop.eval()(tokens), emb(tokens))
    assert EmbeddingDropout(emb, 0.0)(tokens).equal(emb(tokens))
    padding = drop.train()(torch.zeros(2, 3, dtype=torch.long))  # padding_idx is honoured
    assert torch.equal(padding, torch.zeros(2, 3, 3))
    assert list(drop.state_dict()) == ["weight"] and drop.weight is emb.weight
    other = nn.Embedding(7, 3)
    drop.load_state_dict(other.state_dict())
    assert torch.equal(emb.weight, other.weight)
    with pytest.raises(TypeError, match="nn.Embedding"):
        EmbeddingDropout(nn.Linear(2, 2), 0.1)


# WeightDrop -----------------------------------------------------------------------------------
def _lstm2bi(backend="kernel"):
    return rnnkit.LSTM(3, 5, num_layers=2, bidirectional=True, backend=backend).double()


def test_weight_drop_targets_every_weight_hh_of_a_deep_bidirectional_lstm():
    wd = WeightDrop(_lstm2bi(), 0.5)
    assert wd.targets == ("weight_hh_l0", "weight_hh_l0_reverse", "weight_hh_l1",
                          "weight_hh_l1_reverse")
    both = WeightDrop(_lstm2bi(), 0.5, names=("weight_hh_l1", "weight_ih"))
    assert both.targets == ("weight_ih_l0", "weight_ih_l0_reverse", "weight_ih_l1",
                            "weight_hh_l1", "weight_ih_l1_reverse")
    with pytest.raises(ValueError, match="no parameter of LSTM matches"):
        WeightDrop(_lstm2bi(), 0.5, names="weight_xx")


@pytest.mark.parametrize("backend", ["kernel", "torch", "reference"])
def test_weight_drop_in_eval_equals_the_wrapped_layer(backend):
    layer = _lstm2bi(backend)
    ref = copy.deepcopy(layer)
    wd = WeightDrop(layer, 0.5).eval()
    ref.eval()
    x = torch.randn(3, 6, 3, dtype=F64)
    lengths = torch.tensor([6, 2, 4])
    (out, (h, c)), (out_ref, (h_ref, c_ref)) = wd(x, lengths=lengths), ref(x, lengths=lengths)
    assert torch.equal(out, out_ref) and torch.equal(h, h_ref) and torch.equal(c, c_ref)
    wd.train()
    assert not torch.allclose(wd(x)[0], ref(x)[0])  # training: dropped weights
    assert torch.equal(WeightDrop(ref, 0.0)(x)[0], ref(x)[0])


def _manual_masks(layer, names, p, seed):
    torch.manual_seed(seed)
    params = dict(layer.named_parameters())
    return {n: torch.empty_like(params[n]).bernoulli_(1 - p) / (1 - p) for n in names}


def _masked_copy(layer, masks):
    ref = copy.deepcopy(layer)
    with torch.no_grad():
        for n, m in masks.items():
            ref.get_parameter(n).mul_(m)
    return ref


@pytest.mark.parametrize("backend", ["kernel", "torch", "reference"])
@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_weight_drop_equals_masking_the_weight_by_hand(kind, backend):
    p = 0.4
    layer = getattr(rnnkit, kind)(3, 5, num_layers=2, bidirectional=True,
                                  backend=backend).double()
    assert layer.resolve_backend(torch.device("cpu")) == backend
    wd = WeightDrop(layer, p)
    raw = {n: layer.get_parameter(n).detach().clone() for n in wd.targets}
    x = torch.randn(4, 7, 3, dtype=F64)
    lengths = torch.tensor([7, 3, 5, 1])
    torch.manual_seed(11)
    out, final = wd(x, lengths=lengths)
    masks = _manual_masks(layer, wd.targets, p, seed=11)
    ref = _masked_copy(layer, masks)
    out_ref, final_ref = ref(x, lengths=lengths)
    assert torch.allclose(out, out_ref, atol=1e-10)
    for a, b in zip(final if kind == "LSTM" else [final], final_ref if kind == "LSTM"
                    else [final_ref]):
        assert torch.allclose(a, b, atol=1e-10)
    (out.pow(2).sum()).backward()
    out_ref.pow(2).sum().backward()
    for n, m in masks.items():  # d/dw of f(w * m) = m * f'(w * m): it reaches the raw weight
        g = layer.get_parameter(n).grad
        assert g is not None and g.abs().sum() > 0
        assert torch.allclose(g, m * ref.get_parameter(n).grad, atol=1e-10)
        assert torch.equal(layer.get_parameter(n).detach(), raw[n])  # the raw weight stays
    assert torch.allclose(layer.weight_ih_l1.grad, ref.weight_ih_l1.grad, atol=1e-10)


def test_weight_drop_draws_a_new_mask_every_call_and_keeps_parameters():
    layer = _lstm2bi()
    params = list(layer.parameters())
    wd = WeightDrop(layer, 0.5)
    x = torch.randn(2, 4, 3, dtype=F64)
    assert not torch.allclose(wd(x)[0], wd(x)[0])
    assert [id(p) for p in layer.parameters()] == [id(p) for p in params]
    assert [id(p) for p in wd.parameters()] == [id(p) for p in params]


def test_weight_drop_on_torch_nn_lstm_equals_masking_by_hand():
    p = 0.3
    layer = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    wd = WeightDrop(layer, p)
    assert len(wd.targets) == 4
    x = torch.randn(3, 6, 3, dtype=F64)
    torch.manual_seed(5)
    out, (h, c) = wd(x)
    ref = _masked_copy(layer, masks := _manual_masks(layer, wd.targets, p, seed=5))
    out_ref, (h_ref, c_ref) = ref(x)
    assert torch.allclose(out, out_ref, atol=1e-10) and torch.allclose(c, c_ref, atol=1e-10)
    out.sum().backward()
    out_ref.sum().backward()
    g = layer.weight_hh_l1_reverse.grad
    assert torch.allclose(g, masks["weight_hh_l1_reverse"] * ref.weight_hh_l1_reverse.grad,
                          atol=1e-10)
    wd.eval()
    assert torch.equal(wd(x)[0], layer(x)[0])


def test_weight_drop_state_dict_keys_are_the_layers_own():
    layer = _lstm2bi()
    wd = WeightDrop(layer, 0.5)
    assert list(wd.state_dict()) == list(_lstm2bi().state_dict())
    torch_lstm = nn.LSTM(3, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    assert str(wd.load_state_dict(torch_lstm.state_dict())) == "<All keys matched successfully>"
    assert torch.equal(layer.weight_hh_l1_reverse, torch_lstm.weight_hh_l1_reverse)
    bare = _lstm2bi()
    bare.load_state_dict(wd.state_dict())
    assert torch.equal(bare.weight_hh_l0, layer.weight_hh_l0)
    # inside a model the keys are those of the model without the wrapper; "layer."-prefixed
    # keys (named_parameters' names) load too
    model = nn.Sequential(WeightDrop(_lstm2bi(), 0.5))
    assert list(model.state_dict()) == [f"0.{k}" for k in bare.state_dict()]
    model.load_state_dict({f"0.layer.{k}": v for k, v in bare.state_dict().items()})
    assert torch.equal(model[0].layer.weight_ih_l1, bare.weight_ih_l1)


def test_weight_drop_composes_with_zoneout():
    layer = Recurrent(Zoneout(LSTMCell(3, 4), 0.1), num_layers=2).double()
    wd = WeightDrop(layer, 0.5)
    assert wd.targets == ("cells.0.cell.weight_hh", "cells.1.cell.weight_hh")
    out, _ = wd(torch.randn(2, 5, 3, dtype=F64))
    out.sum().backward()
    assert layer.cells[1].cell.weight_hh.grad.abs().sum() > 0


# Zoneout --------------------------------------------------------------------------------------
def _copy_cells(src: Recurrent, dst: Recurrent):
    with torch.no_grad():
        for a, b in zip(src.cells, dst.cells):
            for name in a.PARAMETERS:
                getattr(b.cell, name).copy_(getattr(a, name))


@pytest.mark.parametrize("make", [lambda: LSTMCell(3, 4), lambda: GRUCell(3, 4)])
def test_zoneout_at_zero_equals_the_wrapped_cell(make):
    plain = Recurrent(make(), num_layers=2, bidirectional=True).double()
    zoned = Recurrent(Zoneout(make(), 0.0, 0.0), num_layers=2, bidirectional=True).double()
    _copy_cells(plain, zoned)
    assert zoned.resolve_backend(torch.device("cpu")) == "traced"
    x, lengths = torch.randn(3, 6, 3, dtype=F64), torch.tensor([6, 2, 5])
    out, final = zoned(x, lengths=lengths)  # training mode
    out_ref, final_ref = plain(x, lengths=lengths)
    assert torch.allclose(out, out_ref, atol=1e-12)
    if isinstance(final, tuple):
        assert torch.allclose(final.c, final_ref.c, atol=1e-12)


def test_zoneout_in_eval_is_its_expectation():
    zh, zc = 0.3, 0.2
    cell = LSTMCell(3, 4).double()
    layer = Recurrent(Zoneout(cell, zh, zc)).eval()
    x = torch.randn(2, 5, 3, dtype=F64)
    out, (h, c) = layer(x)
    state = cell.initial_state(2, dtype=F64)
    for t in range(5):  # by hand: the expected value of the zoned update
        _, new = cell.step(x[:, t], state)
        state = type(state)(zh * state.h + (1 - zh) * new.h, zc * state.c + (1 - zc) * new.c)
        assert torch.allclose(out[:, t], state.h, atol=1e-12)
    assert torch.allclose(c[0], state.c, atol=1e-12)


def test_zoneout_in_training_keeps_each_unit_or_updates_it():
    p = 0.25
    cell = GRUCell(3, 6).double()
    zone = Zoneout(cell, zoneout_h=p)
    x, h0 = torch.randn(4000, 3, dtype=F64), torch.randn(4000, 6, dtype=F64)
    h, state = zone.step(x, h0)
    _, new = cell.step(x, h0)
    kept, updated = h == h0, h == new
    assert bool((kept | updated).all()) and h is state
    assert abs(kept.double().mean().item() - p) < 0.02


def test_zoneout_runs_on_the_reference_path_only_and_checks_its_cell():
    layer = Recurrent(Zoneout(LSTMCell(3, 4), 0.1), backend="kernel")
    with pytest.raises(ValueError, match="needs cells with a kernel"):
        layer(torch.randn(1, 2, 3))
    with pytest.raises(ValueError, match="has no c"):
        Zoneout(GRUCell(3, 4), zoneout_h=0.1, zoneout_c=0.1)
    with pytest.raises(TypeError, match="wraps a cell"):
        Zoneout(nn.Linear(2, 2), 0.1)
    spawned = Recurrent(Zoneout(LSTMCell(3, 4), 0.1, 0.2), num_layers=2).cells[1]
    assert (spawned.input_size, spawned.zoneout_h, spawned.zoneout_c) == (4, 0.1, 0.2)


# AR / TAR -------------------------------------------------------------------------------------
def test_ar_tar_equals_a_hand_computation():
    h, d = torch.randn(3, 5, 4, dtype=F64), torch.randn(3, 5, 4, dtype=F64)
    got = ar_tar_penalty(h, d, alpha=2.0, beta=1.5)
    ar = sum(float(v) ** 2 for v in d.flatten()) / d.numel()
    tar = sum(float(h[b, t, k] - h[b, t - 1, k]) ** 2
              for b in range(3) for t in range(1, 5) for k in range(4)) / (3 * 4 * 4)
    assert math.isclose(got.item(), 2.0 * ar + 1.5 * tar, rel_tol=1e-12)
    assert ar_tar_penalty(h, d, 0.0, 0.0).item() == 0.0


def test_ar_tar_counts_only_the_valid_positions():
    h, d = torch.randn(3, 5, 2, dtype=F64), torch.randn(3, 5, 2, dtype=F64)
    lengths = torch.tensor([5, 1, 3])
    ar_sum = sum(float(d[b, t, k]) ** 2 for b in range(3) for t in range(int(lengths[b]))
                 for k in range(2))
    tar_sum = sum(float(h[b, t, k] - h[b, t - 1, k]) ** 2 for b in range(3)
                  for t in range(1, int(lengths[b])) for k in range(2))
    want = 1.0 * ar_sum / (9 * 2) + 3.0 * tar_sum / (6 * 2)
    got = ar_tar_penalty(h, d, 1.0, 3.0, lengths=lengths)
    assert math.isclose(got.item(), want, rel_tol=1e-12)
    mask = torch.arange(5).unsqueeze(0) < lengths.unsqueeze(1)
    assert torch.equal(ar_tar_penalty(h, d, 1.0, 3.0, mask=mask), got)
    d[1, 1:] = 1e6  # padding does not count
    assert torch.equal(ar_tar_penalty(h, d, 1.0, 3.0, lengths=lengths), got)


def test_ar_tar_gradients_and_edge_cases():
    h = torch.randn(2, 1, 3, requires_grad=True)
    pen = ar_tar_penalty(h, h * 2, alpha=1.0, beta=1.0)  # T = 1: no pair, TAR is 0
    assert math.isclose(pen.item(), (4 * h.detach() ** 2).mean().item(), rel_tol=1e-6)
    pen.backward()
    assert torch.allclose(h.grad, 8 * h.detach() / 6)
    with pytest.raises(ValueError, match="alpha must be a number >= 0"):
        ar_tar_penalty(h, h, -1.0, 1.0)
    with pytest.raises(ValueError, match="not both"):
        ar_tar_penalty(h, h, 1.0, 1.0, lengths=torch.tensor([1, 1]),
                       mask=torch.ones(2, 1, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\(B, T, H\)"):
        ar_tar_penalty(h, h[:, :, :2], 1.0, 1.0)

