"""``rnnkit.RNN``, ``rnnkit.LSTM``, ``rnnkit.GRU``: torch.nn's constructors, always batch first."""

from __future__ import annotations

from ..cells import GRUCell, LSTMCell, RNNCell
from .recurrent import Recurrent


def _check_torch_args(batch_first, proj_size):
    if batch_first is not True:
        raise ValueError("rnnkit layers are always batch first: x is (B, T, I)")
    if proj_size:
        raise ValueError("proj_size is not supported")


class RNN(Recurrent):
    """Vanilla RNN layer (:class:`~rnnkit.cells.RNNCell`), arguments as ``torch.nn.RNN``.

    >>> import torch
    >>> rnn = RNN(8, 16, num_layers=2, bidirectional=True)
    >>> out, h = rnn(torch.randn(4, 10, 8))
    >>> tuple(out.shape), tuple(h.shape)
    ((4, 10, 32), (4, 4, 16))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 dropout=0.0, bidirectional=False, backend="auto", batch_first=True,
                 device=None, dtype=None):
        _check_torch_args(batch_first, 0)
        cell = RNNCell(input_size, hidden_size, bias, nonlinearity, device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.nonlinearity = nonlinearity
        self.bias = bias


class LSTM(Recurrent):
    """LSTM layer (:class:`~rnnkit.cells.LSTMCell`), arguments as ``torch.nn.LSTM``.

    The state is an :class:`~rnnkit.cells.LSTMState` ``(h, c)``, each (L*D, B, H).

    >>> import torch
    >>> lstm = LSTM(8, 16, num_layers=2)
    >>> out, (h, c) = lstm(torch.randn(4, 10, 8))
    >>> tuple(out.shape), tuple(c.shape)
    ((4, 10, 16), (2, 4, 16))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, backend="auto", batch_first=True, proj_size=0,
                 device=None, dtype=None):
        _check_torch_args(batch_first, proj_size)
        cell = LSTMCell(input_size, hidden_size, bias, device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.bias = bias


class GRU(Recurrent):
    """GRU layer (:class:`~rnnkit.cells.GRUCell`), arguments as ``torch.nn.GRU``.

    >>> import torch
    >>> gru = GRU(8, 16)
    >>> out, h = gru(torch.randn(4, 10, 8))
    >>> tuple(h.shape)
    (1, 4, 16)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, dropout=0.0,
                 bidirectional=False, backend="auto", batch_first=True, device=None, dtype=None):
        _check_torch_args(batch_first, 0)
        cell = GRUCell(input_size, hidden_size, bias, device=device, dtype=dtype)
        super().__init__(cell, num_layers, bidirectional, dropout, backend)
        self.bias = bias
