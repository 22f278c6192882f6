"""The one training loop. Every task (language model, classifier, tagger, seq2seq, generator)
trains through :class:`Trainer`; a task only supplies batches, a loss and an evaluation.

Reads top to bottom: budgets -> learning rate -> task step (under autocast) -> backward ->
clipping -> finite check -> optimizer step -> logging -> periodic evaluation and checkpoints
-> final evaluation.

Reliability: checkpoints hold everything an exact resume needs (weights, optimizer, every RNG
state, data position, carried hidden state, schedule and early-stopping state) and are written
atomically; a run killed at any moment and resumed from its last checkpoint replays the same
steps and ends with bitwise the same weights (with a step or epoch budget; a wall-clock budget
is by nature not replayable). Ctrl-C stops at the next step boundary and saves. A non-finite loss
or gradient never reaches the weights: the step is skipped, or the run rolls back to its last
good checkpoint with a lower learning rate.

Devices and processes: the model is moved once to ``device`` and batches follow it
(:mod:`rnnkit.train.device`); ``cfg.precision`` autocasts the forward pass
(:mod:`rnnkit.train.precision`); under ``torchrun`` each process trains its share of every
global batch through ``DistributedDataParallel`` and process 0 writes
(:mod:`rnnkit.train.distributed`).
"""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import state
from .checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from .device import device_of
from .distributed import Distributed
from .logs import MetricsLog
from .plan import Planner
from .precision import autocast, grad_scaler, resolve_precision
from .schedule import lr_factor
from .task import Task
from .train_config import TrainConfig
from .watch import GradNormWatch

__all__ = ["Trainer", "TrainConfig", "TrainingError"]

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    pass


def _param_groups(model: nn.Module, weight_decay: float):
    decay, no_decay = [], []
    seen = set()
    for name, p in model.named_parameters():
        if not p.requires_grad or id(p) in seen:
            continue
        seen.add(id(p))
        (decay if p.dim() >= 2 and "embedding" not in name else no_decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


class Trainer:
    """Train ``model`` on ``task`` under ``cfg``, writing checkpoints and logs to ``run_dir``.

    ``meta`` (JSON-able: resolved config, vocabulary...) is stored in every checkpoint.
    ``callbacks`` receive ``(event, row)`` with event in {"log", "eval", "plan", "end"}; a
    :class:`~rnnkit.train.watch.GradNormWatch` is always installed first. ``device``: where
    to train (default: where the model is). ``dist``: the process group (default: the one
    ``torchrun`` describes in the environment, else a single process); only process 0 writes
    into ``run_dir`` and calls the callbacks.
    """

    def __init__(self, model: nn.Module, task: Task, cfg: TrainConfig,
                 run_dir: str | Path | None = None, meta: dict | None = None,
                 callbacks: list[Callable[[str, dict], None]] | None = None,
                 device: torch.device | str | None = None, dist: Distributed | None = None):
        cfg.validate()
        self.dist = dist or Distributed.from_env()
        self.device = torch.device(device) if device is not None else device_of(model)
        self.precision = resolve_precision(cfg.precision, self.device)
        self.model, self.task, self.cfg = model.to(self.device), task, cfg
        self.dist.start(self.device)
        self.task.shard = self.dist.shard
        self.train_model = self.dist.wrap(self.model, self.device)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.meta = meta or {}
        main = self.dist.is_main
        # Every run watches its gradient norms and warns when they explode.
        self.callbacks = [GradNormWatch(), *(callbacks or [])] if main else []
        self.opt = torch.optim.AdamW(_param_groups(model, cfg.weight_decay), lr=cfg.lr,
                                     betas=(0.9, cfg.beta2))
        self.scaler = grad_scaler(self.precision, self.device)
        self.step = 0
        self.elapsed = 0.0  # training seconds, carried across resumes
        self.epoch = 0.0
        self.best = math.inf
        self.bad_evals = 0
        self.lr_scale = 1.0  # plateau reductions and rollbacks
        self.skipped = 0
        self.rollbacks = 0
        self.last_eval_progress = 0.0
        self.final_metrics: dict = {}
        self.plan: dict | None = None  # the task's choices for this budget (train.plan)
        self.planner = Planner()
        self._resumed = False
        self._stop = False
        self.log = MetricsLog(self.run_dir / "log.csv") if self.run_dir and main else None

    # Budgets ---------------------------------------------------------------------------------
    def progress(self) -> float:
        c = self.cfg
        parts = []
        if c.steps:
            parts.append(self.step / c.steps)
        if c.minutes:
            parts.append(self.elapsed / (60 * c.minutes))
        if c.epochs:
            parts.append(self.epoch / c.epochs)
        return max(parts)

    def _eval_due(self) -> bool:
        if self.cfg.eval_every:
            return self.step % self.cfg.eval_every == 0
        return self.progress() - self.last_eval_progress >= 1 / 6

    # Checkpoints -----------------------------------------------------------------------------
    def checkpoint_payload(self) -> dict[str, Any]:
        return state.payload(self)

    def save(self, name: str) -> Path | None:
        """Write checkpoint ``name`` atomically; never one with non-finite weights. Every
        process calls it (the state of every process is gathered); process 0 writes."""
        if self.run_dir is None:
            return None
        for p in self.model.parameters():
            if not torch.isfinite(p).all():
                raise TrainingError("refusing to save a checkpoint with non-finite weights")
        payload = self.checkpoint_payload()
        folder = self.run_dir / "checkpoints"
        path = folder / f"{name}.safetensors"
        if self.dist.is_main:
            save_checkpoint(path, payload)
            if name == "last" and self.cfg.keep_checkpoints > 0:
                numbered = folder / f"step-{self.step:08d}.safetensors"
                if not numbered.exists():
                    os.link(path, numbered)  # same bytes, no second write
                for old in sorted(folder.glob("step-*.safetensors"))[: -self.cfg.keep_checkpoints]:
                    old.unlink()
        self.dist.barrier()  # no process reads a checkpoint before it is whole
        return path

    def resume(self, path: str | Path) -> None:
        """Restore everything from a checkpoint written by :meth:`save` (on any device, by
        any number of processes)."""
        ck = load_checkpoint(path)
        if self.dist.is_main:
            for stale in Path(path).parent.glob(".*.tmp-*"):  # a save cut short by a kill
                stale.unlink(missing_ok=True)
        try:
            self.model.load_state_dict(ck["model"])
            self.opt.load_state_dict(ck["optimizer"])  # moves its state to the weights' device
        except (RuntimeError, ValueError, KeyError) as e:
            raise CheckpointError(f"{path}: checkpoint is from another model: {e}") from None
        state.restore(self, ck)
        if self.log is not None:
            self.log.truncate_after(self.step)  # rows a killed run logged past this checkpoint
        self._resumed = True
        log.info("resumed from %s at step %d (%.1f s trained)", path, self.step, self.elapsed)

    # The loop --------------------------------------------------------------------------------
    def _emit(self, event: str, row: dict) -> None:
        if self.log is not None and event in ("log", "eval"):
            self.log.write(row)
        for cb in self.callbacks:
            cb(event, row)

    def evaluate(self, final: bool = False) -> dict:
        """Validation metrics: computed by process 0 on the whole validation set (covered
        once), the same numbers on every process."""
        metrics = None
        if self.dist.is_main:
            self.model.eval()
            with torch.no_grad():
                metrics = self.task.evaluate(self.model,
                                             None if final else self.cfg.eval_max_items)
            self.model.train()
        return self.dist.broadcast(metrics)

    def request_stop(self) -> None:
        """Stop at the next step boundary, saving a checkpoint (what Ctrl-C does)."""
        self._stop = True

    def fit(self) -> dict:
        """Train to the end of the budget (or an interrupt, or early stopping); returns the
        summary. The log's TensorBoard writer is closed when it returns or raises."""
        try:
            return self._fit()
        finally:
            if self.log is not None:
                self.log.close()

    def _fit(self) -> dict:
        if not self._resumed:
            # Each process its own dropout masks; process 0 draws what a single process would.
            torch.manual_seed(self.cfg.seed + 7919 * self.dist.rank)
        handler_installed = False
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGINT, lambda *_: self.request_stop())
            handler_installed = True
        try:
            stopped = self._loop()
        finally:
            if handler_installed:
                signal.signal(signal.SIGINT, previous)
        if stopped == "interrupted":
            self.save("last")
        else:
            self._eval_and_checkpoint(final=True)
        summary = self._summary(stopped)
        self._emit("end", summary)
        return summary

    def _summary(self, stopped: str) -> dict:
        return {"step": self.step, "elapsed": round(self.elapsed, 2), "epoch": self.epoch,
                "best_val_loss": self.best, "stopped": stopped, "skipped_steps": self.skipped,
                "rollbacks": self.rollbacks, "precision": self.precision,
                "world_size": self.dist.world, "plan": self.plan} | {
                    f"final_{k}": v for k, v in self.final_metrics.items()}

    def _backward(self, out, params) -> tuple[bool, torch.Tensor | float]:
        """Backward and clipping of one step; (finite, gradient norm). With many processes
        every process runs backward (gradients are averaged across them, so a non-finite one
        shows everywhere); the loss stands for its share of the global batch."""
        c, loss = self.cfg, out.loss
        if not self.dist.active and not bool(torch.isfinite(loss)):
            return False, math.nan
        if self.dist.active:
            loss = loss * (out.share * self.dist.world)
        (self.scaler.scale(loss) if self.scaler else loss).backward()
        if self.scaler is not None:
            self.scaler.unscale_(self.opt)
        if c.clip_value > 0:
            torch.nn.utils.clip_grad_value_(params, c.clip_value)
        gnorm = torch.nn.utils.clip_grad_norm_(params, c.clip_norm if c.clip_norm > 0
                                               else math.inf)
        return bool(torch.isfinite(gnorm)), gnorm

    def _loop(self) -> str:
        c = self.cfg
        params = [p for g in self.opt.param_groups for p in g["params"]]
        window = _Window()
        bad_in_row, stop = 0, 0.0
        while self.progress() < 1.0:
            if stop or (self._stop and not self.dist.active):
                return "interrupted"
            planned = self.planner.maybe_plan(self)
            if planned is not None:
                self._emit("plan", planned)
            t0 = time.perf_counter()
            lr = c.lr * self.lr_scale * lr_factor(
                c.schedule, self.step, self.progress(), c.warmup_steps, c.min_lr_ratio)
            with autocast(self.precision, self.device):
                out = self.task.train_step(self.train_model)
            finite, gnorm = self._backward(out, params)
            if not finite and self.scaler is not None and bool(torch.isfinite(out.loss)):
                self.scaler.update()  # fp16 overflow: the scaler lowers its scale and skips
                self.opt.zero_grad(set_to_none=True)
                continue
            if not finite:  # never let NaN/Inf reach the weights
                self.opt.zero_grad(set_to_none=True)
                bad_in_row += 1
                if bad_in_row >= c.max_bad_steps:
                    raise TrainingError(f"{bad_in_row} non-finite losses or gradients in a row; "
                                        "stopping (lower --lr or raise clipping)")
                self._on_nonfinite(out.loss)
                continue
            bad_in_row = 0
            for g in self.opt.param_groups:
                g["lr"] = lr * out.lr_scale
            if self.scaler is not None:
                self.scaler.step(self.opt)
                self.scaler.update()
            else:
                self.opt.step()
            self.opt.zero_grad(set_to_none=True)
            self.step += 1
            self.epoch = out.epoch
            # One all-reduce: every process adds the same time and sees any stop request.
            dt, stop, items = self.dist.sum(time.perf_counter() - t0, float(self._stop),
                                            out.items)
            self.elapsed += dt / self.dist.world
            window.add(out.loss.item(), int(items), dt / self.dist.world, float(gnorm),
                       c.clip_norm > 0 and float(gnorm) > c.clip_norm)
            if self.step % c.log_every == 0 or self.progress() >= 1.0:
                self._emit("log", {"step": self.step, "epoch": round(self.epoch, 4),
                                   "elapsed": round(self.elapsed, 2), "lr": lr} | window.row())
                window = _Window()
            if self.progress() < 1.0 and self._eval_due():
                self.last_eval_progress = self.progress()
                if self._eval_and_checkpoint(final=False):
                    return "early_stop"
            elif c.checkpoint_every and self.step % c.checkpoint_every == 0:
                self.save("last")
        return "budget"

    def _on_nonfinite(self, loss) -> None:
        self.skipped += 1
        last = self.run_dir / "checkpoints" / "last.safetensors" if self.run_dir else None
        if self.cfg.on_nonfinite == "rollback" and last is not None and last.is_file():
            scale = self.lr_scale * self.cfg.rollback_lr_factor
            counts = (self.rollbacks + 1, self.skipped)
            self.resume(last)  # the counters below survive the rollback
            self.lr_scale, (self.rollbacks, self.skipped) = scale, counts
            log.warning("step %d: non-finite loss/gradient (%s); rolled back to %s with "
                        "learning rate x%.3g", self.step, loss.item(), last, scale)
        else:
            log.warning("step %d: non-finite loss/gradient (%s); step skipped", self.step,
                        loss.item())

    def _eval_and_checkpoint(self, final: bool) -> bool:
        """Evaluate, save last (and best) checkpoints; True when early stopping triggers."""
        t0 = time.perf_counter()
        metrics = self.evaluate(final=final)
        row = {"step": self.step, "epoch": round(self.epoch, 4), "elapsed": round(self.elapsed, 2),
               "eval_seconds": round(time.perf_counter() - t0, 2), "final": final}
        row |= {f"val_{k}": v for k, v in metrics.items()}
        if final:
            self.final_metrics = metrics
        improved = metrics["loss"] < self.best
        if improved:
            self.best, self.bad_evals = metrics["loss"], 0
        else:
            self.bad_evals += 1
            if self.cfg.schedule == "plateau" and self.bad_evals % self.cfg.plateau_patience == 0:
                self.lr_scale *= self.cfg.plateau_factor
        self._emit("eval", row)
        self.save("last")
        if improved:
            self.save("best")
        return bool(self.cfg.early_stop) and self.bad_evals >= self.cfg.early_stop


class _Window:
    """Training statistics between two log rows."""

    def __init__(self):
        self.loss = self.time = self.gnorm = 0.0
        self.n = self.items = self.clipped = 0

    def add(self, loss: float, items: int, dt: float, gnorm: float, clipped: bool) -> None:
        self.loss += loss
        self.n += 1
        self.items += items
        self.time += dt
        self.gnorm += gnorm
        self.clipped += int(clipped)

    def row(self) -> dict:
        n = max(self.n, 1)
        return {"train_loss": self.loss / n, "items_per_s": self.items / max(self.time, 1e-9),
                "grad_norm": self.gnorm / n, "clip_frac": self.clipped / n}
