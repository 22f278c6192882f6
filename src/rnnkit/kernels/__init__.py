"""Whole-sequence kernels with hand-written backpropagation through time.

Each kernel is an ``autograd.Function`` over a time-major sequence (T, B, I): the input
projection of all steps is one matrix product, the forward keeps what backward needs, backward
runs time in reverse carrying ``dh`` (and ``dc``), and weight gradients are one matrix product
over all steps. :func:`reference_sequence` (autograd over the cell's ``step``) is the ground truth.
"""

from .gru import GRUFunction, gru_sequence
from .lstm import LSTMFunction, lstm_sequence
from .reference import reference_sequence
from .rnn import RNNFunction, rnn_sequence

__all__ = [
    "RNNFunction", "LSTMFunction", "GRUFunction",
    "rnn_sequence", "lstm_sequence", "gru_sequence", "reference_sequence",
]
