r"""Layer-normalised LSTM and GRU cells (Ba, Kiros & Hinton 2016, "Layer Normalization").

Both normalise the input product ``W_ih x_t`` and the recurrent product ``W_hh h_{t-1}``
separately, each over all its ``G*H`` pre-activations at once (the paper's formulation, as in
haste's ``LayerNormLSTM`` / ``LayerNormGRU``), then apply a learnable gain and bias to each.
The LN biases take the place of ``torch.nn``'s ``bias_ih`` / ``bias_hh`` (an affine bias added
before a normalisation would be cancelled by it), so with the normalisation removed the
equations are exactly ``torch.nn.LSTMCell`` / ``torch.nn.GRUCell``. The LSTM also normalises
its cell state before the output ``tanh`` (a third gain and bias, of size H).

Parameters are direct (no submodules), so a :class:`rnnkit.Recurrent` layer owns them under
torch.nn-style names: ``weight_ih_l0``, ``ln_ih_weight_l0``, ``ln_c_bias_l1_reverse``...
These cells have no kernel: a layer runs them on the reference path (autograd over
:meth:`step`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .base import GatedCell
from .states import LSTMState

__all__ = ["LayerNormLSTMCell", "LayerNormGRUCell"]


class _LayerNormCell(GatedCell):
    """``weight_ih`` (G*H, I) and ``weight_hh`` (G*H, H) from U(-1/sqrt(H), 1/sqrt(H)); LN gains
    ``ln_ih_weight``, ``ln_hh_weight`` (G*H) at 1 and biases ``ln_ih_bias``, ``ln_hh_bias``
    (G*H) at 0 (absent with ``bias=False``: the normalised products get gains only)."""

    PARAMETERS = ("weight_ih", "weight_hh")  # the uniformly initialised ones
    LN_PARAMETERS: tuple[tuple[str, int | None], ...] = (("ih", None), ("hh", None))
    # (name, size in units of H; None: G*H, one entry per gate)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        eps: float = 1e-5,
        device: torch.device | None = None,
        dtype: torch.dtype | None = None,
    ):
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps > 0:
            raise ValueError(f"eps must be a positive float, got {eps!r}")
        super().__init__(input_size, hidden_size, bias=False, device=device, dtype=dtype)
        del self.bias_ih, self.bias_hh  # the LN biases take their place
        self.bias, self.eps = bias, float(eps)
        kw = {"device": device, "dtype": dtype}
        for name, size in self.LN_PARAMETERS:
            n = hidden_size * (self.num_gates if size is None else size)
            setattr(self, f"ln_{name}_weight", nn.Parameter(torch.ones(n, **kw)))
            if bias:
                setattr(self, f"ln_{name}_bias", nn.Parameter(torch.zeros(n, **kw)))
            else:
                self.register_parameter(f"ln_{name}_bias", None)

    def reset_parameters(self) -> None:
        super().reset_parameters()  # weight_ih, weight_hh
        if not hasattr(self, "eps"):
            return  # called from GatedCell.__init__: the LN parameters are not there yet
        with torch.no_grad():
            for name, _ in self.LN_PARAMETERS:  # by name: a layer may own them (alias)
                getattr(self, f"ln_{name}_weight").fill_(1.0)
                b = getattr(self, f"ln_{name}_bias")
                if b is not None:
                    b.zero_()

    def _spawn_kwargs(self) -> dict:
        return {"bias": self.bias, "eps": self.eps}

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", eps={self.eps}" if self.eps != 1e-5 else "")

    def _ln(self, a: Tensor, name: str) -> Tensor:
        w, b = getattr(self, f"ln_{name}_weight"), getattr(self, f"ln_{name}_bias")
        return F.layer_norm(a, (a.shape[-1],), w, b, self.eps)

    def products(self, x_t: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """The normalised products ``LN(W_ih x_t)``, ``LN(W_hh h)``, each (B, G*H)."""
        ax = self._ln(F.linear(x_t, self.weight_ih), "ih")
        return ax, self._ln(F.linear(h, self.weight_hh), "hh")


class LayerNormLSTMCell(_LayerNormCell):
    r"""One step of the layer-normalised LSTM (Ba et al. 2016, section 3.1 / supplement).

    .. math::
        \begin{aligned}
        (a_i, a_f, a_g, a_o) &= \mathrm{LN}(W_{ih} x_t; \gamma_{ih}, \beta_{ih})
                              + \mathrm{LN}(W_{hh} h_{t-1}; \gamma_{hh}, \beta_{hh})\\
        c_t &= \sigma(a_f) \odot c_{t-1} + \sigma(a_i) \odot \tanh(a_g)\\
        h_t &= \sigma(a_o) \odot \tanh(\mathrm{LN}(c_t; \gamma_c, \beta_c))
        \end{aligned}

    ``LN(v; g, b) = g * (v - mean(v)) / sqrt(var(v) + eps) + b`` over the last axis (the
    biased variance); the two products are normalised over all 4H pre-activations.

    Parameters: ``weight_ih`` (4H, I), ``weight_hh`` (4H, H) (rows ``i | f | g | o``, from
    U(-1/sqrt(H), 1/sqrt(H))); ``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``,
    ``ln_hh_bias`` (4H), ``ln_c_weight``, ``ln_c_bias`` (H): gains 1, biases 0.

    State :class:`LSTMState` ``(h, c)``, each (B, H); ``step`` returns ``(h, LSTMState(h, c))``.

    >>> _ = torch.manual_seed(0)
    >>> cell = LayerNormLSTMCell(3, 4)
    >>> y, (h, c) = cell.step(torch.randn(2, 3), cell.initial_state(2))
    >>> tuple(h.shape), tuple(c.shape), y is h, cell.kernel() is None
    ((2, 4), (2, 4), True, True)
    """

    num_gates = 4
    LN_PARAMETERS = (("ih", None), ("hh", None), ("c", 1))

    def initial_state(self, batch, device=None, dtype=None) -> LSTMState:
        return LSTMState.zeros(batch, self.hidden_size, device, dtype)

    def step(self, x_t: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        h, c = state
        self._check_step(x_t, h, c)
        ax, ah = self.products(x_t, h)
        i, f, g, o = (ax + ah).chunk(4, dim=1)  # each (B, H)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(self._ln(c, "c"))
        return h, LSTMState(h, c)


class LayerNormGRUCell(_LayerNormCell):
    r"""One step of the layer-normalised GRU (haste's ``LayerNormGRU``, torch.nn's GRU layout).

    .. math::
        \begin{aligned}
        (x_r, x_z, x_n) &= \mathrm{LN}(W_{ih} x_t; \gamma_{ih}, \beta_{ih})\\
        (h_r, h_z, h_n) &= \mathrm{LN}(W_{hh} h_{t-1}; \gamma_{hh}, \beta_{hh})\\
        r_t &= \sigma(x_r + h_r), \quad z_t = \sigma(x_z + h_z)\\
        n_t &= \tanh(x_n + r_t \odot h_n)\\
        h_t &= (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{aligned}

    Each product is normalised over all its 3H pre-activations; ``beta_hh``'s ``n`` part sits
    inside the reset product, as ``torch.nn.GRU``'s ``b_hn``.

    Parameters: ``weight_ih`` (3H, I), ``weight_hh`` (3H, H) (rows ``r | z | n``, from
    U(-1/sqrt(H), 1/sqrt(H))); ``ln_ih_weight``, ``ln_ih_bias``, ``ln_hh_weight``,
    ``ln_hh_bias`` (3H): gains 1, biases 0. State ``h`` (B, H); ``step`` returns ``(h, h)``.

    >>> _ = torch.manual_seed(0)
    >>> cell = LayerNormGRUCell(3, 4)
    >>> y, h = cell.step(torch.randn(2, 3), cell.initial_state(2))
    >>> tuple(h.shape), y is h
    ((2, 4), True)
    """

    num_gates = 3

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self._check_step(x_t, state)
        ax, ah = self.products(x_t, state)
        x_r, x_z, x_n = ax.chunk(3, dim=1)
        h_r, h_z, h_n = ah.chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = (1 - z) * n + z * state
        return h, h
