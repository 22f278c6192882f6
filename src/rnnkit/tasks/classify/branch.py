"""The classifier's n-gram branch: an NB-weighted linear n-gram model (:mod:`.ngram`) whose
probabilities are averaged with the recurrent model's, ``(1 - w) p_rnn + w p_ngram``, the
weight ``w`` chosen on the validation texts by log-loss (``ngram.weight = -1``).

>>> import torch
>>> p_rnn = torch.tensor([[0.9, 0.1], [0.6, 0.4]])
>>> p_ngram = torch.tensor([[0.5, 0.5], [0.0, 1.0]])
>>> combine(p_rnn, p_ngram, 0.5)
tensor([[0.7000, 0.3000],
        [0.3000, 0.7000]])

The log-loss of gold labels [0, 1] is lowest near w = 0.79 (from d/dw log(0.9 - 0.4w) +
log(0.4 + 0.6w) = 0); the grid's nearest weight is chosen:

>>> choose_ngram_weight(p_rnn, p_ngram, [0, 1])
0.8
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from .ngram import NgramConfig, NgramModel

log = logging.getLogger(__name__)


# Candidate n-gram weights for ngram_weight = -1 (auto).
WEIGHT_GRID = tuple(i / 20 for i in range(21))


def combine(p_rnn: torch.Tensor, p_ngram: torch.Tensor, weight: float) -> torch.Tensor:
    """The classifier's probabilities with the n-gram branch: ``(1 - w) p_rnn + w p_ngram``."""
    return p_rnn if weight == 0 else (1 - weight) * p_rnn + weight * p_ngram


def nll(probs: torch.Tensor, gold: Sequence[int]) -> float:
    return torch.nn.functional.nll_loss(probs.clamp_min(1e-12).log(),
                                        torch.as_tensor(list(gold))).item()


def choose_ngram_weight(p_rnn: torch.Tensor, p_ngram: torch.Tensor, gold: Sequence[int],
                        grid: Sequence[float] = WEIGHT_GRID) -> float:
    """The weight of the grid whose combination has the lowest log-loss on ``gold`` (the
    criterion that picks the best checkpoint); the first one on ties (within 1e-9)."""
    p_rnn, p_ngram = p_rnn.double(), p_ngram.double()
    losses = [nll(combine(p_rnn, p_ngram, w), gold) for w in grid]
    finite = [x for x in losses if math.isfinite(x)]
    if not finite:
        raise ValueError("cannot choose the n-gram weight: no combination has a finite "
                         "validation log-loss (are the recurrent model's probabilities NaN?)")
    best = min(finite)
    return next(w for w, x in zip(grid, losses) if math.isfinite(x) and x <= best + 1e-9)


def train_ngram_branch(run: Path, cfg: NgramConfig, num_classes: int, x_train, y_train, x_dev,
                       y_dev, p_rnn: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Fit the n-gram model on the training texts, (squared hinge) calibrate it and (weight
    -1) choose its weight on the validation texts, save it in ``run``; returns the combined
    validation probabilities and the components' validation scores."""
    t0 = time.perf_counter()
    ngram = NgramModel.fit(x_train, y_train, num_classes, cfg)
    if ngram.cfg.loss != "logistic":
        ngram.calibrate(x_dev, y_dev)
    p_ngram = ngram.proba(x_dev)
    w = cfg.weight if cfg.weight >= 0 else choose_ngram_weight(p_rnn, p_ngram, y_dev)
    ngram.mix_weight = w
    ngram.save(run)
    gold = torch.as_tensor(list(y_dev))

    def acc(p):
        return (p.argmax(1) == gold).double().mean().item() if len(gold) else 0.0

    probs = combine(p_rnn, p_ngram, w)
    parts = {"ngram_weight": w, "rnn_accuracy": acc(p_rnn), "ngram_accuracy": acc(p_ngram),
             "rnn_loss": nll(p_rnn, y_dev), "ngram_loss": nll(p_ngram, y_dev),
             "ngrams": len(ngram.vocab), "fit_s": round(time.perf_counter() - t0, 2)}
    log.info("n-gram branch: %d n-grams, weight %g; validation accuracy recurrent %.4f, "
             "n-gram %.4f, combined %.4f", len(ngram.vocab), w, parts["rnn_accuracy"],
             parts["ngram_accuracy"], acc(probs))
    return probs, parts
