"""Activation capture: every step's hidden output, state and gates of a recurrent layer."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from ..layers.recurrent import Recurrent
from .common import eval_mode, find_recurrent
from .gradients import _named_leaves


def capture_activations(model: nn.Module, run: Callable[[nn.Module], object], *,
                        layer: str | Recurrent | None = None,
                        cells: list[int] | None = None) -> tuple[dict[int, dict[str, Tensor]],
                                                                 object]:
    """Run ``run(model)`` (evaluation mode, no gradients) and record, for each cell index ``k``
    in ``cells`` (default: all), ``{"h": (T, B, H), "c": ..., gate fields: ...}``.

    The state leaves other than ``h`` (the LSTM's ``c``) and, for cells with a ``gates()``
    method, every field it returns (LSTM ``i, f, g, o``; GRU ``r, z, n``) are included.
    Returns ``(activations, run's return value)``.

    >>> import torch, rnnkit
    >>> _ = torch.manual_seed(0)
    >>> lstm = rnnkit.LSTM(2, 3, num_layers=2)
    >>> acts, (out, _) = capture_activations(lstm, lambda m: m(torch.randn(4, 6, 2)))
    >>> sorted(acts), sorted(acts[1]), tuple(acts[1]["h"].shape)
    ([0, 1], ['c', 'f', 'g', 'h', 'i', 'o'], (6, 4, 3))
    >>> torch.allclose(acts[1]["h"].transpose(0, 1), out)  # the last layer's h is the output
    True
    """
    rec = find_recurrent(model, layer)
    wanted = set(range(len(rec.cells))) if cells is None else set(cells)
    bad = wanted - set(range(len(rec.cells)))
    if bad:
        raise ValueError(f"no cell {sorted(bad)}: the layer has {len(rec.cells)} cells")
    steps: dict[int, dict[str, list[Tensor]]] = {}

    def hook(k, t, x_t, prev, h, new):
        if k not in wanted:
            return
        rec_k = steps.setdefault(k, {})
        rec_k.setdefault("h", []).append(h)
        for name, leaf in _named_leaves(new):
            if leaf is not h and name != "h":
                rec_k.setdefault(name, []).append(leaf)
        gates = getattr(rec.cells[k], "gates", None)
        if callable(gates):
            out = gates(x_t, prev)
            for name in getattr(out, "_fields", ()):
                rec_k.setdefault(name, []).append(getattr(out, name))

    with eval_mode(model), torch.no_grad(), rec.observe_steps(hook):
        result = run(model)
    return {k: {n: torch.stack(v, 0) for n, v in d.items()} for k, d in steps.items()}, result
