"""The language model's dropout, chosen from the number of epochs its budget holds.

Measured on tiny-shakespeare with the default 2 x 256 LSTM (docs/design/lm-defaults.md): at
about 9 epochs (3 minutes on a 2-core CPU) no dropout between the layers and 0.1 on the outputs
scored best, and 0.25 on both was 0.03 nats/char worse; at about 35 epochs (15 minutes) 0.25 on
both scored 1.459 against 1.531 for the lighter setting, whose best checkpoint came at 40% of
the budget. Between the two the probabilities follow the logarithm of the epochs; past 35
epochs they go on rising a little, up to 0.35 and 0.31.
"""

from __future__ import annotations

import math

LOW_EPOCHS, HIGH_EPOCHS = 9.0, 35.0  # the two measured budgets
LOW = (0.0, 0.1)  # (between layers, on the outputs) at LOW_EPOCHS and below
HIGH = (0.25, 0.25)  # at HIGH_EPOCHS
MAX_T = 1.4  # how far past HIGH_EPOCHS the line is followed (0.35, 0.31)


def dropout_for_epochs(epochs: float) -> tuple[float, float]:
    """(dropout between stacked layers, dropout on the outputs) for a run of ``epochs``."""
    if not epochs > LOW_EPOCHS:
        return LOW
    t = min(math.log(epochs / LOW_EPOCHS) / math.log(HIGH_EPOCHS / LOW_EPOCHS), MAX_T)
    return tuple(round(lo + t * (hi - lo), 3) for lo, hi in zip(LOW, HIGH))  # type: ignore


def plan_dropout(model, epochs: float, rnn: bool, out: bool) -> dict:
    """Set the ``rnn`` (between layers) and ``out`` dropouts the user left to the budget;
    returns the plan (empty when both were given)."""
    between, outputs = dropout_for_epochs(epochs)
    plan: dict = {}
    if rnn and model.encoder.num_layers > 1:
        plan["rnn_dropout"] = between
    if out:
        plan["out_dropout"] = outputs
    if plan:
        plan["expected_epochs"] = round(float(epochs), 2)
        apply_dropout(model, plan)
    return plan


def apply_dropout(model, plan: dict) -> None:
    if "rnn_dropout" in plan:
        model.encoder.dropout = float(plan["rnn_dropout"])
    if "out_dropout" in plan:
        model.out_dropout.p = float(plan["out_dropout"])
