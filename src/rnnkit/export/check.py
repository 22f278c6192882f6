"""The check every written graph passes: run it at two sizes (batch 1 and 3, two lengths, rows
shorter than the time axis) on sample inputs and compare with the eager model on the same
inputs: same shapes, finite wherever the model is, equal within float32 rounding."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

from .graph import Graph, call, make_inputs

ATOL, RTOL = 1e-4, 1e-3


class ExportError(ValueError):
    """A run that cannot be exported, or a written graph that does not match its model."""


def _where(graph: Graph, sizes: dict) -> str:
    shown = {k: v for k, v in sizes.items() if any(k in p.axes for p in graph.inputs)}
    return ", ".join(f"{k} {v}" for k, v in shown.items())


def _differ(name: str, want: np.ndarray, got: np.ndarray) -> tuple[float, str | None]:
    """The largest difference, and what is wrong (None: nothing)."""
    if want.shape != got.shape:
        return 0.0, f"output {name} has shape {got.shape}, the model's {want.shape}"
    if want.dtype == np.bool_ or np.issubdtype(want.dtype, np.integer):
        bad = int((want != got).sum())
        return float(bad), (f"output {name} differs in {bad} entries" if bad else None)
    finite = np.isfinite(want)
    if not np.isfinite(got[finite]).all():
        return float("inf"), f"output {name} is not finite where the model's is"
    if not (got[~finite] == want[~finite]).all():
        return float("inf"), f"output {name} differs where the model's is infinite"
    diff = float(np.abs(got[finite] - want[finite]).max()) if finite.any() else 0.0
    close = np.allclose(got[finite], want[finite], atol=ATOL, rtol=RTOL)
    return diff, None if close else f"output {name} differs by up to {diff:.3g}"


def check_graph(graph: Graph, run: Callable[[tuple], Sequence[np.ndarray]],
                seed: int = 0) -> dict:
    """Compare ``run(inputs)`` (the written graph) with the eager module at ``graph.checks``;
    raise :class:`ExportError` naming the output and sizes that differ."""
    gen = torch.Generator().manual_seed(seed)
    worst, done = 0.0, []
    for sizes in graph.checks:
        inputs = make_inputs(graph, sizes, gen)
        want = [t.numpy() for t in call(graph.module, inputs)]
        got = list(run(inputs))
        if len(got) != len(want):
            raise ExportError(f"graph {graph.name}: {len(got)} outputs, the model has "
                              f"{len(want)}")
        for port, w, g in zip(graph.outputs, want, got):
            diff, wrong = _differ(port.name, w, np.asarray(g))
            if wrong:
                raise ExportError(f"graph {graph.name} ({_where(graph, sizes)}): {wrong} "
                                  "from the eager model")
            worst = max(worst, diff)
        done.append({k: v for k, v in sizes.items() if any(k in p.axes for p in graph.inputs)})
    return {"max_abs_diff": worst, "sizes": done}
