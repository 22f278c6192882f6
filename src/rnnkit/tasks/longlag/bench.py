"""A grid of cells and lags on a long-lag problem, each trained with the same budget through
the one task path, with a gradient-decay plot (``rnnkit bench longlag``)."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from ...diagnostics.plots import plot_gradient_decay
from ...train.loop import TrainConfig
from ...train.run import write_json
from .model import LongLagConfig
from .task import train_longlag

log = logging.getLogger(__name__)


def bench_longlag(task: str, lags: Sequence[int], cells: Sequence[str], base: LongLagConfig,
                  train: TrainConfig, out: str | Path,
                  on_result: Callable[[dict], None] | None = None,
                  callbacks: list[Callable[[str, dict], None]] | None = None
                  ) -> tuple[list[dict], Path]:
    """Train every (cell, lag) pair with the same budget; returns the result rows and the path
    of the gradient-decay plot (one panel per lag, one colour per cell, dashed before training,
    solid after). Each run writes its folder ``OUT/TASK-CELL-T{lag}``; ``OUT/results.json``
    holds the rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, panels = [], {}
    colours = {c: f"C{i}" for i, c in enumerate(cells)}
    for T in lags:
        curves = []
        for cell in cells:
            cfg = copy.deepcopy(base)
            cfg.task, cfg.T, cfg.encoder.cell = task, T, cell
            res = train_longlag(cfg, train, out / f"{task}-{cell}-T{T}", callbacks)
            s = res.summary
            row = {"task": task, "cell": cell, "T": T, "steps": s["step"],
                   "train_s": s["elapsed"], "wall_s": round(res.wall_s, 1),
                   "loss": s["final_loss"], "baseline": s["final_baseline"],
                   "acc": s.get("final_acc"),
                   # ||dL/dh_0|| / ||dL/dh_last||: how much gradient reaches the first step
                   "grad_ratio": res.flow_final.ratio(res.flow_final.steps - 1),
                   "grad_ratio_init": res.flow_init.ratio(res.flow_init.steps - 1)}
            rows.append(row)
            log.info("%s %s T=%d: loss %.4f (baseline %.4f) after %d steps", task, cell, T,
                     row["loss"], row["baseline"], row["steps"])
            if on_result is not None:
                on_result(row)
            opts = {"color": colours[cell]}
            curves += [(f"{cell} (init)", res.flow_init, opts | {"ls": "--", "lw": 1}),
                       (f"{cell} (trained)", res.flow_final, opts | {"lw": 1.8})]
        panels[f"T = {T}"] = curves
    write_json(out / "results.json", {"rows": rows, "train": asdict(train),
                                      "config": asdict(base)})
    png = plot_gradient_decay(panels, out / f"longlag-{task}-gradients.png",
                              title=f"{task}: gradient reaching step t from the loss at the end")
    return rows, png
