r"""minGRU and minLSTM (Feng et al. 2024, "Were RNNs All We Needed?"): gates that read only x_t.

Both are linear recurrences ``h_t = a_t * h_{t-1} + b_t`` whose ``a_t, b_t`` depend on the
input alone, so besides the step (generation, the reference path) a whole sequence runs as
one chunked parallel scan (:mod:`rnnkit.kernels.linear_scan`). :class:`rnnkit.Recurrent`
uses the scan as these cells' kernel; ``cell.scan(x, h0, lengths)`` is the same for one cell.

Step and scan share :meth:`coefficients` (``a_t, b_t`` from the input projection), so they
compute the same numbers; the scan runs in real space, so the initial state may be anything.
The candidate uses the paper's ``g(x) = x + 0.5`` for ``x >= 0``, else ``sigmoid(x)`` (the
activation of its log-space version; it keeps ``h~`` positive, as the paper's models have it).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ..kernels.linear_scan import g, masked_scan
from .base import RecurrentCell


class _MinCell(RecurrentCell):
    """Shared parts: one input projection ``weight_ih`` (G*H, I), ``bias_ih`` (G*H), both from
    U(-1/sqrt(I), 1/sqrt(I)) as ``torch.nn.Linear``; no recurrent weight."""

    num_gates = 2
    torch_named = True  # a layer owns the parameters: weight_ih_l0, bias_ih_l0_reverse...
    PARAMETERS = ("weight_ih", "bias_ih")

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: torch.device | None = None, dtype: torch.dtype | None = None):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        kw = {"device": device, "dtype": dtype}
        self.weight_ih = nn.Parameter(torch.empty(self.num_gates * hidden_size, input_size, **kw))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(self.num_gates * hidden_size, **kw))
        else:
            self.register_parameter("bias_ih", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        bound = 1.0 / math.sqrt(self.input_size)
        with torch.no_grad():
            for name in self.PARAMETERS:  # by name: a layer may own them (alias)
                p = getattr(self, name)
                if p is not None:
                    nn.init.uniform_(p, -bound, bound)

    def spawn(self, input_size: int) -> _MinCell:
        p = self.weight_ih
        return type(self)(input_size, self.hidden_size, self.bias, p.device, p.dtype)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        return s if self.bias else s + ", bias=False"

    def _check(self, x: Tensor, h: Tensor, where: str, shape: str) -> None:
        if x.dim() != len(shape.split(",")) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}.{where} expects x of shape ({shape}{self.input_size}), "
                f"got {tuple(x.shape)}"
            )
        want = (x.shape[-2], self.hidden_size)
        if h.shape != want:
            raise ValueError(
                f"{type(self).__name__}.{where} expects a state of shape {want}, "
                f"got {tuple(h.shape)}"
            )

    # The two modes ---------------------------------------------------------------------------
    def coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:  # pragma: no cover
        """``(a, b)`` of ``h = a * h + b`` from the projection ``k`` (..., G*H)."""
        raise NotImplementedError(f"{type(self).__name__} must implement coefficients(k)")

    def step(self, x_t: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        self._check(x_t, state, "step", "B, ")
        a, b = self.coefficients(F.linear(x_t, self.weight_ih, self.bias_ih))
        h = torch.addcmul(b, a, state)
        return h, h

    def scan(self, x: Tensor, h0: Tensor, lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """The whole sequence at once: x (T, B, I) time-major, h0 (B, H), optional
        ``lengths`` (B,) in [1, T]. Returns ``(hs, final)``: hs (T, B, H) (past a row's length
        its state stays that of its last step), final (B, H) = ``hs[-1]``."""
        self._check(x, h0, "scan", "T, B, ")
        # F.linear, not kernels.common.input_projection: its oneDNN ops have no autograd
        a, b = self.coefficients(F.linear(x, self.weight_ih, self.bias_ih))
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
            T, B = x.shape[0], x.shape[1]
            if lengths.shape != (B,) or lengths.is_floating_point() or lengths.dtype == torch.bool:
                raise ValueError(f"lengths must be ({B},) integers, got {lengths.dtype} "
                                 f"of shape {tuple(lengths.shape)}")
            if int(lengths.min()) < 1 or int(lengths.max()) > T:
                raise ValueError(f"every length must be in [1, T={T}]; got {lengths.tolist()}")
            lengths = lengths.long()
        hs = masked_scan(a, b, h0, lengths)
        return hs, hs[-1]

    def kernel(self):
        return min_rnn_sequence


def min_rnn_sequence(cell: _MinCell, x: Tensor, h0: Tensor) -> tuple[Tensor, Tensor]:
    """The layer's kernel protocol: ``(outputs, states)``, both (T, B, H). The layer picks each
    row's final state at its own length (the recurrence is causal: later steps cannot change
    earlier states) and zeroes the outputs past it."""
    hs, _ = cell.scan(x, h0)
    return hs, hs


class MinGRUCell(_MinCell):
    r"""minGRU: an update gate and a candidate, both from ``x_t`` only.

    .. math::
        z_t = \sigma(W_z x_t + b_z), \quad \tilde h_t = g(W_h x_t + b_h), \quad
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    ``weight_ih`` (2H, I) and ``bias_ih`` (2H), rows ``z | h``; ``a = 1 - z``, ``b = z g(k_h)``.

    >>> _ = torch.manual_seed(0)
    >>> cell = MinGRUCell(3, 4)
    >>> x, h0 = torch.randn(6, 2, 3), torch.randn(2, 4)
    >>> hs, final = cell.scan(x, h0)
    >>> h = h0
    >>> for t in range(6):
    ...     y, h = cell.step(x[t], h)
    >>> torch.allclose(final, h, atol=1e-6)
    True
    """

    num_gates = 2

    def coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        kz, kh = k.chunk(2, dim=-1)
        z = torch.sigmoid(kz)
        return 1 - z, z * g(kh)


class MinLSTMCell(_MinCell):
    r"""minLSTM: forget and input gates from ``x_t`` only, normalised to sum to one.

    .. math::
        f_t = \sigma(W_f x_t + b_f), \quad i_t = \sigma(W_i x_t + b_i), \quad
        \tilde h_t = g(W_h x_t + b_h), \quad
        h_t = \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t

    ``weight_ih`` (3H, I) and ``bias_ih`` (3H), rows ``f | i | h``; one state ``h`` (B, H);
    ``a = f / (f + i)``, ``b = i / (f + i) g(k_h)``.

    >>> _ = torch.manual_seed(0)
    >>> cell = MinLSTMCell(3, 4)
    >>> x, h0 = torch.randn(6, 2, 3), torch.randn(2, 4)
    >>> hs, final = cell.scan(x, h0, lengths=torch.tensor([6, 2]))
    >>> h = h0[1:]
    >>> for t in range(2):
    ...     y, h = cell.step(x[t, 1:], h)
    >>> torch.allclose(final[1:], h, atol=1e-6), torch.equal(hs[2, 1], hs[5, 1])
    (True, True)
    """

    num_gates = 3

    def coefficients(self, k: Tensor) -> tuple[Tensor, Tensor]:
        kf, ki, kh = k.chunk(3, dim=-1)
        # f / (f + i) = sigmoid(log f - log i): no 0 / 0 when both gates underflow
        d = F.logsigmoid(kf) - F.logsigmoid(ki)
        return torch.sigmoid(d), torch.sigmoid(-d) * g(kh)
