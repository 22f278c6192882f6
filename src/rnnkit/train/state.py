"""What a checkpoint of the training loop holds, and restoring it (see
docs/design/exact-resume.md): weights, optimizer, the trainer's counters, the task's state
(data position, carried hidden state), every RNG state, the train settings and the run's
config. With many processes every process joins the gathers and process 0 writes."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import torch

from .plan import Planner
from .train_config import TrainConfig

log = logging.getLogger(__name__)

TRAINER_FIELDS = ("step", "elapsed", "epoch", "best", "bad_evals", "lr_scale", "skipped",
                  "rollbacks", "last_eval_progress", "plan")


def _rng_states(dist) -> dict:
    rng: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    if dist.active:  # each process draws its own dropout masks: keep every one
        import torch.distributed as td

        states = [None] * dist.world
        td.all_gather_object(states, torch.get_rng_state())
        rng["ranks"] = states
    return rng


def payload(trainer) -> dict[str, Any]:
    """The checkpoint of ``trainer`` (every process calls this; the gathers are collective)."""
    return {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.opt.state_dict(),
        "trainer": {k: getattr(trainer, k) for k in TRAINER_FIELDS},
        "task": trainer.task.state_dict(),
        "rng": _rng_states(trainer.dist),
        "train_config": asdict(trainer.cfg),
        "meta": trainer.meta,
        "world_size": trainer.dist.world,
    }


def restore(trainer, ck: dict) -> None:
    """Set ``trainer`` (model, optimizer loaded by the caller) to a checkpoint's counters,
    task state and RNG states. Saved by the same number of processes, every process gets its
    own RNG state back (a bitwise resume); saved by another number, each process derives one
    from process 0's."""
    t = ck["trainer"]
    trainer.step, trainer.elapsed, trainer.epoch = int(t["step"]), float(t["elapsed"]), t["epoch"]
    trainer.best, trainer.bad_evals = float(t["best"]), int(t["bad_evals"])
    trainer.lr_scale, trainer.skipped = float(t["lr_scale"]), int(t["skipped"])
    trainer.rollbacks = int(t["rollbacks"])
    trainer.last_eval_progress = float(t["last_eval_progress"])
    trainer.task.load_state_dict(ck["task"])
    if t.get("plan") is not None:
        trainer.plan = t["plan"]
        trainer.task.apply_plan(trainer.model, trainer.plan)
        saved = ck.get("train_config") or {}
        if any(k in saved and saved[k] != getattr(trainer.cfg, k) for k in TrainConfig.BUDGETS):
            log.warning("resumed under a new budget: the plan made for the old one is kept "
                        "(%s); start a new run to plan for this budget", trainer.plan)
    elif trainer.plan is None:
        # saved before the plan was made (or before plans existed): this process plans, and
        # measures its throughput afresh (the elapsed time went back to the checkpoint's)
        trainer.planner = Planner()
    # else a rollback to a checkpoint from before the plan: the run keeps the plan it made
    rng, rank = ck["rng"], trainer.dist.rank
    ranks = rng.get("ranks")
    if ranks is not None and len(ranks) == trainer.dist.world:
        torch.set_rng_state(ranks[rank])
    else:
        torch.set_rng_state(rng["torch"])
        if rank:
            torch.manual_seed(int(torch.randint(2**62, (1,)).item()) + rank)
    if "cuda" in rng and torch.cuda.is_available() and len(rng["cuda"]) == \
            torch.cuda.device_count():
        torch.cuda.set_rng_state_all(rng["cuda"])
