"""The long short-term memory cell."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..kernels.lstm import lstm_sequence
from .base import GatedCell
from .states import LSTMState

__all__ = ["LSTMCell", "LSTMGates", "LSTMState"]


class LSTMGates(NamedTuple):
    """The activated gates of one LSTM step, each (B, H): input, forget, candidate, output."""

    i: Tensor
    f: Tensor
    g: Tensor
    o: Tensor


class LSTMCell(GatedCell):
    r"""One step of the LSTM (Hochreiter & Schmidhuber 1997, with a forget gate).

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi}) &\text{input gate}\\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf}) &\text{forget gate}\\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg}) &\text{candidate ("gate") }\\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho}) &\text{output gate}\\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    In the code's symbols: ``a = x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh``
    split into ``i, f, g, o`` (each (B, H)); ``c = sigmoid(f) * c + sigmoid(i) * tanh(g)``;
    ``h = sigmoid(o) * tanh(c)``.

    Shapes: ``x_t`` (B, I); state :class:`LSTMState` ``(h, c)``, each (B, H); returns
    ``(h, LSTMState(h, c))``.

    Weights: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih`` (4H), ``bias_hh`` (4H);
    rows laid out by gate as ``i | f | g | o`` and initialised from U(-1/sqrt(H), 1/sqrt(H)),
    exactly as ``torch.nn.LSTMCell``.

    Reference loop::

        state = cell.initial_state(B)
        for t in range(T):
            y, state = cell.step(x[:, t], state)

    >>> cell = LSTMCell(3, 4)
    >>> y, (h, c) = cell.step(torch.zeros(2, 3), cell.initial_state(2))
    >>> tuple(c.shape)
    (2, 4)

    Parity with ``torch.nn.LSTMCell`` (same state dict, same step), and the gates in (0, 1):

    >>> _ = torch.manual_seed(0)
    >>> ref = torch.nn.LSTMCell(3, 4)
    >>> _ = cell.load_state_dict(ref.state_dict())
    >>> x, state = torch.randn(2, 3), LSTMState(torch.randn(2, 4), torch.randn(2, 4))
    >>> y, (h, c) = cell.step(x, state)
    >>> h_ref, c_ref = ref(x, tuple(state))
    >>> torch.allclose(h, h_ref), torch.allclose(c, c_ref), y is h
    (True, True, True)
    >>> i, f, g, o = cell.gates(x, state)
    >>> bool(((f > 0) & (f < 1)).all()), bool((g.abs() < 1).all())
    (True, True)
    """

    num_gates = 4

    def initial_state(self, batch, device=None, dtype=None) -> LSTMState:
        return LSTMState.zeros(batch, self.hidden_size, device, dtype)

    def gates(self, x_t: Tensor, state: LSTMState) -> LSTMGates:
        """The activated gates ``sigmoid(i), sigmoid(f), tanh(g), sigmoid(o)`` of one step."""
        h, c = state
        self._check_step(x_t, h, c)
        a = F.linear(x_t, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i, f, g, o = a.chunk(4, dim=1)  # each (B, H)
        return LSTMGates(torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o))

    def step(self, x_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        i, f, g, o = self.gates(x_t, state)
        c = f * state.c + i * g
        h = o * torch.tanh(c)
        return h, LSTMState(h, c)

    def kernel(self):
        return lstm_sequence
