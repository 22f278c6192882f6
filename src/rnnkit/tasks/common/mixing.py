"""Mixing a classifier's probabilities with a second branch's (the n-gram model of text
classification, the random-convolution ridge of series classification):
``(1 - w) p_rnn + w p_branch``, the weight ``w`` chosen on the validation data by log-loss.

>>> import torch
>>> p_rnn = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
>>> p_branch = torch.tensor([[0.5, 0.5], [0.0, 1.0]])
>>> combine(p_rnn, p_branch, 0.5)
tensor([[0.7000, 0.3000],
        [0.3000, 0.7000]])

The log-loss of gold labels [0, 1] is lowest near w = 0.79 (from d/dw log(0.9 - 0.4w) +
log(0.4 + 0.6w) = 0); the grid's nearest weight is chosen:

>>> choose_weight(p_rnn, p_branch, [0, 1])
0.8
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

# Candidate weights of the second branch when it is chosen on the validation data.
WEIGHT_GRID = tuple(i / 20 for i in range(21))


def combine(p_rnn: torch.Tensor, p_branch: torch.Tensor, weight: float) -> torch.Tensor:
    """``(1 - w) p_rnn + w p_branch``."""
    return p_rnn if weight == 0 else (1 - weight) * p_rnn + weight * p_branch


def nll(probs: torch.Tensor, gold: Sequence[int]) -> float:
    return torch.nn.functional.nll_loss(probs.clamp_min(1e-12).log(),
                                        torch.as_tensor(list(gold))).item()


def accuracy(probs: torch.Tensor, gold: Sequence[int]) -> float:
    gold = torch.as_tensor(list(gold))
    return (probs.argmax(1) == gold).double().mean().item() if len(gold) else 0.0


def choose_weight(p_rnn: torch.Tensor, p_branch: torch.Tensor, gold: Sequence[int],
                  grid: Sequence[float] = WEIGHT_GRID, what: str = "branch",
                  prior: tuple[float, float] = (1.0, 1.0)) -> float:
    """The weight of the grid whose combination has the lowest log-loss on ``gold`` (the
    criterion that picks the best checkpoint); the first one on ties (within 1e-9).

    ``prior = (a, b)``: the most probable weight under a Beta(a, b) prior instead, i.e. the
    summed log-loss plus ``-(a - 1) log w - (b - 1) log(1 - w)``: with few validation items
    the prior decides, with many the data do (a = b = 1: log-loss alone)."""
    p_rnn, p_branch = p_rnn.double(), p_branch.double()
    a, b, n = prior[0], prior[1], max(1, len(gold))

    def penalty(w: float) -> float:
        def term(c: float, v: float) -> float:
            return 0.0 if c == 1 else (math.inf if v <= 0 else -(c - 1) * math.log(v))

        return (term(a, w) + term(b, 1 - w)) / n

    losses = [nll(combine(p_rnn, p_branch, w), gold) + penalty(w) for w in grid]
    finite = [x for x in losses if math.isfinite(x)]
    if not finite:
        raise ValueError(f"cannot choose the {what} weight: no combination has a finite "
                         "validation log-loss (are the recurrent model's probabilities NaN?)")
    best = min(finite)
    return next(w for w, x in zip(grid, losses) if math.isfinite(x) and x <= best + 1e-9)
