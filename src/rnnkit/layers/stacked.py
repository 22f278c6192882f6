"""Stacks whose layers have hidden sizes of their own: ``rnnkit.LSTM(16, hidden_size=[64, 32])``.

A :class:`rnnkit.Recurrent` stacks L copies of one cell, so its state can be one tensor per
state leaf, (L*D, B, H). With a hidden size per layer the states do not stack; a
:class:`StackedRecurrent` is instead a sequence of layers, each one a one-layer
:class:`rnnkit.Recurrent` (so each runs on its own best backend: its kernel, torch.nn or the
reference path), and its state is a **list with one entry per layer**, each entry exactly the
state of that layer alone: for an LSTM ``[LSTMState(h (D, B, H_0), c (D, B, H_0)),
LSTMState(h (D, B, H_1), ...), ...]``, for a GRU, RNN or IndRNN ``[h_0 (D, B, H_0), ...]``.

``rnnkit.RNN``, ``LSTM``, ``GRU``, ``IndRNN``, ``MinGRU`` and ``MinLSTM`` given a list or
tuple of hidden sizes return a :class:`StackedRecurrent` of layers of their own class (so the
result is not an instance of that class): ``num_layers`` defaults to the list's length, and
every other argument applies to every layer (``dropout`` between layers, as torch.nn).
``StackedRecurrent([cell_0, cell_1, ...])`` is the same for any cells (``Recurrent``'s
counterpart); it takes built layers too.

State dict keys are those of the layers, ``layers.{l}.`` and their own torch.nn names:
``layers.1.weight_hh_l0``, ``layers.0.bias_ih_l0_reverse``...

>>> import torch, rnnkit
>>> _ = torch.manual_seed(0)
>>> lstm = rnnkit.LSTM(16, hidden_size=[64, 32], bidirectional=True)
>>> type(lstm).__name__, lstm.hidden_size, lstm.num_layers
('StackedRecurrent', (64, 32), 2)
>>> x = torch.randn(3, 10, 16)
>>> out, state = lstm(x, lengths=torch.tensor([10, 4, 7]))
>>> tuple(out.shape), [tuple(s.h.shape) for s in state]
((3, 10, 64), [(2, 3, 64), (2, 3, 32)])

Resuming a unidirectional stack from its returned state continues the sequence:

>>> gru = rnnkit.GRU(16, hidden_size=(8, 4, 2))
>>> out_a, state_a = gru(x[:, :6])
>>> out_b, state_b = gru(x[:, 6:], state_a)
>>> out, state = gru(x)
>>> torch.allclose(torch.cat([out_a, out_b], 1), out, atol=1e-6), [tuple(h.shape) for h in state]
(True, [(1, 3, 8), (1, 3, 4), (1, 3, 2)])
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch.nn.functional as F
from torch import Tensor, nn

from ..cells.base import RecurrentCell
from .recurrent import Recurrent

__all__ = ["StackedRecurrent", "PerLayerSizes"]


def output_width(layer: Recurrent) -> int:
    """Features per step a layer outputs: D * H (D * P for a projected LSTM)."""
    cell = layer.cells[0]
    return layer.num_directions * getattr(cell, "output_size", cell.hidden_size)


class StackedRecurrent(nn.Module):
    """Layers with hidden sizes of their own, one after the other (module docstring).

    Args:
        layers: per layer, a :class:`~rnnkit.cells.RecurrentCell` (wrapped in a one-layer
            ``Recurrent(cell, bidirectional=..., backend=...)``) or a built
            :class:`rnnkit.Recurrent`; layer l must read what layer l-1 outputs.
        bidirectional, backend: for the cells given as cells.
        dropout: dropout probability on the outputs of every layer but the last (training only).

    ``forward(x, state=None, lengths=None) -> (output, final_state)``: ``x`` (B, T, I);
    ``state`` None (zeros) or a list with one state per layer (an entry None: that layer's
    zeros), each as that layer alone takes it; ``lengths`` as :class:`rnnkit.Recurrent`.
    ``output`` (B, T, D*H_last); ``final_state`` a list like ``state``.
    """

    def __init__(self, layers: Sequence[RecurrentCell | Recurrent], bidirectional: bool = False,
                 dropout: float = 0.0, backend: str = "auto"):
        super().__init__()
        if isinstance(layers, (nn.Module, str)) or not isinstance(layers, Sequence) or not layers:
            raise ValueError(
                "StackedRecurrent needs a non-empty list of cells or Recurrent layers, one per "
                f"layer; got {type(layers).__name__}"
            )
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        built = []
        for item in layers:
            if isinstance(item, Recurrent):
                built.append(item)
            elif isinstance(item, RecurrentCell):
                built.append(Recurrent(item, 1, bidirectional, 0.0, backend))
            else:
                raise TypeError(
                    f"each layer must be a RecurrentCell or a Recurrent, got {type(item)!r}")
        for l in range(1, len(built)):
            want, got = output_width(built[l - 1]), built[l].input_size
            if got != want:
                raise ValueError(
                    f"layer {l} reads {got} features but layer {l - 1} outputs {want} "
                    f"(num_directions * hidden_size)"
                )
        self.layers = nn.ModuleList(built)
        self.dropout = float(dropout)
        self.input_size = built[0].input_size
        self.hidden_size = tuple(layer.hidden_size for layer in built)
        self.output_size = output_width(built[-1])
        self.num_layers = len(built)

    @property
    def bidirectional(self) -> bool:
        return self.layers[-1].bidirectional

    @property
    def backend(self) -> str:
        """The layers' backend; setting it sets every layer's."""
        kinds = {layer.backend for layer in self.layers}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    @backend.setter
    def backend(self, value: str) -> None:
        for layer in self.layers:
            layer.backend = value

    def resolve_backend(self, device) -> list[str]:
        """The backend each layer's forward on ``device`` uses."""
        return [layer.resolve_backend(device) for layer in self.layers]

    def extra_repr(self) -> str:
        return f"hidden_size={self.hidden_size}" + (
            f", dropout={self.dropout}" if self.dropout else "")

    def initial_state(self, batch: int, device=None, dtype=None) -> list:
        """Zero state: one entry per layer, each that layer's (D, B, H_l) leaves."""
        return [layer.initial_state(batch, device, dtype) for layer in self.layers]

    def forward(self, x: Tensor, state: Any = None, lengths: Tensor | None = None):
        L = self.num_layers
        if state is None:
            state = [None] * L
        elif (not isinstance(state, (list, tuple)) or hasattr(state, "_fields")
              or len(state) != L):
            raise ValueError(
                f"the state of a stack with per-layer hidden sizes {self.hidden_size} is a list "
                f"of {L} per-layer states (each as that layer alone takes it, e.g. "
                f"(D, B, H_l) tensors); got {_describe(state)}"
            )
        seq, finals = x, []
        for l, layer in enumerate(self.layers):
            seq, fin = layer(seq, state[l], lengths)
            finals.append(fin)
            if self.dropout > 0 and self.training and l < L - 1:
                seq = F.dropout(seq, self.dropout, training=True)
        return seq, finals


def _describe(state) -> str:
    if isinstance(state, Tensor):
        return f"a Tensor of shape {tuple(state.shape)}"
    if isinstance(state, (list, tuple)) and not hasattr(state, "_fields"):
        return f"a {type(state).__name__} of {len(state)}"
    return type(state).__name__


# rnnkit.LSTM(16, hidden_size=[64, 32]) -------------------------------------------------------
class PerLayerSizes:
    """Mixin for the layer classes (``class LSTM(PerLayerSizes, Recurrent)``): given a list or
    tuple of hidden sizes the constructor returns a :class:`StackedRecurrent` of one-layer
    layers of the class, one per size; an int builds the class itself as before."""

    def __new__(cls, *args, **kwargs):
        sizes = kwargs.get("hidden_size", args[1] if len(args) > 1 else None)
        if isinstance(sizes, (list, tuple)):
            return _stack_of(cls, args, kwargs)
        return super().__new__(cls)


def _stack_of(cls, args, kwargs) -> StackedRecurrent:
    try:
        bound = inspect.signature(cls.__init__).bind(None, *args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{cls.__name__}(...): {e}") from None
    given = dict(bound.arguments)
    given.pop("self")
    sizes = given.pop("hidden_size")
    if not sizes or any(not isinstance(h, int) or isinstance(h, bool) or h <= 0 for h in sizes):
        raise ValueError(
            f"hidden_size must be a positive int or a non-empty list of positive ints (one per "
            f"layer), got {sizes!r}"
        )
    num_layers = given.pop("num_layers", len(sizes))
    if num_layers != len(sizes):
        raise ValueError(
            f"num_layers={num_layers!r} but hidden_size lists {len(sizes)} sizes {list(sizes)}; "
            "give one hidden size per layer (num_layers may be left out)"
        )
    dropout = given.pop("dropout", 0.0)
    width, layers = given.pop("input_size"), []
    for h in sizes:
        layer = cls(width, h, **given)
        layers.append(layer)
        width = output_width(layer)
    return StackedRecurrent(layers, dropout=dropout)
