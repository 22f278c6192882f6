"""rnnkit: recurrent neural networks on PyTorch.

The public API::

    rnnkit.RNNCell, rnnkit.LSTMCell, rnnkit.GRUCell, rnnkit.RecurrentCell, rnnkit.LSTMState
    rnnkit.Recurrent, rnnkit.RNN, rnnkit.LSTM, rnnkit.GRU
"""

from .cells import GRUCell, LSTMCell, LSTMState, RecurrentCell, RNNCell
from .layers import GRU, LSTM, RNN, Recurrent

__version__ = "0.1.0"

__all__ = [
    "RecurrentCell", "RNNCell", "LSTMCell", "GRUCell", "LSTMState",
    "Recurrent", "RNN", "LSTM", "GRU", "__version__",
]
