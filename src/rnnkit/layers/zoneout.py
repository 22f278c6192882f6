"""``Zoneout(cell)``: at each step, some units keep their previous value (Krueger et al. 2017).

``h_t = d * h_{t-1} + (1 - d) * h_new`` with ``d ~ Bernoulli(zoneout_h)`` per unit and step
in training (likewise the LSTM's cell state with ``zoneout_c``), and the expectation
``zoneout_h * h_{t-1} + (1 - zoneout_h) * h_new`` in eval mode. The probabilities are named
after the paper's ``z_h``/``z_c``, not ``*_dropout``: nothing is dropped or rescaled, a unit
keeps its old value; they are checked like the dropout probabilities, in [0, 1).

The wrapper is a :class:`~rnnkit.cells.RecurrentCell` without a kernel, so
:class:`rnnkit.Recurrent` runs it on the reference path (autograd over ``step``):
``Recurrent(Zoneout(LSTMCell(I, H), 0.1, 0.05), num_layers=2)``. The wrapped cell's parameters
stay in it (``cells.0.cell.weight_hh``), not under torch.nn's layer names.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..cells.base import RecurrentCell, State
from .dropouts import check_dropout

__all__ = ["Zoneout"]


class Zoneout(RecurrentCell):
    """Zoneout around ``cell``, whose state is a Tensor ``h`` (RNN, GRU) or a NamedTuple with
    fields ``h`` and optionally ``c`` (LSTM); ``zoneout_c`` needs a ``c``. The step's output is
    the zoned ``h``.

    >>> from rnnkit.cells import LSTMCell
    >>> _ = torch.manual_seed(0)
    >>> cell = Zoneout(LSTMCell(3, 4), zoneout_h=0.2, zoneout_c=0.1).eval()
    >>> x, s = torch.randn(2, 3), cell.initial_state(2)
    >>> y, (h, c) = cell.step(x, s)
    >>> _, (h_new, c_new) = cell.cell.step(x, s)
    >>> torch.allclose(h, 0.8 * h_new), torch.allclose(c, 0.9 * c_new), y is h
    (True, True, True)
    """

    def __init__(self, cell: RecurrentCell, zoneout_h: float = 0.0, zoneout_c: float = 0.0):
        super().__init__()
        for attr in ("input_size", "hidden_size", "step", "initial_state"):
            if not hasattr(cell, attr):
                raise TypeError(f"Zoneout wraps a cell; {type(cell).__name__} lacks {attr!r}")
        self.cell = cell
        self.input_size, self.hidden_size = cell.input_size, cell.hidden_size
        self.output_size = getattr(cell, "output_size", cell.hidden_size)  # ProjLSTMCell: P
        self.zoneout_h = check_dropout("zoneout_h", zoneout_h)
        self.zoneout_c = check_dropout("zoneout_c", zoneout_c)
        template = cell.initial_state(1)
        if not isinstance(template, Tensor) and "h" not in getattr(template, "_fields", ()):
            raise TypeError(
                f"Zoneout needs a state that is a Tensor or a NamedTuple with a field 'h'; "
                f"{type(cell).__name__}'s is {type(template).__name__}"
            )
        if self.zoneout_c and "c" not in getattr(template, "_fields", ()):
            raise ValueError(f"zoneout_c={zoneout_c} but {type(cell).__name__}'s state has no c")

    def extra_repr(self) -> str:
        return f"zoneout_h={self.zoneout_h}, zoneout_c={self.zoneout_c}"

    def initial_state(self, batch, device=None, dtype=None) -> State:
        return self.cell.initial_state(batch, device, dtype)

    def spawn(self, input_size: int) -> Zoneout:
        return type(self)(self.cell.spawn(input_size), self.zoneout_h, self.zoneout_c)

    def step(self, x_t: Tensor, state: State) -> tuple[Tensor, State]:
        _, new = self.cell.step(x_t, state)
        if isinstance(new, Tensor):
            h = self._zone(state, new, self.zoneout_h)
            return h, h
        parts = {"h": self._zone(state.h, new.h, self.zoneout_h)}
        if "c" in new._fields:
            parts["c"] = self._zone(state.c, new.c, self.zoneout_c)
        new = new._replace(**parts)
        return new.h, new

    def _zone(self, prev: Tensor, new: Tensor, p: float) -> Tensor:
        if p == 0.0:
            return new
        if not self.training:
            return p * prev + (1.0 - p) * new
        keep = torch.empty_like(new).bernoulli_(p).bool()  # True: the unit keeps h_{t-1}
        return torch.where(keep, prev, new)
