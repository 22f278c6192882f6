"""Layers: ``Recurrent(cell)``, the torch.nn-compatible ``RNN``, ``LSTM``, ``GRU``, and
``MinGRU``, ``MinLSTM`` (a parallel scan)."""

from .min_rnns import MinGRU, MinLSTM
from .recurrent import BACKENDS, Recurrent
from .rnns import GRU, LSTM, RNN

__all__ = ["Recurrent", "RNN", "LSTM", "GRU", "MinGRU", "MinLSTM", "BACKENDS"]
