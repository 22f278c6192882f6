"""State structures of the built-in cells, shared by the cells, their kernels and the layers.

A state is a Tensor (RNN, GRU: ``h`` of shape (B, H)) or a named tuple of Tensors, in torch.nn's
order. It lives here, below both :mod:`rnnkit.cells.lstm` and :mod:`rnnkit.kernels.lstm`, so
that the kernel can build the state it returns without importing the cell that uses it.

>>> import torch
>>> state = LSTMState(torch.zeros(2, 3), torch.ones(2, 3))
>>> state._fields, float(state.c.sum())
(('h', 'c'), 6.0)
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor


class LSTMState(NamedTuple):
    """LSTM state: hidden ``h`` and cell ``c``, in torch.nn's order."""

    h: Tensor
    c: Tensor

    @classmethod
    def zeros(cls, batch: int, hidden_size: int, device=None, dtype=None,
              cell_size: int | None = None) -> LSTMState:
        """The zero state of B rows (``c`` of ``cell_size``, default ``hidden_size``)."""
        h = torch.zeros(batch, hidden_size, device=device, dtype=dtype)
        c = torch.zeros(batch, cell_size or hidden_size, device=device, dtype=dtype)
        return cls(h, c)
