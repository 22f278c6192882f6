"""The long-lag task: train one cell on the adding problem or the copy task through the one
loop (``rnnkit train longlag``), measuring how the gradient decays through time before and
after training (``summary.json`` holds both measurements)."""

from __future__ import annotations

import copy
import dataclasses
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ...config import section
from ...diagnostics.gradients import GradientFlow, gradient_flow
from ...train.device import device_of, to_device
from ...train.loop import TrainConfig
from ...train.run import read_config, write_json
from .. import lifecycle
from ..spec import LoadedRun, Prepared, TaskSpec
from .model import LongLagConfig, LongLagModel, LongLagTask, longlag_loss

log = logging.getLogger(__name__)


def default_train_config(**overrides) -> TrainConfig:
    """Adam-like settings for the long-lag problems (no weight decay, clipping at 1)."""
    base = TrainConfig(lr=3e-3, weight_decay=0.0, warmup_steps=50, clip_norm=1.0, log_every=50,
                       minutes=1.0)
    if not overrides:
        return base
    return lifecycle.with_budget(dataclasses.replace(base, **overrides), overrides)


@dataclass
class LongLagSettings:
    """Everything a long-lag run is trained from: the problem (and the cell) and training."""

    data: LongLagConfig = section(LongLagConfig, prefix="")
    train: TrainConfig = section(default_train_config, prefix="")


def _flow(model: LongLagModel, task: LongLagTask) -> GradientFlow:
    x, y = to_device(task.held_batch(64), device_of(model))
    return gradient_flow(model, lambda m: longlag_loss(task.cfg.task, m(x), y),
                         jacobian_samples=2)


def finalize(s: LongLagSettings) -> None:
    if s.train.epochs:
        raise ValueError("long-lag data are unlimited: budget by steps or minutes, not epochs")
    s.data.validate()


def prepare(s: LongLagSettings, run: Path | None) -> Prepared:
    task = LongLagTask(s.data, seed=s.train.seed)
    flows: dict = {}

    def init_model(model: LongLagModel) -> dict:
        flows["init"] = _flow(model, task)
        return {}

    return Prepared(task, f"{s.data.task} problem, T={s.data.T}", init_model=init_model,
                    title=f"{s.data.encoder.cell} on the {s.data.task} problem, T={s.data.T}",
                    state=flows)


def report(model: LongLagModel, s: LongLagSettings, prepared: Prepared, run: Path) -> None:
    """The gradient flow of the trained model (its last weights) next to the untrained one's,
    into ``summary.json``."""
    from ...train.run import load_weights

    load_weights(model, run, "last")
    flows = prepared.state
    flows["final"] = _flow(model, prepared.task)
    summary = _read_json(run / "summary.json")
    if "init" in flows:
        summary["gradient_flow_init"] = flows["init"].to_dict()
    summary["gradient_flow_final"] = flows["final"].to_dict()
    write_json(run / "summary.json", summary)


def _read_json(path: Path) -> dict:
    import json

    return json.loads(path.read_text())


def upgrade(saved: dict) -> dict:
    """Runs of rnnkit 0.1.0 were ``"task": "longlag-adding"`` with the problem in ``config``."""
    if "config" in saved and "data" not in saved:
        saved = dict(saved)
        saved["data"] = saved.pop("config")
    return saved


@dataclass
class LoadedLongLag(LoadedRun):
    """A trained long-lag model."""

    task = "longlag"

    def evaluate(self, path=None, **options) -> dict:
        """Loss, the memoryless baseline (and accuracy for copy) on the seeded test set."""
        task = LongLagTask(self.data, seed=int(self.config["train"]["seed"]))
        with torch.no_grad():
            return task.evaluate(self.model)


def build_model(s: LongLagSettings) -> LongLagModel:
    return LongLagModel(s.data.task, s.data.encoder)


def describe(s: LongLagSettings) -> str:
    return f"{s.data.encoder.hidden}-unit {s.data.encoder.cell} on the {s.data.task} problem"


@dataclass
class LongLagResult:
    config: LongLagConfig
    summary: dict  # the Trainer's summary (final_loss, final_baseline, final_acc, step...)
    flow_init: GradientFlow  # gradient flow on held test sequences before training
    flow_final: GradientFlow  # ... and after
    wall_s: float  # seconds for the whole run, evaluations included
    model: LongLagModel
    run_dir: Path | None


def _flow_from_dict(d: dict) -> GradientFlow:
    t = torch.tensor
    return GradientFlow(d["names"], t(d["grad_h"]), {k: t(v) for k, v in d["grad_state"].items()},
                        None if d["jacobian"] is None else t(d["jacobian"]), d["loss"])


def train_longlag(cfg: LongLagConfig, train: TrainConfig, run_dir: str | Path | None = None,
                  callbacks: list[Callable[[str, dict], None]] | None = None) -> LongLagResult:
    """Train one model on a long-lag problem through the generic path, in ``run_dir`` (None:
    a temporary folder, removed after)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="rnnkit-longlag-") as tmp:
        folder = Path(run_dir) if run_dir is not None else Path(tmp) / "run"
        run = lifecycle.train(TASK, LongLagSettings(copy.deepcopy(cfg), train), run_dir=folder,
                              callbacks=callbacks)
        summary = _read_json(run / "summary.json")
        loaded = lifecycle.load(TASK, run, "last", saved=read_config(run))
    flow_init = _flow_from_dict(summary.pop("gradient_flow_init"))
    flow_final = _flow_from_dict(summary.pop("gradient_flow_final"))
    return LongLagResult(cfg, summary, flow_init, flow_final, time.perf_counter() - t0,
                         loaded.model, Path(run_dir) if run_dir is not None else None)


TASK = TaskSpec(
    name="longlag", help="adding / copy problem: does a cell carry information T steps?",
    description="Train one recurrent cell on a long time-lag problem (the adding problem or the "
    "copy task, drawn fresh every step from a seeded generator) and measure how the gradient "
    "decays through time before and after training. `rnnkit bench longlag` runs a grid of "
    "cells and lags.",
    config=LongLagSettings, build_model=build_model, prepare=prepare, report=report,
    loaded=LoadedLongLag, upgrade=upgrade, finalize=finalize, describe=describe, unit="seq",
    aliases=("longlag-adding", "longlag-copy"), hidden_options=("data.encoder.bidirectional",))
