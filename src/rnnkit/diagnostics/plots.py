"""PNG plots of the diagnostics.

Each plot is drawn on its own :class:`matplotlib.figure.Figure` from :mod:`rnnkit.plotting`, never
through ``pyplot``: no display is needed, and the session's backend and open figures are left
alone. Without matplotlib a plot function logs one warning and returns None.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from torch import Tensor

from ..plotting import new_figure, save_figure
from .flow import GradientFlow
from .gates import GateStats

log = logging.getLogger(__name__)

Curve = tuple[str, GradientFlow, dict]  # (label, measurement, matplotlib line options)


def _decay(table: Tensor, normalize: bool) -> list[float]:
    d = GradientFlow.by_distance(table)
    if normalize and float(d[0]) > 0:
        d = d / d[0]
    return d.tolist()


def plot_gradient_decay(panels: dict[str, Sequence[Curve]], path: str | Path, *,
                        title: str = "", normalize: bool = True, k: int = 0,
                        jacobian: bool = True) -> Path | None:
    """One column per panel (e.g. one per sequence length): ||dL/dh_t|| against the distance
    T-1-t on a log scale, each curve a (label, GradientFlow, line options) triple, cell ``k``
    (default: the first layer). With ``normalize`` each curve is divided by its value at
    distance 0 (the fraction of the last step's gradient that reaches t). With ``jacobian`` and
    probes measured, a second row shows the Jacobian's RMS singular value against distance.
    Returns the PNG's path (None without matplotlib).
    """
    has_jac = jacobian and any(c[1].jacobian is not None for cs in panels.values() for c in cs)
    rows, cols = (2 if has_jac else 1), max(1, len(panels))
    fig = new_figure((max(6.4, 4.6 * cols), 3.6 * rows), "gradient-decay plot")
    if fig is None:
        return None
    axes = fig.subplots(rows, cols, squeeze=False)
    for j, (name, curves) in enumerate(panels.items()):
        ax = axes[0][j]
        for label, flow, opts in curves:
            ax.plot(_decay(flow.grad_h[k], normalize), label=label, **opts)
        ax.set_yscale("log")
        ax.set_title(name)
        ax.set_xlabel("distance T-1-t (steps before the end)")
        ax.set_ylabel("||dL/dh_t|| / ||dL/dh_T-1||" if normalize else "||dL/dh_t||")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        if has_jac:
            ax = axes[1][j]
            for label, flow, opts in curves:
                if flow.jacobian is not None:
                    ax.plot(_decay(flow.jacobian[k], False), label=label, **opts)
            ax.set_yscale("log")
            ax.set_xlabel("distance T-1-t")
            ax.set_ylabel("RMS singular value of dh_T-1/dh_t")
            ax.grid(alpha=0.3, which="both")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path, dpi=100)


def _viridis(n: int) -> list:
    """``n`` colours of the viridis map, early (dark blue) to late (yellow); Nones without
    matplotlib (then nothing is drawn)."""
    try:
        from matplotlib import colormaps
    except ImportError:
        return [None] * n
    cmap = colormaps["viridis"]
    return [cmap(i / max(n - 1, 1)) for i in range(n)]


def plot_flow_over_training(records: Sequence[tuple[int, GradientFlow]], path: str | Path,
                            k: int = 0) -> Path | None:
    """Gradient decay curves measured during training, coloured from early to late."""
    colors = _viridis(len(records))
    curves = [(f"step {s}", f, {"color": color, "lw": 1.2})
              for (s, f), color in zip(records, colors)]
    return plot_gradient_decay({"gradient flow during training": curves}, path, k=k)


def plot_gate_stats(stats: GateStats, path: str | Path, *, k: int = 0,
                    title: str = "") -> Path | None:
    """Three panels for cell ``k``: per-unit saturation scatter (fraction of time < 0.1 against
    fraction > 0.9, one point per unit and gate), saturated fractions per gate, and the mean of
    each gate (the forget / update gate first among them) per time step. Returns the PNG's
    path (None without matplotlib)."""
    fig = new_figure((15, 4.2), "gate-statistics plot")
    if fig is None:
        return None
    a, b, c = fig.subplots(1, 3)
    for j, lab in enumerate(stats.labels):
        a.scatter(stats.unit_low[j, k].tolist(), stats.unit_high[j, k].tolist(), s=10,
                  alpha=0.6, label=lab, color=f"C{j}")
    a.plot([0, 1], [1, 0], color="0.7", lw=0.8)
    a.set(xlim=(-0.02, 1.02), ylim=(-0.02, 1.02), xlabel="fraction of time < 0.1 (shut)",
          ylabel="fraction of time > 0.9 (open)", title="saturation per unit")
    a.legend(fontsize=8)
    x = range(len(stats.labels))
    low = stats.low[:, k].mean(1).tolist()
    high = stats.high[:, k].mean(1).tolist()
    b.bar([i - 0.2 for i in x], low, width=0.4, label="< 0.1")
    b.bar([i + 0.2 for i in x], high, width=0.4, label="> 0.9")
    b.set_xticks(list(x), stats.labels)
    b.set(ylim=(0, 1), ylabel="fraction of values", title="saturated gate values")
    b.legend(fontsize=8)
    order = sorted(range(len(stats.labels)),
                   key=lambda j: stats.labels[j] not in ("forget", "update"))
    for j in order:
        c.plot(stats.mean[j, k].tolist(), label=stats.labels[j], color=f"C{j}",
               lw=2.0 if stats.labels[j] in ("forget", "update") else 1.0)
    c.set(ylim=(0, 1), xlabel="time step t", ylabel="mean gate value",
          title="mean gate per time step")
    c.legend(fontsize=8)
    for ax in (a, b, c):
        ax.grid(alpha=0.3)
    fig.suptitle(title or f"gate statistics ({stats.names[k]})")
    return save_figure(fig, path, dpi=100)
