"""The training loop's settings: optimizer, schedule, clipping, budgets, evaluation,
checkpoints, non-finite handling, precision. One field per option of every ``rnnkit train``
command (a task's own defaults are set where its settings are: e.g. the classifier's
``TrainConfig(lr=1e-3, epochs=6)``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal


@dataclass
class TrainConfig:
    lr: float = 3e-3  # peak learning rate (AdamW)
    weight_decay: float = 0.01  # AdamW decoupled weight decay (not on biases, norms, embeddings)
    beta2: float = 0.99  # AdamW second-moment decay
    warmup_steps: int = 50  # linear warmup
    schedule: Literal["cosine", "constant", "plateau"] = "cosine"  # learning-rate schedule
    min_lr_ratio: float = 0.05  # cosine ends at lr * min_lr_ratio
    plateau_factor: float = 0.5  # plateau: lr *= factor after `plateau_patience` bad evals
    plateau_patience: int = 1
    clip_norm: float = 1.0  # clip the global gradient norm (0: off)
    clip_value: float = 0.0  # clip each gradient element to [-v, v] (0: off)
    minutes: float | None = None  # wall-clock training budget
    steps: int | None = None  # optimizer-step budget
    epochs: float | None = None  # epoch budget
    eval_every: int = 0  # evaluate every N steps (0: about 6 times over the budget)
    eval_max_items: int | None = None  # cap interval evaluations (the final one is complete)
    early_stop: int = 0  # stop after N evaluations without improvement (0: off)
    checkpoint_every: int = 0  # also checkpoint every N steps (0: at evaluations only)
    keep_checkpoints: int = 0  # keep the N newest step-numbered checkpoints besides last/best
    on_nonfinite: Literal["skip", "rollback"] = "skip"  # what a NaN/Inf loss or gradient does
    rollback_lr_factor: float = 0.5  # rollback: learning rate multiplier after each rollback
    max_bad_steps: int = 20  # consecutive non-finite steps (or rollbacks) before giving up
    log_every: int = 20  # steps between log rows
    seed: int = 0  # seed of every random choice: initial weights, batches, dropout
    precision: Literal["fp32", "bf16", "fp16", "auto"] = "fp32"  # autocast, float32 weights

    BUDGETS: ClassVar[tuple[str, ...]] = ("minutes", "steps", "epochs")  # one is the budget

    def validate(self) -> None:
        if not (self.minutes or self.steps or self.epochs):
            raise ValueError("give a budget: minutes, steps or epochs")
        if self.lr <= 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")
        for name in ("minutes", "steps", "epochs"):
            v = getattr(self, name)
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        if self.on_nonfinite not in ("skip", "rollback"):
            raise ValueError(f"on_nonfinite must be skip or rollback, got {self.on_nonfinite!r}")
        if self.log_every < 1:
            raise ValueError(f"log_every must be >= 1, got {self.log_every}")
