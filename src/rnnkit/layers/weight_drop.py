"""``WeightDrop``: DropConnect on a recurrent layer's hidden-to-hidden weights.

AWD-LSTM's regulariser (Merity et al. 2017, after Wan et al. 2013): once per forward pass, a
Bernoulli mask zeroes entries of ``weight_hh`` (scaled by ``1 / (1 - weight_dropout)``), and the
same dropped matrix serves every time step. Dropping weights, not activations, leaves the
recurrence itself untouched, so the layer keeps its fast paths.

No monkeypatching: the masked weights reach the layer through ``torch.func.functional_call``,
which substitutes them for the parameters of that name for the duration of one call, through
the module's own parameter lookup. rnnkit's cells read their weights by name from the layer
(:mod:`rnnkit.layers.naming`), and ``torch.nn.LSTM`` notices the substitution (its
``_flat_weights`` are refreshed), so it works on every backend of :class:`rnnkit.Recurrent`
(``"kernel"``, its native loop, ``"torch"``, ``"reference"``) and on ``torch.nn``'s RNN layers.
The gradient flows through the mask into the raw parameters, which stay the layer's
``nn.Parameter`` objects, under their own names.
"""

from __future__ import annotations

import re

from torch import nn
from torch.func import functional_call

from .dropouts import check_dropout, hide_child_in_state_dict, keep_mask

__all__ = ["WeightDrop"]


class WeightDrop(nn.Module):
    """DropConnect on the parameters ``names`` of ``layer``, one mask per forward call.

    Args:
        layer: an rnnkit ``Recurrent`` / ``LSTM`` / ``GRU`` / ``RNN``, a ``torch.nn`` RNN
            layer, or any module whose parameters are named as below.
        weight_dropout: probability of zeroing each entry, in [0, 1).
        names: which parameters to drop. A parameter matches a name when its full dotted name
            is that name, or its last part is the name itself or the name with torch.nn's layer
            suffix (``weight_hh`` matches ``weight_hh_l0``, ``weight_hh_l1_reverse``, and the
            ``weight_hh`` of a cell inside a wrapper, ``cells.0.cell.weight_hh``).

    ``forward(*args, **kwargs)`` is the layer's. In eval mode, or with ``weight_dropout == 0``,
    it is exactly ``layer(*args, **kwargs)``. In training, for every matched parameter ``w`` in
    ``named_parameters()`` order, a mask ``torch.empty_like(w).bernoulli_(1 - p) / (1 - p)`` is
    drawn and the layer runs with ``w * mask`` in place of ``w``.

    State dict: the keys are the wrapped layer's own (``weight_hh_l0``, not
    ``layer.weight_hh_l0``, nothing added: the masks are not state), so a checkpoint of the
    bare layer loads into the wrapped one and back; loading also accepts ``layer.``-prefixed
    keys. ``named_parameters()`` shows the submodule (``layer.weight_hh_l0``). The layer is
    wrapped, not changed: calling it directly runs it without weight dropout.

    >>> import torch, rnnkit
    >>> _ = torch.manual_seed(0)
    >>> lstm = rnnkit.LSTM(3, 4, num_layers=2)
    >>> wd = WeightDrop(lstm, weight_dropout=0.5)
    >>> wd.targets
    ('weight_hh_l0', 'weight_hh_l1')
    >>> x = torch.randn(2, 5, 3)
    >>> out, (h, c) = wd(x)  # training: a dropped weight_hh, drawn for this call
    >>> out.sum().backward()
    >>> lstm.weight_hh_l0.grad.abs().sum() > 0  # the raw weight learns
    tensor(True)
    >>> torch.equal(wd.eval()(x)[0], lstm(x)[0]), list(wd.state_dict())[:2]
    (True, ['weight_ih_l0', 'weight_hh_l0'])
    """

    def __init__(self, layer: nn.Module, weight_dropout: float = 0.5,
                 names: str | tuple[str, ...] = ("weight_hh",)):
        super().__init__()
        if not isinstance(layer, nn.Module):
            raise TypeError(f"WeightDrop wraps an nn.Module, got {type(layer)!r}")
        self.weight_dropout = check_dropout("weight_dropout", weight_dropout)
        self.names = (names,) if isinstance(names, str) else tuple(names)
        self.layer = layer
        self.targets = matching_parameters(layer, self.names)
        hide_child_in_state_dict(self, "layer")

    def extra_repr(self) -> str:
        return f"weight_dropout={self.weight_dropout}, targets={list(self.targets)}"

    def forward(self, *args, **kwargs):
        if not self.training or self.weight_dropout == 0.0:
            return self.layer(*args, **kwargs)
        return functional_call(self.layer, self.dropped_weights(), args, kwargs)

    def dropped_weights(self) -> dict:
        """A freshly masked copy of every target, ``{name: w * mask}`` (in the autograd graph
        of the raw ``w``)."""
        params = dict(self.layer.named_parameters())
        return {n: params[n] * keep_mask(params[n], params[n].shape, self.weight_dropout)
                for n in self.targets}


def matching_parameters(layer: nn.Module, names: tuple[str, ...]) -> tuple[str, ...]:
    """Full names of ``layer``'s parameters that match ``names`` (see :class:`WeightDrop`)."""
    if not names or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"names must be non-empty parameter names, got {names!r}")
    patterns = [re.compile(rf"^{re.escape(n)}(_l\d+(_reverse)?)?$") for n in names]
    found = []
    for full, _ in layer.named_parameters():
        last = full.rsplit(".", 1)[-1]
        if full in names or any(p.match(last) for p in patterns):
            found.append(full)
    if not found:
        have = [n for n, _ in layer.named_parameters()]
        raise ValueError(f"no parameter of {type(layer).__name__} matches {list(names)}; "
                         f"it has {have}")
    return tuple(found)
