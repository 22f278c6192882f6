"""The series classifier's second branch: MiniRocket features (:mod:`.rocket`) with a ridge
classifier (:mod:`.ridge`), fitted on the training series once the recurrent model is trained,
its probabilities mixed with the recurrent model's as ``(1 - w) p_rnn + w p_rocket``
(:mod:`rnnkit.tasks.common.mixing`), ``w`` chosen on the validation series by log-loss under
a Beta prior (:data:`PRIOR`; ``rocket.weight = -1``, the default) or given.

Why: a recurrent classifier trained on tens of series of one dimension is at the mercy of
its seed and its stopping point, where random convolutions with a linear model are close to
the best known accuracy on the UCR archive at a second's cost; on the sets where the recurrent
model is better (multivariate, long dependencies) the validation series keep its weight.
The measurements are in ``docs/benchmarks.md``.

Saved as ``rocket.safetensors`` (tensors) and ``rocket.json`` (dilations, penalty, temperature
and the mixing weight).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..common.branch_files import load_branch, save_branch
from ..common.mixing import accuracy, choose_weight, combine, nll
from .ridge import Ridge
from .rocket import RocketConfig, RocketFeatures

log = logging.getLogger(__name__)

# The weight's prior, Beta(4, 2) (most probable weight 0.75): on the UCR/UEA sets measured
# (docs/benchmarks.md) the branch alone was the better single model on the small sets, whose
# few validation series (5 of GunPoint's 50) made the log-loss alone pick the recurrent
# model, confidently right on them and worse on the test split. It takes about 7 nats of
# validation log-loss in the recurrent model's favour to bring the weight near 0.
PRIOR = (4.0, 2.0)
MODEL_FILE = "rocket.safetensors"
META_FILE = "rocket.json"


class RocketBranch:
    """Features, ridge and mixing weight of a trained run."""

    def __init__(self, features: RocketFeatures, ridge: Ridge, mix_weight: float = 1.0):
        self.features, self.ridge, self.mix_weight = features, ridge, mix_weight

    @classmethod
    def fit(cls, series: Sequence[np.ndarray], labels: Sequence[int], num_classes: int,
            cfg: RocketConfig, seed: int = 0) -> RocketBranch:
        feats = RocketFeatures.fit(series, cfg.features, seed)
        return cls(feats, Ridge.fit(feats.transform(series), labels, num_classes))

    def proba(self, series: Sequence[np.ndarray]) -> Tensor:
        """Class probabilities (N, C), float32."""
        if not series:
            return torch.zeros(0, self.ridge.weight.shape[1])
        return self.ridge.proba(self.features.transform(series))

    def proba_padded(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Class probabilities (B, C) of padded series ``x (B, T, F)`` with ``lengths``."""
        return self.ridge.proba(self.features(x, lengths))

    def save(self, folder: str | Path) -> None:
        f = self.features
        meta = {"dilations": f.dilations, "counts": f.counts, "num_inputs": f.num_inputs,
                "alpha": self.ridge.alpha, "scale": self.ridge.scale,
                "mix_weight": self.mix_weight}
        tensors = {f"features.{k}": v for k, v in f.state_dict().items()}
        tensors |= {f"ridge.{k}": v for k, v in self.ridge.tensors().items()}
        save_branch(folder, META_FILE, meta, MODEL_FILE, tensors)

    @classmethod
    def load(cls, folder: str | Path) -> RocketBranch:
        meta, t = load_branch(folder, META_FILE, MODEL_FILE)
        ridge = Ridge(t["ridge.mean"], t["ridge.std"], t["ridge.weight"], t["ridge.bias"],
                      meta["alpha"], meta["scale"])
        features = RocketFeatures(meta["dilations"], meta["counts"], meta["num_inputs"])
        features.load_state_dict({k[len("features."):]: v for k, v in t.items()
                                  if k.startswith("features.")})
        return cls(features, ridge, meta["mix_weight"])

    @staticmethod
    def exists(folder: str | Path) -> bool:
        return (Path(folder) / MODEL_FILE).is_file()


def train_rocket_branch(run: Path, cfg: RocketConfig, num_classes: int, x_train, y_train,
                        x_dev, y_dev, p_rnn: Tensor, seed: int = 0) -> tuple[Tensor, dict]:
    """Fit the branch on the training series, choose its weight on the validation series
    (weight -1: the most probable weight under :data:`PRIOR` given their log-loss; with no
    validation series, the prior's), save it in ``run``; returns the combined
    validation probabilities and the components' validation scores."""
    t0 = time.perf_counter()
    branch = RocketBranch.fit(x_train, y_train, num_classes, cfg, seed)
    p_rocket = branch.proba(x_dev)
    if cfg.weight >= 0:
        w = cfg.weight
    else:
        w = (choose_weight(p_rnn, p_rocket, y_dev, what="rocket", prior=PRIOR) if len(y_dev)
             else (PRIOR[0] - 1) / (sum(PRIOR) - 2))
    branch.mix_weight = w
    branch.save(run)
    probs = combine(p_rnn, p_rocket, w)
    parts = {"rocket_weight": w, "rnn_accuracy": accuracy(p_rnn, y_dev),
             "rocket_accuracy": accuracy(p_rocket, y_dev),
             "rnn_loss": nll(p_rnn, y_dev) if len(y_dev) else float("nan"),
             "rocket_loss": nll(p_rocket, y_dev) if len(y_dev) else float("nan"),
             "rocket_features": branch.features.num_features, "ridge_alpha": branch.ridge.alpha,
             "fit_s": round(time.perf_counter() - t0, 2)}
    log.info("rocket branch: %d features, ridge penalty %.3g, weight %g; validation accuracy "
             "recurrent %.4f, rocket %.4f, combined %.4f", parts["rocket_features"],
             branch.ridge.alpha, w, parts["rnn_accuracy"], parts["rocket_accuracy"],
             accuracy(probs, y_dev))
    return probs, parts
