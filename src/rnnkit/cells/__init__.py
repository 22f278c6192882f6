"""Cells: the equations of one time step, with torch.nn-compatible parameters."""

from .base import GatedCell, RecurrentCell, State
from .gru import GRUCell
from .indrnn import IndRNNCell
from .layer_norm import LayerNormGRUCell, LayerNormLSTMCell
from .lstm import LSTMCell
from .lstm_proj import ProjLSTMCell
from .min_rnn import MinGRUCell, MinLSTMCell
from .peephole import PeepholeLSTMCell
from .rnn import RNNCell
from .states import LSTMState

__all__ = ["RecurrentCell", "GatedCell", "State", "RNNCell", "LSTMCell", "LSTMState", "GRUCell",
           "MinGRUCell", "MinLSTMCell", "ProjLSTMCell",
           "LayerNormLSTMCell", "LayerNormGRUCell", "PeepholeLSTMCell", "IndRNNCell"]
