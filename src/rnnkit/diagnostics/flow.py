"""The result of :func:`rnnkit.diagnostics.gradient_flow`: per-step gradient tables.

Its own module so that both the measurement (:mod:`.gradients`) and the plots (:mod:`.plots`)
read it without importing each other.

>>> import torch
>>> flow = GradientFlow(["layer0"], torch.tensor([[0.25, 0.5, 1.0]]))
>>> flow.steps, flow.ratio(2)
(3, 0.25)
>>> GradientFlow.by_distance(flow.grad_h).tolist()
[[1.0, 0.5, 0.25]]
>>> flow.to_dict()["grad_h"]
[[0.25, 0.5, 1.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import Tensor


@dataclass
class GradientFlow:
    """Per-step gradient measurements of one batch; every table is (K, T), K = L * D cells."""

    names: list[str]  # cell names: layer0, layer0_reverse, layer1...
    grad_h: Tensor  # ||dL/dh_t|| over the (B, H) tensor
    grad_state: dict[str, Tensor] = field(default_factory=dict)  # e.g. {"c": ||dL/dc_t||}
    jacobian: Tensor | None = None  # RMS singular value of dh_{T-1}/dh_t (None: not sampled)
    loss: float = math.nan

    @property
    def steps(self) -> int:
        return self.grad_h.shape[1]

    @staticmethod
    def by_distance(table: Tensor) -> Tensor:
        """A (K, T) table reordered so that column d is distance d = T-1-t from the last step."""
        return table.flip(-1)

    def ratio(self, distance: int, k: int = 0) -> float:
        """``grad_h`` at ``distance`` steps before the end over ``grad_h`` at the last step:
        how much of the gradient survives that many steps back (cell ``k``)."""
        g = self.by_distance(self.grad_h[k])
        return float(g[distance] / g[0]) if g[0] > 0 else math.nan

    def cell(self, k: int) -> GradientFlow:
        """The measurements of cell ``k`` alone (tables of shape (1, T))."""
        return GradientFlow([self.names[k]], self.grad_h[k : k + 1],
                            {n: v[k : k + 1] for n, v in self.grad_state.items()},
                            None if self.jacobian is None else self.jacobian[k : k + 1],
                            self.loss)

    def to_dict(self, digits: int = 4) -> dict:
        """JSON-able, values rounded to ``digits`` significant digits."""
        def r(t: Tensor | None):
            return None if t is None else [[float(f"{v:.{digits}g}") for v in row]
                                           for row in t.tolist()]
        return {"names": self.names, "loss": self.loss, "grad_h": r(self.grad_h),
                "grad_state": {k: r(v) for k, v in self.grad_state.items()},
                "jacobian": r(self.jacobian)}
