"""Choices that depend on how much training the budget holds.

How much a model should be regularised depends on how many times it will see its data: nine
epochs of a text want little dropout, thirty-five want a lot (docs/design/lm-defaults.md).
Under a wall-clock budget that number is only known once the throughput on the machine at hand
is measured, so the trainer estimates it after the first steps and asks the task once
(:meth:`~rnnkit.train.task.Task.plan_for_budget`). The plan is saved in every checkpoint and
applied again on a resume, so a resumed run keeps the choice it made.

Estimates: an epoch budget is its own answer (known before the first step); a step budget
scales the epochs per step of the first ``SKIP_STEPS`` steps; a wall-clock budget extrapolates
the epochs per second measured after the first ``SKIP_STEPS`` steps (their one-off costs, such
as building kernels, left out) over the time that is left, once ``AFTER`` of the run's
expected length has been trained. With several budgets the run ends at the first, and so does
the estimate: a large wall-clock cap on a short epoch budget does not delay the plan.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SKIP_STEPS = 5  # steps before the throughput is measured (kernel builds, warm caches)
MIN_STEPS = 20  # steps measured before a wall-clock estimate
AFTER = 0.03  # share of a wall-clock budget trained before it is estimated


class Planner:
    """Estimates the epochs in ``trainer``'s budget and makes the task's plan once."""

    def __init__(self):
        self.first: int | None = None  # the step this process started from
        self.mark: tuple[int, float, float] | None = None  # (step, elapsed, epoch)

    def expected_epochs(self, trainer) -> float | None:
        """About how many epochs the whole budget holds; None while it cannot be told.
        Called before every step; with several budgets, the one that ends the run first."""
        c = trainer.cfg
        estimates = []
        if c.epochs:
            estimates.append(float(c.epochs))
        if c.steps:
            # a few steps, not one: a language model's first window may be a short one
            if trainer.step < max(1, min(SKIP_STEPS, c.steps - 1)) or trainer.epoch <= 0:
                return None
            estimates.append(trainer.epoch / trainer.step * c.steps)
        if c.minutes:
            wall = self._wall_clock(trainer, min(estimates) if estimates else None)
            if wall is None:
                return None
            estimates.append(wall)
        return min(estimates) if estimates else None

    def _wall_clock(self, trainer, other: float | None) -> float | None:
        """The epochs the wall-clock budget holds at the rate measured from ``SKIP_STEPS``
        steps after this process's first (a resumed run measures its own start too), once
        ``AFTER`` of the run's expected length has been trained: of the minutes, or of the
        time the ``other`` budget (in epochs) takes at that rate when it ends the run first."""
        if self.first is None:
            self.first = trainer.step  # called before every step: this process's start
        if self.mark is None and trainer.step >= self.first + SKIP_STEPS:
            self.mark = (trainer.step, trainer.elapsed, trainer.epoch)
        if self.mark is None:
            return None
        step0, t0, e0 = self.mark
        if trainer.step - step0 < MIN_STEPS or trainer.epoch <= e0 or trainer.elapsed <= t0:
            return None
        rate = (trainer.epoch - e0) / (trainer.elapsed - t0)
        budget = 60 * trainer.cfg.minutes
        horizon = budget
        if other is not None:
            horizon = min(budget, trainer.elapsed + max(other - trainer.epoch, 0.0) / rate)
        if trainer.elapsed - t0 < AFTER * horizon:
            return None
        return trainer.epoch + rate * max(budget - trainer.elapsed, 0.0)

    def maybe_plan(self, trainer) -> dict | None:
        """Make the plan when the estimate is ready (once per run; kept across resumes);
        returns the event row to report when a plan was made and chose something."""
        if trainer.plan is not None:
            return None
        epochs = self.expected_epochs(trainer)
        if epochs is None:
            return None
        trainer.plan = dict(trainer.task.plan_for_budget(trainer.model, epochs) or {})
        if not trainer.plan:
            return None
        log.info("step %d: the budget holds about %.1f epochs; plan %s", trainer.step, epochs,
                 trainer.plan)
        return {"step": trainer.step, "epochs": epochs, "plan": trainer.plan}
