"""Layers: ``Recurrent(cell)``, the torch.nn-compatible ``RNN``, ``LSTM``, ``GRU``, and
``MinGRU``, ``MinLSTM`` (a parallel scan), ``IndRNN``; ``StackedRecurrent`` for per-layer
hidden sizes."""

from .min_rnns import MinGRU, MinLSTM
from .recurrent import BACKENDS, Recurrent
from .rnns import GRU, LSTM, RNN, IndRNN
from .stacked import StackedRecurrent

__all__ = ["Recurrent", "RNN", "LSTM", "GRU", "MinGRU", "MinLSTM", "BACKENDS", "IndRNN",
           "StackedRecurrent"]
