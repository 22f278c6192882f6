"""Learning-rate schedules as a function of training progress in [0, 1]."""

from __future__ import annotations

import math


def lr_factor(schedule: str, step: int, progress: float, warmup_steps: int,
              min_ratio: float) -> float:
    """Multiplier of the base learning rate.

    Linear warmup over ``warmup_steps``; then ``cosine`` decays to ``min_ratio`` as progress
    (the largest of steps, time and epochs used, as a fraction of the budget) goes to 1;
    ``constant`` and ``plateau`` stay at 1 (plateau's reductions are applied by the loop).
    """
    warm = min(1.0, (step + 1) / warmup_steps) if warmup_steps > 0 else 1.0
    if schedule == "cosine":
        p = min(max(progress, 0.0), 1.0)
        return warm * (min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * p)))
    if schedule in ("constant", "plateau"):
        return warm
    raise ValueError(f"schedule must be cosine, constant or plateau, got {schedule!r}")
