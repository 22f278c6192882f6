r"""The peephole LSTM cell (Gers & Schmidhuber 2000, "Recurrent nets that time and count").

Diagonal peephole connections let the gates read the cell state: the input and forget gates
``c_{t-1}``, the output gate the new ``c_t``. With the peepholes at zero (their initial value)
the cell is ``torch.nn.LSTMCell``, with the same ``weight_ih``, ``weight_hh``, ``bias_ih``,
``bias_hh``. It has no kernel: a layer runs it on the reference path.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import GatedCell
from .states import LSTMState

__all__ = ["PeepholeLSTMCell"]

PEEPHOLES = ("weight_ci", "weight_cf", "weight_co")


class PeepholeLSTMCell(GatedCell):
    r"""One step of the LSTM with diagonal peephole connections (Gers & Schmidhuber 2000).

    .. math::
        \begin{aligned}
        i_t &= \sigma(W_{ii} x_t + b_{ii} + W_{hi} h_{t-1} + b_{hi} + w_{ci} \odot c_{t-1})\\
        f_t &= \sigma(W_{if} x_t + b_{if} + W_{hf} h_{t-1} + b_{hf} + w_{cf} \odot c_{t-1})\\
        g_t &= \tanh(W_{ig} x_t + b_{ig} + W_{hg} h_{t-1} + b_{hg})\\
        c_t &= f_t \odot c_{t-1} + i_t \odot g_t\\
        o_t &= \sigma(W_{io} x_t + b_{io} + W_{ho} h_{t-1} + b_{ho} + w_{co} \odot c_t)\\
        h_t &= o_t \odot \tanh(c_t)
        \end{aligned}

    Parameters: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh`` (4H), as
    ``torch.nn.LSTMCell`` (rows ``i | f | g | o``, U(-1/sqrt(H), 1/sqrt(H))); the peepholes
    ``weight_ci``, ``weight_cf``, ``weight_co`` (H), initialised to 0 (the cell starts as a plain
    LSTM; their gradients are not zero, so they learn). ``bias=False`` drops the two biases only.

    State :class:`LSTMState` ``(h, c)``, each (B, H); ``step`` returns ``(h, LSTMState(h, c))``.

    >>> _ = torch.manual_seed(0)
    >>> cell = PeepholeLSTMCell(3, 4)
    >>> ref = torch.nn.LSTMCell(3, 4)
    >>> _ = cell.load_state_dict(ref.state_dict(), strict=False)  # peepholes stay 0
    >>> x, state = torch.randn(2, 3), LSTMState(torch.randn(2, 4), torch.randn(2, 4))
    >>> y, (h, c) = cell.step(x, state)
    >>> h_ref, c_ref = ref(x, tuple(state))
    >>> torch.allclose(h, h_ref), torch.allclose(c, c_ref), cell.kernel() is None
    (True, True, True)
    """

    num_gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__(input_size, hidden_size, bias, device, dtype)
        for name in PEEPHOLES:
            setattr(self, name, nn.Parameter(torch.zeros(hidden_size, device=device, dtype=dtype)))

    def reset_parameters(self) -> None:
        super().reset_parameters()
        with torch.no_grad():
            for name in PEEPHOLES:  # by name: a layer may own them (alias)
                p = getattr(self, name, None)
                if p is not None:
                    p.zero_()

    def initial_state(self, batch, device=None, dtype=None) -> LSTMState:
        return LSTMState.zeros(batch, self.hidden_size, device, dtype)

    def step(self, x_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        h, c = state
        self._check_step(x_t, h, c)
        a = F.linear(x_t, self.weight_ih, self.bias_ih) + F.linear(h, self.weight_hh, self.bias_hh)
        i, f, g, o = a.chunk(4, dim=1)  # each (B, H)
        i = torch.sigmoid(i + self.weight_ci * c)
        f = torch.sigmoid(f + self.weight_cf * c)
        c = f * c + i * torch.tanh(g)
        h = torch.sigmoid(o + self.weight_co * c) * torch.tanh(c)
        return h, LSTMState(h, c)
