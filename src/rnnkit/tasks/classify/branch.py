"""The classifier's n-gram branch: an NB-weighted linear n-gram model (:mod:`.ngram`) whose
probabilities are averaged with the recurrent model's, ``(1 - w) p_rnn + w p_ngram``, the
weight ``w`` chosen on the validation texts by log-loss (``ngram.weight = -1``; the mixing is
:mod:`rnnkit.tasks.common.mixing`, shared with the series classifier's branch)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from ..common.mixing import WEIGHT_GRID, accuracy, choose_weight, combine, nll
from .ngram import NgramConfig, NgramModel

log = logging.getLogger(__name__)


def choose_ngram_weight(p_rnn: torch.Tensor, p_ngram: torch.Tensor, gold: Sequence[int],
                        grid: Sequence[float] = WEIGHT_GRID) -> float:
    """:func:`~rnnkit.tasks.common.mixing.choose_weight` for the n-gram branch."""
    return choose_weight(p_rnn, p_ngram, gold, grid, what="n-gram")


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
    probs = combine(p_rnn, p_ngram, w)
    parts = {"ngram_weight": w, "rnn_accuracy": accuracy(p_rnn, y_dev),
             "ngram_accuracy": accuracy(p_ngram, y_dev),
             "rnn_loss": nll(p_rnn, y_dev), "ngram_loss": nll(p_ngram, y_dev),
             "ngrams": len(ngram.vocab), "fit_s": round(time.perf_counter() - t0, 2)}
    log.info("n-gram branch: %d n-grams, weight %g; validation accuracy recurrent %.4f, "
             "n-gram %.4f, combined %.4f", len(ngram.vocab), w, parts["rnn_accuracy"],
             parts["ngram_accuracy"], accuracy(probs, y_dev))
    return probs, parts
