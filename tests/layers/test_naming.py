"""rnnkit's built-in layers name their parameters as torch.nn does, in named_parameters() too,
so code that groups parameters by name works unchanged; gradients agree name by name."""

import copy

import pytest
import torch
from tests.helpers import pair

import rnnkit


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gradients_by_parameter_name_equal_torch_nn(kind, bidirectional):
    ref, ours = pair(kind, 3, 5, num_layers=2, bidirectional=bidirectional)
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    ref(x)[0].pow(2).sum().backward()
    ours(x)[0].pow(2).sum().backward()
    theirs, mine = dict(ref.named_parameters()), dict(ours.named_parameters())
    assert list(theirs) == list(mine)  # same names, same order
    for name, p in theirs.items():
        torch.testing.assert_close(mine[name].grad, p.grad, msg=name)


def test_names_hold_inside_a_model_and_for_weight_decay_rules():
    model = torch.nn.Module()
    model.encoder = rnnkit.GRU(3, 4, num_layers=2)
    names = [n for n, _ in model.named_parameters()]
    assert names[:2] == ["encoder.weight_ih_l0", "encoder.weight_hh_l0"]
    no_decay = [n for n in names if "bias" in n]
    assert no_decay == ["encoder.bias_ih_l0", "encoder.bias_hh_l0", "encoder.bias_ih_l1",
                        "encoder.bias_hh_l1"]
    assert list(model.state_dict()) == names


def test_cells_see_the_layers_parameters_after_conversions():
    lstm = rnnkit.LSTM(3, 4, bidirectional=True)
    d = copy.deepcopy(lstm).double()
    assert d.cells[1].weight_hh is d.weight_hh_l0_reverse and d.cells[1].weight_hh.dtype == \
        torch.float64
    fresh = {k: torch.zeros_like(v) for k, v in lstm.state_dict().items()}
    lstm.load_state_dict(fresh, assign=True)
    assert lstm.cells[0].weight_ih is lstm.weight_ih_l0 and lstm.cells[0].weight_ih.sum() == 0
    out, _ = lstm(torch.randn(2, 3, 3))
    assert out.abs().sum() == 0  # zero weights: zero outputs, read through the alias


def test_user_cells_keep_their_own_names():
    class Cell(rnnkit.RecurrentCell):
        def __init__(self, i, h):
            super().__init__()
            self.input_size, self.hidden_size = i, h
            self.lin = torch.nn.Linear(i + h, h)

        def step(self, x, h):
            h = torch.tanh(self.lin(torch.cat([x, h], 1)))
            return h, h

    layer = rnnkit.Recurrent(lambda i: Cell(i, 4), input_size=3, num_layers=2)
    assert [n for n, _ in layer.named_parameters()][:2] == ["cells.0.lin.weight",
                                                            "cells.0.lin.bias"]
    layer.load_state_dict(layer.state_dict())  # still round-trips


@pytest.mark.parametrize("backend", ["kernel", "reference", "torch"])
def test_torch_parametrize_works_on_the_torch_nn_names(backend):
    from torch.nn.utils import parametrize

    class Half(torch.nn.Module):
        def forward(self, w):
            return w * 0.5

    torch.manual_seed(0)
    layer = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True, backend=backend)
    ref = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True, backend=backend)
    ref.load_state_dict(layer.state_dict())
    with torch.no_grad():
        ref.weight_hh_l1_reverse.mul_(0.5)
    parametrize.register_parametrization(layer, "weight_hh_l1_reverse", Half())
    x = torch.randn(2, 5, 3)
    out, _ = layer(x)
    torch.testing.assert_close(out, ref(x)[0])
    out.sum().backward()
    assert layer.parametrizations.weight_hh_l1_reverse.original.grad.abs().sum() > 0
