"""torch.nn's parameter names for rnnkit's layers: ``weight_ih_l0``, ``bias_hh_l1_reverse``...

A layer of built-in cells (RNN, LSTM, GRU) owns its cells' parameters under torch.nn's names,
so ``named_parameters()`` and ``state_dict()`` of :class:`rnnkit.LSTM` read like those of
``torch.nn.LSTM``, also inside a bigger model (``encoder.weight_hh_l0``): parameter groups
and weight-decay rules written by name work unchanged. The cells keep reading their weights
as ``cell.weight_ih`` (an alias of the layer's parameter). A layer of other cells keeps them
as submodules (``cells.0.lin.weight``); their direct parameters are still saved under torch's
names.

>>> import torch, rnnkit
>>> lstm = rnnkit.LSTM(3, 4, num_layers=2, bidirectional=True)
>>> [n for n, _ in lstm.named_parameters()][:3]
['weight_ih_l0', 'weight_hh_l0', 'bias_ih_l0']
>>> lstm.cells[3].weight_hh is lstm.weight_hh_l1_reverse
True
>>> ref = torch.nn.LSTM(3, 4, num_layers=2, bidirectional=True, batch_first=True)
>>> [n for n, _ in ref.named_parameters()] == [n for n, _ in lstm.named_parameters()]
True
"""

from __future__ import annotations

import re

KEY = re.compile(r"^cells\.(\d+)\.([^.]+)$")
TORCH_KEY = re.compile(r"^(.+)_l(\d+)(_reverse)?$")


def adopt_parameters(layer) -> None:
    """The built-in cells' parameters become the layer's, under torch.nn's names, in
    torch.nn's order (every parameter of layer 0, then layer 0 reverse, then layer 1...)."""
    D = layer.num_directions
    for k, cell in enumerate(layer.cells):
        if not getattr(cell, "torch_named", False):
            continue
        for name in list(cell._parameters):
            p = cell._parameters.pop(name)
            layer.register_parameter(torch_key("", k, name, D), p)
            cell.alias(name, layer, torch_key("", k, name, D))


def cell_index(module, m: re.Match) -> int | None:
    """Index into ``module.cells`` of a torch.nn name's ``_l{layer}[_reverse]``, or None when the
    layer has no such cell (a ``_reverse`` name on a unidirectional layer, a layer >= L): those
    names must not be mapped onto another layer's cell.
    """
    layer, reverse = int(m.group(2)), m.group(3) is not None
    if layer >= module.num_layers or (reverse and module.num_directions == 1):
        return None
    return layer * module.num_directions + int(reverse)


def torch_key(prefix: str, k: int, name: str, D: int) -> str:
    suffix = f"_l{k // D}" + ("_reverse" if k % D else "")
    return f"{prefix}{name}{suffix}"


def to_torch_names(module, state_dict, prefix, local_metadata):
    D = module.num_directions
    for key in [k for k in state_dict if k.startswith(prefix + "cells.")]:
        m = KEY.match(key[len(prefix) :])
        if m:
            state_dict[torch_key(prefix, int(m.group(1)), m.group(2), D)] = state_dict.pop(key)


def from_torch_names(module, state_dict, prefix, *args):
    for key in list(state_dict):
        if not key.startswith(prefix):
            continue
        local = key[len(prefix) :]
        if local in module._parameters:  # the layer's own (adopted) parameter: as it is
            continue
        m = TORCH_KEY.match(local)
        k = None if m is None or "." in m.group(1) else cell_index(module, m)
        if k is not None:
            state_dict[f"{prefix}cells.{k}.{m.group(1)}"] = state_dict.pop(key)
