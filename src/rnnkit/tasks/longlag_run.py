"""Long-lag problems end to end as library calls: train one model, or a grid of cells and lags
with a gradient-decay plot (``rnnkit bench longlag`` is a thin layer over :func:`bench_longlag`).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from .. import __version__
from ..diagnostics.gradients import GradientFlow, gradient_flow
from ..train.loop import TrainConfig, Trainer
from ..train.run import write_json
from .longlag import LongLagConfig, LongLagModel, LongLagTask, longlag_loss

log = logging.getLogger(__name__)


@dataclass
class LongLagResult:
    config: LongLagConfig
    summary: dict  # the Trainer's summary (final_loss, final_baseline, final_acc, step...)
    flow_init: GradientFlow  # gradient flow on held test sequences before training
    flow_final: GradientFlow  # ... and after
    wall_s: float  # seconds for the whole run, evaluations included
    model: LongLagModel
    run_dir: Path | None


def default_train_config(**overrides) -> TrainConfig:
    """Adam-like settings for the long-lag problems (no weight decay, clipping at 1)."""
    base = TrainConfig(lr=3e-3, weight_decay=0.0, warmup_steps=50, clip_norm=1.0, log_every=50)
    return replace(base, **overrides)


def _flow(model: LongLagModel, task: LongLagTask) -> GradientFlow:
    x, y = task.held_batch(64)
    return gradient_flow(model, lambda m: longlag_loss(task.cfg.task, m(x), y),
                         jacobian_samples=2)


def train_longlag(cfg: LongLagConfig, train: TrainConfig, run_dir: str | Path | None = None,
                  callbacks: list[Callable[[str, dict], None]] | None = None) -> LongLagResult:
    """Train one model on a long-lag problem through the one training loop."""
    cfg.validate()
    if train.epochs:
        raise ValueError("long-lag data are unlimited: budget by steps or minutes, not epochs")
    t0 = time.perf_counter()
    torch.manual_seed(train.seed)
    model = LongLagModel(cfg.task, cfg.encoder)
    task = LongLagTask(cfg, seed=train.seed)
    flow_init = _flow(model, task)
    run_dir = Path(run_dir) if run_dir is not None else None
    resolved = {"task": f"longlag-{cfg.task}", "rnnkit": __version__, "config": asdict(cfg),
                "train": asdict(train),
                "parameters": sum(p.numel() for p in model.parameters())}
    if run_dir is not None:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(run_dir / "config.json", resolved)
    trainer = Trainer(model, task, train, run_dir, meta={"config": resolved},
                      callbacks=callbacks)
    summary = trainer.fit()
    flow_final = _flow(model, task)
    if run_dir is not None:
        write_json(run_dir / "summary.json", summary | {
            "gradient_flow_init": flow_init.to_dict(), "gradient_flow_final": flow_final.to_dict()})
    return LongLagResult(cfg, summary, flow_init, flow_final, time.perf_counter() - t0, model,
                         run_dir)


def bench_longlag(task: str, lags: Sequence[int], cells: Sequence[str], base: LongLagConfig,
                  train: TrainConfig, out: str | Path,
                  on_result: Callable[[dict], None] | None = None,
                  callbacks: list[Callable[[str, dict], None]] | None = None
                  ) -> tuple[list[dict], Path]:
    """Train every (cell, lag) pair with the same budget; returns the result rows and the path
    of the gradient-decay plot (one panel per lag, one colour per cell, dashed before training,
    solid after). Each run writes its folder ``OUT/TASK-CELL-T{lag}``; ``OUT/results.json``
    holds the rows."""
    from ..diagnostics.plots import plot_gradient_decay

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
