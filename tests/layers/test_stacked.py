"""Per-layer hidden sizes, ``rnnkit.LSTM(16, hidden_size=[64, 32])``: a StackedRecurrent of
one-layer layers. With equal sizes it is the multi-layer layer; with different sizes it is
torch.nn's one-layer layers chained; its state is a list of per-layer states (in, out, and
resuming from it continues a long run); padding, dropout, projections, cells, state dicts,
copies; bad arguments raise with messages that say why."""

from __future__ import annotations

import copy
import io
import pickle
import re

import pytest
import torch

import rnnkit
from rnnkit import LSTMState, StackedRecurrent
from rnnkit.cells.layer_norm import LayerNormLSTMCell

F64 = torch.float64
KINDS = {"lstm": rnnkit.LSTM, "gru": rnnkit.GRU, "rnn": rnnkit.RNN, "indrnn": rnnkit.IndRNN,
         "mingru": rnnkit.MinGRU}
TORCH = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "rnn": torch.nn.RNN}


def _leaves(state):
    return list(state) if isinstance(state, LSTMState) else [state]


def _randn_state(kind, D, B, H, g):
    h = torch.randn(D, B, H, generator=g, dtype=F64)
    return LSTMState(h, torch.randn(D, B, H, generator=g, dtype=F64)) if kind == "lstm" else h


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_shapes_and_attributes(kind, bidirectional):
    D = 2 if bidirectional else 1
    layer = KINDS[kind](5, hidden_size=[6, 3, 4], bidirectional=bidirectional)
    assert isinstance(layer, StackedRecurrent)
    assert layer.hidden_size == (6, 3, 4) and layer.num_layers == 3
    assert layer.input_size == 5 and layer.output_size == D * 4
    assert [type(sub) for sub in layer.layers] == [KINDS[kind]] * 3
    assert [sub.input_size for sub in layer.layers] == [5, D * 6, D * 3]
    assert all(sub.num_layers == 1 and sub.bidirectional == bidirectional
               for sub in layer.layers)
    out, state = layer(torch.randn(2, 7, 5))
    assert out.shape == (2, 7, D * 4)
    assert isinstance(state, list) and len(state) == 3
    for s, H in zip(state, (6, 3, 4)):
        assert [tuple(t.shape) for t in _leaves(s)] == [(D, 2, H)] * (2 if kind == "lstm" else 1)
    zeros = layer.initial_state(2, dtype=F64)
    assert [tuple(t.shape) for s in zeros for t in _leaves(s)] == [
        tuple(t.shape) for s in state for t in _leaves(s)]
    assert all(t.dtype == F64 and not t.any() for s in zeros for t in _leaves(s))


def test_num_layers_may_match_or_be_left_out():
    assert rnnkit.GRU(3, [4, 5], num_layers=2).num_layers == 2
    assert rnnkit.GRU(3, hidden_size=(4,)).hidden_size == (4,)
    assert rnnkit.LSTM(input_size=3, hidden_size=[4, 5, 6]).num_layers == 3
    for n in (1, 3):
        with pytest.raises(ValueError, match=rf"num_layers={n} but hidden_size lists 2 sizes"):
            rnnkit.LSTM(3, [4, 5], num_layers=n)
    for bad in ([], (), [4, 0], [4, 2.5], [True, 4], [4, "5"]):
        with pytest.raises(ValueError, match="hidden_size must be a positive int or a non-empty"):
            rnnkit.RNN(3, bad)
    with pytest.raises(ValueError, match="dropout must be in"):
        rnnkit.GRU(3, [4, 5], dropout=1.5)
    with pytest.raises(ValueError, match="batch first"):
        rnnkit.GRU(3, [4, 5], batch_first=False)
    with pytest.raises(TypeError, match="GRU"):
        rnnkit.GRU(3, [4, 5], nonsense=1)
    with pytest.raises(ValueError, match="nonlinearity must be 'relu' or 'tanh'"):
        rnnkit.IndRNN(3, [4, 5], nonlinearity="gelu")


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_equal_sizes_are_the_multi_layer_layer(kind):
    """LSTM(3, [4, 4]) with LSTM(3, 4, num_layers=2)'s weights computes what it computes."""
    torch.manual_seed(0)
    ref = KINDS[kind](3, 4, num_layers=2, bidirectional=True, dtype=F64)
    stack = KINDS[kind](3, [4, 4], bidirectional=True, dtype=F64)
    sd = {}
    for k, v in ref.state_dict().items():  # weight_hh_l1_reverse -> layers.1.weight_hh_l0_reverse
        m = re.fullmatch(r"(.+)_l(\d)(_reverse)?", k)
        sd[f"layers.{m[2]}.{m[1]}_l0{m[3] or ''}"] = v
    assert stack.load_state_dict(sd).missing_keys == []
    g = torch.Generator().manual_seed(1)
    x, lengths = torch.randn(3, 6, 3, generator=g, dtype=F64), torch.tensor([6, 2, 4])
    h0 = _randn_state(kind, 4, 3, 4, g)
    out_ref, fin_ref = ref(x, h0, lengths=lengths)
    per_layer = [type(h0)(*(t[2 * l : 2 * l + 2] for t in _leaves(h0))) if kind == "lstm"
                 else h0[2 * l : 2 * l + 2] for l in range(2)]
    out, fin = stack(x, per_layer, lengths=lengths)
    torch.testing.assert_close(out, out_ref, atol=1e-12, rtol=1e-10)
    for l in range(2):
        for got, want in zip(_leaves(fin[l]), _leaves(fin_ref)):
            torch.testing.assert_close(got, want[2 * l : 2 * l + 2], atol=1e-12, rtol=1e-10)


@pytest.mark.parametrize("kind", ["lstm", "gru", "rnn"])
def test_different_sizes_are_torch_layers_chained(kind):
    torch.manual_seed(0)
    stack = KINDS[kind](3, [6, 2], bidirectional=True, dtype=F64)
    refs = [TORCH[kind](3, 6, bidirectional=True, batch_first=True, dtype=F64),
            TORCH[kind](12, 2, bidirectional=True, batch_first=True, dtype=F64)]
    for sub, ref in zip(stack.layers, refs):  # each layer's state dict is torch.nn's
        ref.load_state_dict(sub.state_dict())
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 5, 3, generator=g, dtype=F64)
    state0 = [_randn_state(kind, 2, 2, H, g) for H in (6, 2)]
    out, fin = stack(x, state0)
    seq = x
    for l, ref in enumerate(refs):
        seq, fin_ref = ref(seq, tuple(state0[l]) if kind == "lstm" else state0[l])
        for got, want in zip(_leaves(fin[l]), fin_ref if kind == "lstm" else [fin_ref]):
            torch.testing.assert_close(got, want, atol=1e-12, rtol=1e-10)
    torch.testing.assert_close(out, seq, atol=1e-12, rtol=1e-10)
    # the initial state matters: from zeros the outputs differ
    assert not torch.allclose(stack(x)[0], out)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_resuming_from_the_returned_state_continues_a_long_run(kind):
    torch.manual_seed(0)
    stack = KINDS[kind](3, [5, 2, 4], dtype=F64)
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 9, 3, generator=g, dtype=F64)
    state0 = [_randn_state(kind, 1, 2, H, g) for H in (5, 2, 4)]
    out, fin = stack(x, state0)
    s, parts = state0, []
    for lo, hi in ((0, 4), (4, 5), (5, 9)):
        o, s = stack(x[:, lo:hi], s)
        parts.append(o)
    torch.testing.assert_close(torch.cat(parts, 1), out, atol=1e-12, rtol=1e-10)
    for got, want in zip(s, fin):
        for a, b in zip(_leaves(got), _leaves(want)):
            torch.testing.assert_close(a, b, atol=1e-12, rtol=1e-10)
    # a None entry is that layer's zeros
    part = stack(x, [state0[0], None, state0[2]])
    full = stack(x, [state0[0], stack.layers[1].initial_state(2, dtype=F64), state0[2]])
    torch.testing.assert_close(part[0], full[0], atol=0, rtol=0)


@pytest.mark.parametrize("kind", ["lstm", "indrnn"])
def test_padded_row_equals_row_alone(kind):
    torch.manual_seed(0)
    stack = KINDS[kind](3, [5, 2], bidirectional=True, dtype=F64)
    x = torch.randn(3, 7, 3, dtype=F64)
    x_padded = x.clone()
    x_padded[1, 3:] = 1e3
    lengths = torch.tensor([7, 3, 5])
    out, fin = stack(x_padded, lengths=lengths)
    for b, L in enumerate(lengths.tolist()):
        alone, fin_alone = stack(x[b : b + 1, :L])
        torch.testing.assert_close(out[b : b + 1, :L], alone, atol=1e-12, rtol=1e-10)
        assert not out[b, L:].any()
        for got, want in zip(fin, fin_alone):
            for a, w in zip(_leaves(got), _leaves(want)):
                torch.testing.assert_close(a[:, b : b + 1], w, atol=1e-12, rtol=1e-10)


def test_dropout_between_layers_only_in_training():
    torch.manual_seed(0)
    stack = rnnkit.GRU(3, [8, 8, 4], dropout=0.5)
    assert stack.dropout == 0.5 and all(sub.dropout == 0.0 for sub in stack.layers)
    x = torch.randn(4, 6, 3)
    stack.eval()
    a, b = stack(x)[0], stack(x)[0]
    assert torch.equal(a, b)
    stack.train()
    c, d = stack(x)[0], stack(x)[0]
    assert not torch.allclose(c, a) and not torch.allclose(c, d)
    no_drop = rnnkit.GRU(3, [8, 8, 4])
    no_drop.load_state_dict(stack.state_dict())
    assert torch.equal(no_drop.train()(x)[0], a)


def test_projected_lstm_per_layer():
    stack = rnnkit.LSTM(3, [6, 5], proj_size=2, bidirectional=True)
    assert [sub.input_size for sub in stack.layers] == [3, 4] and stack.output_size == 4
    out, state = stack(torch.randn(2, 4, 3))
    assert out.shape == (2, 4, 4)
    assert [(tuple(s.h.shape), tuple(s.c.shape)) for s in state] == [
        ((2, 2, 2), (2, 2, 6)), ((2, 2, 2), (2, 2, 5))]
    with pytest.raises(ValueError, match="proj_size"):
        rnnkit.LSTM(3, [6, 2], proj_size=2)


def test_stacked_recurrent_from_cells_and_layers():
    torch.manual_seed(0)
    stack = StackedRecurrent([LayerNormLSTMCell(3, 6), LayerNormLSTMCell(12, 4)],
                             bidirectional=True)
    assert stack.resolve_backend(torch.device("cpu")) == ["traced", "traced"]
    out, state = stack(torch.randn(2, 5, 3), lengths=torch.tensor([5, 2]))
    assert out.shape == (2, 5, 8) and not out[1, 2:].any()
    assert [tuple(s.c.shape) for s in state] == [(2, 2, 6), (2, 2, 4)]
    mixed = StackedRecurrent([rnnkit.GRU(3, 6, num_layers=2), rnnkit.IndRNNCell(6, 2)])
    assert mixed.hidden_size == (6, 2) and mixed.backend == "auto"
    assert mixed.resolve_backend(torch.device("cpu")) == ["kernel", "traced"]
    _, state = mixed(torch.randn(2, 5, 3))
    assert [tuple(s.shape) for s in state] == [(2, 2, 6), (1, 2, 2)]
    mixed.backend = "reference"
    assert [sub.backend for sub in mixed.layers] == ["reference"] * 2
    with pytest.raises(ValueError, match="layer 1 reads 6 features but layer 0 outputs 12"):
        StackedRecurrent([LayerNormLSTMCell(3, 6), LayerNormLSTMCell(6, 4)], bidirectional=True)
    for bad in ([], LayerNormLSTMCell(3, 6), "lstm"):
        with pytest.raises(ValueError, match="non-empty list of cells or Recurrent layers"):
            StackedRecurrent(bad)
    with pytest.raises(TypeError, match="RecurrentCell or a Recurrent"):
        StackedRecurrent([torch.nn.Linear(3, 4)])


def test_bad_states_raise():
    stack = rnnkit.LSTM(3, [4, 5])
    x = torch.randn(2, 3, 3)
    good = stack.initial_state(2)
    for bad, what in ((good[0], "LSTMState"), ([good[0]], "list of 1"),
                      (torch.zeros(2, 2, 4), "Tensor of shape"), (good + good, "list of 4")):
        with pytest.raises(ValueError, match=f"is a list of 2 per-layer states.*{what}"):
            stack(x, bad)
    with pytest.raises(ValueError, match=r"state must have shape"):
        stack(x, [good[0], LSTMState(torch.zeros(1, 2, 4), torch.zeros(1, 2, 4))])
    torch.testing.assert_close(stack(x, tuple(good))[0], stack(x)[0])


def test_state_dict_copies_and_pickles():
    torch.manual_seed(0)
    stack = rnnkit.IndRNN(3, [4, 5], bidirectional=True, recurrent_max=1.2)
    keys = set(stack.state_dict())
    assert {"layers.0.weight_hh_l0", "layers.1.weight_ih_l0_reverse"} <= keys
    assert stack.state_dict()["layers.1.weight_ih_l0"].shape == (5, 8)
    x = torch.randn(2, 4, 3)
    other = rnnkit.IndRNN(3, [4, 5], bidirectional=True, recurrent_max=1.2)
    assert not torch.allclose(other(x)[0], stack(x)[0])
    other.load_state_dict(stack.state_dict())
    torch.testing.assert_close(other(x)[0], stack(x)[0])
    buf = io.BytesIO()
    torch.save(stack, buf)
    buf.seek(0)
    for clone in (copy.deepcopy(stack), pickle.loads(pickle.dumps(stack)),
                  torch.load(buf, weights_only=False)):
        assert isinstance(clone, StackedRecurrent)
        torch.testing.assert_close(clone(x)[0], stack(x)[0])
    # the one-size layers are unchanged by the list option: they copy as themselves
    lstm = rnnkit.LSTM(3, 4, num_layers=2)
    for clone in (copy.deepcopy(lstm), pickle.loads(pickle.dumps(lstm))):
        assert type(clone) is rnnkit.LSTM
        torch.testing.assert_close(clone(x)[0], lstm(x)[0])
