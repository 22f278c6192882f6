"""Layers: ``Recurrent(cell)`` and the torch.nn-compatible ``RNN``, ``LSTM``, ``GRU``."""

from .recurrent import BACKENDS, Recurrent
from .rnns import GRU, LSTM, RNN

__all__ = ["Recurrent", "RNN", "LSTM", "GRU", "BACKENDS"]
