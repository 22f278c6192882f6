"""Gate statistics of LSTM (input, forget, output) and GRU (reset, update) layers.

The gates are recomputed at every step from the cell's own ``gates(x_t, state)`` (the method
its ``step`` uses, so the equations live in one place) while the layer runs on the reference
path. For every gate, cell ``k`` (``layer * D + direction``) and step ``t``:

* ``mean``: the gate's mean over batch and units,
* ``low`` / ``high``: the fraction of its values below 0.1 / above 0.9 (saturated: the gate
  is nearly shut or fully open; a forget gate above 0.9 keeps its memory for many steps),

and for every unit, ``unit_low`` / ``unit_high``: the fraction of (step, sequence) pairs in which
it is saturated, the scatter plot of Karpathy, Johnson & Fei-Fei (2016), "Visualizing and
understanding recurrent networks": units near the axes' ends are "always open" or "always shut".

Only the sigmoid gates are counted: ``i, f, o`` of the LSTM, ``r, z`` of the GRU (the tanh
candidates ``g`` and ``n`` are not gates). A cell without ``gates()`` (the vanilla RNN) has none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from ..layers.recurrent import Recurrent
from .common import cell_names, eval_mode, find_recurrent

GATE_LABELS = {"i": "input", "f": "forget", "o": "output", "r": "reset", "z": "update"}
LOW, HIGH = 0.1, 0.9


@dataclass
class GateStats:
    """Gate statistics over one batch; G gates, K cells, T steps, H units."""

    names: list[str]  # cell names: layer0, layer0_reverse, layer1...
    gates: list[str]  # gate fields, e.g. ["i", "f", "o"]
    mean: Tensor  # (G, K, T) mean gate value per step
    low: Tensor  # (G, K, T) fraction < 0.1 per step
    high: Tensor  # (G, K, T) fraction > 0.9 per step
    unit_low: Tensor  # (G, K, H) per unit, fraction of (step, sequence) pairs < 0.1
    unit_high: Tensor  # (G, K, H) per unit, fraction > 0.9

    @property
    def labels(self) -> list[str]:
        return [GATE_LABELS.get(g, g) for g in self.gates]

    def gate(self, name: str) -> int:
        """Index of a gate by field (``"f"``) or label (``"forget"``)."""
        for j, (g, lab) in enumerate(zip(self.gates, self.labels)):
            if name in (g, lab):
                return j
        raise KeyError(f"no gate {name!r}; this cell has {self.labels}")

    def summary(self) -> dict[str, dict[str, list[float]]]:
        """Per gate label: mean value and saturated fractions over all steps, one per cell."""
        return {lab: {"mean": self.mean[j].mean(1).tolist(),
                      "low": self.low[j].mean(1).tolist(),
                      "high": self.high[j].mean(1).tolist()}
                for j, lab in enumerate(self.labels)}


def gate_statistics(model: nn.Module, run: Callable[[nn.Module], object], *,
                    layer: str | Recurrent | None = None) -> GateStats:
    """Gate statistics of the recurrent layer while ``run(model)`` runs it on a batch.

    ``run(model)`` is called once, in evaluation mode and without gradients, e.g.
    ``lambda m: m(tokens)``. Raises ValueError for cells without sigmoid gates.

    >>> import rnnkit
    >>> _ = torch.manual_seed(0)
    >>> stats = gate_statistics(rnnkit.LSTM(2, 3, num_layers=2), lambda m: m(torch.randn(4, 6, 2)))
    >>> stats.labels, stats.names, tuple(stats.mean.shape), stats.gate("forget")
    (['input', 'forget', 'output'], ['layer0', 'layer1'], (3, 2, 6), 1)
    >>> bool(((stats.mean > 0) & (stats.mean < 1)).all())
    True
    """
    rec = find_recurrent(model, layer)
    cell = rec.cells[0]
    if not callable(getattr(cell, "gates", None)):
        raise ValueError(f"{type(cell).__name__} has no gates (a vanilla RNN has none); gate "
                         "statistics need an LSTM or GRU layer, or a cell with a gates() method")
    acc: dict[int, list] = {}  # k -> [per-step (mean, low, high) rows], unit low/high counts

    def hook(k, t, x_t, prev, h, new):
        out = rec.cells[k].gates(x_t, prev)
        fields = [f for f in getattr(out, "_fields", ()) if f in GATE_LABELS]
        if not fields:
            raise ValueError(f"{type(rec.cells[k]).__name__}.gates() returned no sigmoid gates "
                             f"(expected fields among {sorted(GATE_LABELS)})")
        g = torch.stack([getattr(out, f) for f in fields]).float()  # (G, B, H)
        lo, hi = (g < LOW).float(), (g > HIGH).float()
        rows, ulo, uhi, n, _ = acc.setdefault(k, [[], 0.0, 0.0, 0, fields])
        rows.append(torch.stack([g.mean((1, 2)), lo.mean((1, 2)), hi.mean((1, 2))], 1))
        acc[k][1:4] = [ulo + lo.sum(1), uhi + hi.sum(1), n + g.shape[1]]  # (G, H) counts

    with eval_mode(model), torch.no_grad(), rec.observe_steps(hook):
        run(model)
    K = len(rec.cells)
    if sorted(acc) != list(range(K)):
        raise ValueError("run(model) did not run the recurrent layer (no steps were observed)")
    per_step = torch.stack([torch.stack(acc[k][0], 2) for k in range(K)], 1)  # (G, K, 3, T)
    unit_low = torch.stack([acc[k][1] / acc[k][3] for k in range(K)], 1)  # (G, K, H)
    unit_high = torch.stack([acc[k][2] / acc[k][3] for k in range(K)], 1)
    return GateStats(cell_names(rec), list(acc[0][4]), per_step[:, :, 0], per_step[:, :, 1],
                     per_step[:, :, 2], unit_low, unit_high)
