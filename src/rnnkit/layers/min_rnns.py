"""``rnnkit.MinGRU`` and ``rnnkit.MinLSTM``: layers of :class:`~rnnkit.cells.MinGRUCell` and
:class:`~rnnkit.cells.MinLSTMCell`, batch first, with the arguments of the other layers.

On the default backend (``"auto"``, or ``"kernel"``) every cell runs its whole sequence as one
parallel scan; ``backend="reference"`` steps the cells one step at a time. Both give the same
outputs, final states and gradients, with initial states, ``lengths`` and both directions.

>>> import torch
>>> _ = torch.manual_seed(0)
>>> layer = MinGRU(3, 4, num_layers=2, bidirectional=True)
>>> x, lengths = torch.randn(2, 7, 3), torch.tensor([7, 3])
>>> out, h = layer(x, lengths=lengths)
>>> tuple(out.shape), tuple(h.shape), layer.resolve_backend(x.device)
((2, 7, 8), (4, 2, 4), 'kernel')
>>> layer.backend = "reference"
>>> out_ref, h_ref = layer(x, lengths=lengths)
>>> torch.allclose(out, out_ref, atol=1e-6), torch.allclose(h, h_ref, atol=1e-6)
(True, True)
>>> sorted(layer.state_dict())[:2]
['bias_ih_l0', 'bias_ih_l0_reverse']
"""

from __future__ import annotations

from ..cells.min_rnn import MinGRUCell, MinLSTMCell
from .recurrent import Recurrent
from .rnns import _check_torch_args
from .stacked import PerLayerSizes


class _MinLayer(PerLayerSizes, Recurrent):
    cell_class: type  # the layer's cell

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, backend="auto", batch_first=True, device=None, dtype=None):
        _check_torch_args(batch_first)
        cell = self.cell_class(input_size, hidden_size, bias, device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.bias = bias


class MinGRU(_MinLayer):
    """minGRU layer: ``MinGRU(input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
    bidirectional=False, backend="auto")``; state (L*D, B, H), as :class:`rnnkit.GRU`."""

    cell_class = MinGRUCell


class MinLSTM(_MinLayer):
    """minLSTM layer, arguments as :class:`MinGRU`. Its state is one tensor ``h``
    (L*D, B, H): the minLSTM has no separate cell state."""

    cell_class = MinLSTMCell
