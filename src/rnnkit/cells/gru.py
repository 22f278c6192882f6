"""The gated recurrent unit cell."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from ..kernels.gru import gru_sequence
from .base import GatedCell


class GRUGates(NamedTuple):
    """The activated gates of one GRU step, each (B, H): reset, update, candidate."""

    r: Tensor
    z: Tensor
    n: Tensor


class GRUCell(GatedCell):
    r"""One step of the GRU (Cho et al. 2014), in torch.nn's formulation.

    .. math::
        \begin{aligned}
        r_t &= \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr}) &\text{reset gate}\\
        z_t &= \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz}) &\text{update gate}\\
        n_t &= \tanh(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn}))\\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    In the code's symbols: ``ax = x_t @ weight_ih.T + bias_ih`` and
    ``ah = h @ weight_hh.T + bias_hh``, each split into ``r, z, n`` parts;
    ``r, z = sigmoid(ax_r + ah_r), sigmoid(ax_z + ah_z)``; ``n = tanh(ax_n + r * ah_n)``;
    ``h = (1 - z) * n + z * h``. One merged state: there is no separate cell state.

    Shapes: ``x_t`` (B, I), state ``h`` (B, H), returns ``(h, h)``.

    Weights: ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih`` (3H), ``bias_hh`` (3H);
    rows laid out ``r | z | n``, initialised from U(-1/sqrt(H), 1/sqrt(H)), exactly as
    ``torch.nn.GRUCell``.

    Reference loop::

        h = cell.initial_state(B)
        for t in range(T):
            y, h = cell.step(x[:, t], h)

    >>> cell = GRUCell(3, 4)
    >>> y, h = cell.step(torch.zeros(2, 3), cell.initial_state(2))
    >>> tuple(h.shape)
    (2, 4)

    Parity with ``torch.nn.GRUCell``, and ``h`` between the candidate and the old state:

    >>> _ = torch.manual_seed(0)
    >>> ref = torch.nn.GRUCell(3, 4)
    >>> _ = cell.load_state_dict(ref.state_dict())
    >>> x, h0 = torch.randn(2, 3), torch.randn(2, 4)
    >>> torch.allclose(cell.step(x, h0)[0], ref(x, h0))
    True
    >>> r, z, n = cell.gates(x, h0)
    >>> torch.allclose(cell.step(x, h0)[0], n + z * (h0 - n))
    True
    """

    num_gates = 3

    def gates(self, x_t: Tensor, state: Tensor) -> GRUGates:
        """The activated gates ``r, z`` and the candidate ``n`` of one step."""
        self._check_step(x_t, state)
        ax_r, ax_z, ax_n = F.linear(x_t, self.weight_ih, self.bias_ih).chunk(3, dim=1)
        ah_r, ah_z, ah_n = F.linear(state, self.weight_hh, self.bias_hh).chunk(3, dim=1)
        r = torch.sigmoid(ax_r + ah_r)
        z = torch.sigmoid(ax_z + ah_z)
        n = torch.tanh(ax_n + r * ah_n)
        return GRUGates(r, z, n)

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        r, z, n = self.gates(x_t, state)
        h = (1 - z) * n + z * state
        return h, h

    def kernel(self):
        return gru_sequence
