"""The vanilla (Elman) RNN cell."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ..kernels.rnn import rnn_sequence
from .base import GatedCell

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}


class RNNCell(GatedCell):
    r"""One step of the vanilla RNN.

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}),
        \qquad \phi \in \{\tanh, \mathrm{relu}\}

    In the code's symbols: ``h = act(x_t @ weight_ih.T + bias_ih + h @ weight_hh.T + bias_hh)``.
    (The output projection ``y_t = W_hy h_t`` of the classic formulation belongs to the task
    head, e.g. the language model's decoder.)

    Shapes: ``x_t`` (B, I), state ``h`` (B, H), returns ``(h, h)``.

    Weights: ``weight_ih`` (H, I), ``weight_hh`` (H, H), ``bias_ih`` (H), ``bias_hh`` (H),
    initialised from U(-1/sqrt(H), 1/sqrt(H)), exactly as ``torch.nn.RNNCell``.

    Reference loop::

        h = cell.initial_state(B)
        for t in range(T):
            y, h = cell.step(x[:, t], h)

    >>> cell = RNNCell(3, 4)
    >>> y, h = cell.step(torch.zeros(2, 3), cell.initial_state(2))
    >>> tuple(y.shape)
    (2, 4)

    The parameters are ``torch.nn.RNNCell``'s, so its state dict loads and the step agrees:

    >>> _ = torch.manual_seed(0)
    >>> ref = torch.nn.RNNCell(3, 4, nonlinearity="relu")
    >>> cell = RNNCell(3, 4, nonlinearity="relu")
    >>> cell.load_state_dict(ref.state_dict())
    <All keys matched successfully>
    >>> x, h = torch.randn(2, 3), torch.randn(2, 4)
    >>> torch.allclose(cell.step(x, h)[0], ref(x, h))
    True
    """

    num_gates = 1

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in _ACTIVATIONS:
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def _spawn_kwargs(self) -> dict:
        return {"bias": self.bias, "nonlinearity": self.nonlinearity}

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self._check_step(x_t, state)
        a = F.linear(x_t, self.weight_ih, self.bias_ih) + F.linear(
            state, self.weight_hh, self.bias_hh
        )
        h = _ACTIVATIONS[self.nonlinearity](a)  # (B, H)
        return h, h

    def kernel(self):
        return rnn_sequence
