r"""The independently recurrent cell (Li, Li, Cook, Zhu & Gao 2018, "Independently Recurrent
Neural Network (IndRNN): Building A Longer and Deeper RNN").

Each hidden unit has one recurrent weight of its own (a vector ``u``, not a matrix), so units
interact only through the layers above; with ``relu`` and ``|u| <= 1`` gradients neither
explode nor vanish over long sequences. It has no kernel: a layer runs it on the reference
path (autograd over :meth:`IndRNNCell.step`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import RecurrentCell

__all__ = ["IndRNNCell"]

_ACTIVATIONS = {"relu": torch.relu, "tanh": torch.tanh}


def _check_size(name: str, value) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


class IndRNNCell(RecurrentCell):
    r"""One step of the IndRNN (Li et al. 2018).

    .. math::
        h_t = \phi(W_{ih} x_t + b_{ih} + u \odot h_{t-1} + b_{hh}),
        \qquad \phi \in \{\mathrm{relu}, \tanh\}

    In the code's symbols: ``h = act(x_t @ weight_ih.T + bias_ih + weight_hh * h + bias_hh)``;
    ``weight_hh`` is the per-unit recurrent vector ``u`` (H,), named so that a layer saves it
    as ``weight_hh_l0`` like torch.nn's recurrent weights.

    Parameters: ``weight_ih`` (H, I), ``bias_ih``, ``bias_hh`` (H) from U(-1/sqrt(H),
    1/sqrt(H)) as torch.nn (``bias=False`` drops both biases); ``weight_hh`` (H) from U(0, 1),
    the paper's initialisation (U(0, recurrent_max) when ``recurrent_max`` < 1).

    ``recurrent_max``: None (default) or a positive float; the step then uses
    ``weight_hh.clamp(-recurrent_max, recurrent_max)``, the paper's constraint on ``|u|``
    (e.g. ``2 ** (1 / T)`` for relu over T steps). The parameter itself is not changed; an entry
    outside the bound gets no gradient while it stays there.

    State ``h`` (B, H); ``step`` returns ``(h, h)``.

    >>> _ = torch.manual_seed(0)
    >>> cell = IndRNNCell(3, 4)
    >>> x, h = torch.randn(2, 3), torch.randn(2, 4)
    >>> y, h_new = cell.step(x, h)
    >>> ref = torch.relu(x @ cell.weight_ih.T + cell.bias_ih + cell.weight_hh * h + cell.bias_hh)
    >>> torch.allclose(y, ref), y is h_new, cell.kernel() is None
    (True, True, True)
    >>> bool(((cell.weight_hh >= 0) & (cell.weight_hh <= 1)).all())
    True
    """

    torch_named = True  # a layer owns the parameters: weight_ih_l0, weight_hh_l1_reverse...
    PARAMETERS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "relu",
        recurrent_max: float | None = None,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ):
        super().__init__()
        _check_size("input_size", input_size)
        _check_size("hidden_size", hidden_size)
        if nonlinearity not in _ACTIVATIONS:
            raise ValueError(f"nonlinearity must be 'relu' or 'tanh', got {nonlinearity!r}")
        if recurrent_max is not None and (
            isinstance(recurrent_max, bool) or not isinstance(recurrent_max, (int, float))
            or not recurrent_max > 0 or math.isinf(recurrent_max)
        ):
            raise ValueError(
                f"recurrent_max must be None or a positive finite float, got {recurrent_max!r}"
            )
        self.input_size, self.hidden_size = input_size, hidden_size
        self.bias, self.nonlinearity = bool(bias), nonlinearity
        self.recurrent_max = None if recurrent_max is None else float(recurrent_max)
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, **kw))
        for name in ("bias_ih", "bias_hh"):
            if bias:
                setattr(self, name, nn.Parameter(torch.empty(hidden_size, **kw)))
            else:
                self.register_parameter(name, None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.hidden_size)
        top = 1.0 if self.recurrent_max is None else min(1.0, self.recurrent_max)
        with torch.no_grad():  # by name: a layer may own them (alias)
            nn.init.uniform_(self.weight_ih, -bound, bound)
            nn.init.uniform_(self.weight_hh, 0.0, top)
            for name in ("bias_ih", "bias_hh"):
                p = getattr(self, name)
                if p is not None:
                    nn.init.uniform_(p, -bound, bound)

    def spawn(self, input_size: int) -> IndRNNCell:
        p = self.weight_ih
        return type(self)(input_size, self.hidden_size, self.bias, self.nonlinearity,
                          self.recurrent_max, device=p.device, dtype=p.dtype)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.nonlinearity != "relu":
            s += f", nonlinearity={self.nonlinearity!r}"
        if self.recurrent_max is not None:
            s += f", recurrent_max={self.recurrent_max}"
        return s

    def recurrent_weight(self) -> Tensor:
        """``u`` as the step uses it: ``weight_hh``, clamped to ``recurrent_max`` if set."""
        u = self.weight_hh
        m = self.recurrent_max
        return u if m is None else u.clamp(-m, m)

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        if x_t.dim() != 2 or x_t.shape[1] != self.input_size:
            raise ValueError(
                f"IndRNNCell.step expects x_t of shape (B, {self.input_size}), "
                f"got {tuple(x_t.shape)}"
            )
        want = (x_t.shape[0], self.hidden_size)
        if not isinstance(state, Tensor) or state.shape != want:
            got = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
            raise ValueError(f"IndRNNCell.step expects a state of shape {want}, got {got}")
        a = F.linear(x_t, self.weight_ih, self.bias_ih) + self.recurrent_weight() * state
        if self.bias_hh is not None:
            a = a + self.bias_hh
        h = _ACTIVATIONS[self.nonlinearity](a)  # (B, H)
        return h, h
