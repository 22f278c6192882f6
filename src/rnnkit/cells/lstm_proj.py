"""The LSTM with a projection of its output (Sak et al. 2014), as ``torch.nn.LSTM(proj_size=P)``."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..kernels.lstm_proj import proj_lstm_sequence
from .lstm import LSTMCell
from .states import LSTMState

__all__ = ["ProjLSTMCell", "check_proj_size"]


def check_proj_size(proj_size, hidden_size) -> None:
    """torch.nn.LSTM's checks of ``proj_size``, with its exception kinds: an int in [0, H)."""
    if not isinstance(proj_size, int) or isinstance(proj_size, bool):
        raise TypeError(f"proj_size should be of type int, got: {type(proj_size).__name__}")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections, "
                         f"got {proj_size}")
    if proj_size >= hidden_size:
        raise ValueError(f"proj_size has to be smaller than hidden_size, got proj_size="
                         f"{proj_size} and hidden_size={hidden_size}")


class ProjLSTMCell(LSTMCell):
    r"""One step of the LSTM whose output is projected to ``proj_size`` P < H features.

    .. math::
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = W_{hr} (o_t \odot \tanh(c_t))

    with the gates of :class:`LSTMCell`, read from the projected ``h_{t-1}``. Shapes: ``x_t``
    (B, I); state :class:`LSTMState` ``(h (B, P), c (B, H))``; returns ``(h, state)``.

    Weights: ``weight_ih`` (4H, I), ``weight_hh`` (4H, P), ``bias_ih``, ``bias_hh`` (4H),
    ``weight_hr`` (P, H), registered in torch.nn's order and all initialised from
    U(-1/sqrt(H), 1/sqrt(H)), as ``torch.nn.LSTM(proj_size=P)``. Its hand-written kernel is
    :func:`rnnkit.kernels.lstm_proj.proj_lstm_sequence` (no native C++ loop).

    >>> cell = ProjLSTMCell(3, 5, proj_size=2)
    >>> y, (h, c) = cell.step(torch.zeros(4, 3), cell.initial_state(4))
    >>> tuple(y.shape), tuple(c.shape), [n for n, _ in cell.named_parameters()][-1]
    ((4, 2), (4, 5), 'weight_hr')
    """

    PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, proj_size: int = 1,
                 device: torch.device | None = None, dtype: torch.dtype | None = None):
        if isinstance(hidden_size, int) and hidden_size > 0:
            check_proj_size(proj_size, hidden_size)
            if proj_size == 0:
                raise ValueError("ProjLSTMCell needs proj_size > 0 (use LSTMCell for none)")
        super().__init__(input_size, hidden_size, bias, device=device, dtype=dtype)
        kw = {"device": device, "dtype": dtype}
        self.proj_size = proj_size
        self.output_size = proj_size  # what the layer above reads (h), not hidden_size (c)
        # weight_hh keeps its place in the registration order (torch.nn's order), with P columns
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, proj_size, **kw))
        self.weight_hr = nn.Parameter(torch.empty(proj_size, hidden_size, **kw))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if hasattr(self, "proj_size"):  # not from GatedCell.__init__: weight_hr is not there yet
            super().reset_parameters()

    def _spawn_kwargs(self) -> dict:
        return {"bias": self.bias, "proj_size": self.proj_size}

    def extra_repr(self) -> str:
        return super().extra_repr() + f", proj_size={self.proj_size}"

    def initial_state(self, batch, device=None, dtype=None) -> LSTMState:
        return LSTMState.zeros(batch, self.proj_size, device, dtype, cell_size=self.hidden_size)

    def _check_step(self, x_t: Tensor, h: Tensor, c: Tensor | None = None) -> None:
        super()._check_step(x_t, c, c)  # x_t and c (B, H) as in the LSTM
        if h.shape != (x_t.shape[0], self.proj_size):
            raise ValueError(
                f"{type(self).__name__}.step expects h of shape {(x_t.shape[0], self.proj_size)} "
                f"(B, proj_size), got {tuple(h.shape)}"
            )

    def step(self, x_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        i, f, g, o = self.gates(x_t, state)
        c = f * state.c + i * g
        h = F.linear(o * torch.tanh(c), self.weight_hr)  # (B, P)
        return h, LSTMState(h, c)

    def kernel(self):
        return proj_lstm_sequence
