"""One-vs-rest ridge classifier with the penalty chosen by exact leave-one-out error, and its
scores turned into probabilities (the random-feature branch of the series classifier).

Features are standardised with the training statistics; targets are +1 for the class and -1
for the others, with an unpenalised intercept. With the thin SVD ``Xc = U S V^T`` of the
centred features, the fitted values at penalty a are ``U diag(s^2 / (s^2 + a)) U^T Yc`` and the
hat matrix's diagonal is ``1/n + sum_j U_ij^2 s_j^2 / (s_j^2 + a)``, so every penalty of the grid
gets its exact leave-one-out residuals ``(y - fitted) / (1 - h)`` from one decomposition; the
penalty with the smallest leave-one-out squared error is kept (RidgeClassifierCV's criterion).
The leave-one-out scores are also what the softmax temperature is fitted on, so the
probabilities are calibrated on series the ridge did not see.

>>> X = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
>>> r = Ridge.fit(X, [0, 1, 0, 1], num_classes=2)
>>> r.proba(torch.tensor([[0.0, 1.0], [1.0, 0.1]])).argmax(1).tolist()
[0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

ALPHAS = tuple(10.0 ** (-3 + 6 * i / 9) for i in range(10))  # logspace(-3, 3, 10)


class Ridge:
    """``scores(X) = ((X - mean) / std) @ weight + bias``, ``proba = softmax(scale * scores)``."""

    def __init__(self, mean: Tensor, std: Tensor, weight: Tensor, bias: Tensor, alpha: float,
                 scale: float):
        self.mean, self.std, self.weight, self.bias = mean, std, weight, bias
        self.alpha, self.scale = alpha, scale

    @classmethod
    def fit(cls, X: Tensor, labels: Sequence[int], num_classes: int,
            alphas: Sequence[float] = ALPHAS) -> Ridge:
        y = torch.as_tensor(list(labels))
        if X.shape[0] != len(y) or len(y) < 2:
            raise ValueError(f"need one label per row and at least two rows, got {X.shape[0]} "
                             f"rows and {len(y)} labels")
        X = X.double()
        mean, std = X.mean(0), X.std(0, correction=0)
        std = torch.where(std > 1e-12, std, torch.ones_like(std))
        Xc = (X - mean) / std
        Y = torch.where(F.one_hot(y, num_classes).bool(), 1.0, -1.0).double()  # (N, C)
        y_mean = Y.mean(0)
        Yc = Y - y_mean
        U, s, Vh = torch.linalg.svd(Xc, full_matrices=False)
        keep = s > s.max() * 1e-10  # the rank (N >= 2 rows, so s is never empty)
        U, s, Vh = U[:, keep], s[keep], Vh[keep]
        UtY = U.T @ Yc  # (r, C)
        n = len(y)
        best = None
        for a in alphas:
            shrink = s**2 / (s**2 + a)  # (r,)
            fitted = U @ (shrink[:, None] * UtY)  # (N, C)
            h = 1.0 / n + (U**2) @ shrink  # (N,)
            loo = (Yc - fitted) / (1 - h).clamp_min(1e-12)[:, None]
            err = float((loo**2).sum())
            if best is None or err < best[0] - 1e-12:
                best = (err, a, Y - loo)
        _, alpha, loo_scores = best
        weight = Vh.T @ ((s / (s**2 + alpha))[:, None] * UtY)  # (F, C)
        r = cls(mean.float(), std.float(), weight.float(), y_mean.float(), alpha, 1.0)
        r.scale = fit_scale(loo_scores, y)
        return r

    def scores(self, X: Tensor) -> Tensor:
        return ((X - self.mean) / self.std) @ self.weight + self.bias

    def proba(self, X: Tensor) -> Tensor:
        return torch.softmax(self.scale * self.scores(X), dim=1)

    def tensors(self) -> dict[str, Tensor]:
        return {"mean": self.mean, "std": self.std, "weight": self.weight, "bias": self.bias}


def fit_scale(scores: Tensor, y: Tensor) -> float:
    """The temperature ``t > 0`` minimising the log-loss of ``softmax(t * scores)``."""
    scores = scores.double()
    log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_t], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(log_t.exp() * scores, y)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp().clamp(1e-3, 1e3))
