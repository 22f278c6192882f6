"""Random convolutional features of series (MiniRocket; Dempster, Schmidt and Webb, KDD 2021),
the series classifier's second branch (with the ridge of :mod:`.ridge`).

The 84 kernels are MiniRocket's: length 9, six weights -1 and three weights 2 (every choice of
the three positions), so each sums to 0 and is blind to the series' level. Each is applied at
dilations spaced exponentially from 1 to ``(T - 1) / 8`` (T: the median training length), in
"same" padding. A feature is the proportion of positive values (PPV) of one kernel's output
minus a bias, over the valid steps of the series; the biases are quantiles of the kernel's
output on a random training series (MiniRocket's low-discrepancy quantiles). Half the
(kernel, dilation) pairs count every step, the other half only the steps whose receptive field
lies inside the series (MiniRocket's alternating padding). With several features per step, each
(kernel, dilation) pair sums the convolutions of a random subset of 1 to 9 features (the
multivariate MiniRocket).

Unequal lengths are handled by counting only each series' own steps; nothing is resampled.

>>> f = RocketFeatures.fit([np.sin(np.arange(50.0))[:, None]] * 4, num_features=168, seed=0)
>>> f.transform([np.cos(np.arange(30.0))[:, None]]).shape
torch.Size([1, 168])
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...data.batching import eval_batches
from .data import pad_series

KERNEL_SIZE = 9
# (84, 1, 9): -1 everywhere, 2 at three of the nine positions.
_POSITIONS = list(itertools.combinations(range(KERNEL_SIZE), 3))
NUM_KERNELS = len(_POSITIONS)
MAX_DILATIONS = 32  # per kernel (MiniRocket's default)
MAX_CHANNELS = 9  # features summed by one (kernel, dilation) pair at most


@dataclass
class RocketConfig:
    weight: float = -1.0  # weight of its probabilities (0: no rocket branch; -1: chosen on dev)
    features: int = 10_000  # number of random-convolution features (rounded to 84 kernels)

    def validate(self) -> None:
        w = self.weight
        if not (w == -1 or (math.isfinite(w) and 0 <= w <= 1)):
            raise ValueError(f"rocket_weight must be in [0, 1] (0: no rocket branch) or -1 "
                             f"(chosen on the validation series), got {w}")
        if self.features < NUM_KERNELS:
            raise ValueError(f"rocket_features must be >= {NUM_KERNELS} (one per kernel), got "
                             f"{self.features}")


def kernels() -> Tensor:
    w = -torch.ones(NUM_KERNELS, 1, KERNEL_SIZE)
    for k, pos in enumerate(_POSITIONS):
        w[k, 0, list(pos)] = 2.0
    return w


def fit_dilations(length: int, num_features: int) -> tuple[list[int], list[int]]:
    """MiniRocket's dilations for series of ``length`` steps and features per kernel at each:
    ``(dilations, features per dilation)``, the features summing to num_features // 84."""
    per_kernel = max(1, num_features // NUM_KERNELS)
    true_max = min(per_kernel, MAX_DILATIONS)
    max_exponent = math.log2(max(1.0, (length - 1) / (KERNEL_SIZE - 1)))
    raw = np.floor(np.logspace(0, max_exponent, true_max, base=2)).astype(np.int64)
    dilations, counts = np.unique(raw, return_counts=True)
    counts = (counts * (per_kernel / true_max)).astype(np.int64)
    for i in itertools.islice(itertools.cycle(range(len(counts))), per_kernel - counts.sum()):
        counts[i] += 1
    return dilations.tolist(), counts.tolist()


def quantiles(n: int) -> Tensor:
    """n low-discrepancy points in (0, 1): ``i * golden ratio mod 1``, i = 1..n."""
    return torch.tensor([(i * (math.sqrt(5) + 1) / 2) % 1 for i in range(1, n + 1)],
                        dtype=torch.float64)


class RocketFeatures(nn.Module):
    """MiniRocket's transform, fitted on training series (each (T, F)); see the module.
    ``forward(x (B, T, F) zero past each length, lengths (B,)) -> (B, num_features)`` is what
    prediction and the exported graph both run."""

    def __init__(self, dilations: list[int], counts: list[int], num_inputs: int):
        super().__init__()
        self.dilations, self.counts = list(dilations), list(counts)  # features per kernel
        self.num_inputs = num_inputs  # F
        self.register_buffer("weight", kernels())
        for i, c in enumerate(self.counts):
            self.register_buffer(f"bias{i}", torch.zeros(NUM_KERNELS, c))  # thresholds
            # (84, F) 0/1: the features each kernel sums at this dilation
            self.register_buffer(f"channels{i}", torch.ones(NUM_KERNELS, num_inputs))

    @property
    def num_features(self) -> int:
        return NUM_KERNELS * sum(self.counts)

    @classmethod
    def fit(cls, series: Sequence[np.ndarray], num_features: int = 10_000,
            seed: int = 0) -> RocketFeatures:
        if not series:
            raise ValueError("RocketFeatures.fit() needs at least one training series")
        g = np.random.default_rng(seed)
        dilations, counts = fit_dilations(int(np.median([len(s) for s in series])),
                                          num_features)
        self = cls(dilations, counts, series[0].shape[1])
        q = quantiles(self.num_features)
        start = 0
        for i, c in enumerate(counts):
            getattr(self, f"channels{i}").copy_(_channel_subsets(g, series[0].shape[1]))
            bias = getattr(self, f"bias{i}")
            picked = g.integers(len(series), size=NUM_KERNELS).tolist()  # one per kernel
            x, lengths = pad_series([series[n] for n in picked])
            z = self._conv(x, i)  # (84 series, 84 kernels, T): row k's kernel k is used
            for k in range(NUM_KERNELS):
                zk = z[k, k, : int(lengths[k])].double()  # kernel k on its own series
                bias[k] = torch.quantile(zk, q[start + k * c: start + (k + 1) * c]).float()
            start += NUM_KERNELS * c
        return self

    def _conv(self, x: Tensor, i: int) -> Tensor:
        """(B, T, F) -> (B, 84, T): each kernel at dilation i over its features, summed."""
        d = self.dilations[i]
        B, T, nf = x.shape
        y = F.conv1d(x.transpose(1, 2).reshape(B * nf, 1, T), self.weight,
                     padding=(KERNEL_SIZE - 1) * d // 2, dilation=d)
        y = y.view(B, nf, NUM_KERNELS, T)
        return y[:, 0] if nf == 1 else torch.einsum("bfkt,kf->bkt", y,
                                                     getattr(self, f"channels{i}"))

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        steps = torch.arange(x.shape[1], device=x.device)[None]  # (1, T)
        lengths = lengths.to(x.device)[:, None]  # (B, 1)
        every = (steps < lengths).float()  # (B, T)
        # Alternating padding: (kernel + dilation index) odd counts only the steps whose
        # receptive field lies inside the series (every step where none does).
        odd = torch.arange(NUM_KERNELS, device=x.device) % 2
        parts = []
        for i, d in enumerate(self.dilations):
            p = (KERNEL_SIZE - 1) * d // 2
            inside = ((steps >= p) & (steps < lengths - p)).float()
            inside = torch.where(inside.sum(1, keepdim=True) > 0, inside, every)
            pick = ((odd + i) % 2).float()[None, :, None]  # (1, 84, 1)
            mask = pick * inside[:, None] + (1 - pick) * every[:, None]  # (B, 84, T)
            z = self._conv(x, i)  # (B, 84, T)
            pos = (z.unsqueeze(2) > getattr(self, f"bias{i}")[None, :, :, None]).float()
            parts.append(((pos * mask.unsqueeze(2)).sum(-1)
                          / mask.sum(-1, keepdim=True)).flatten(1))
        return torch.cat(parts, 1)

    @torch.no_grad()
    def transform(self, series: Sequence[np.ndarray], batch_size: int = 64) -> Tensor:
        """Features (N, num_features) float32, in the order of ``series`` (in batches of at
        most ``batch_size``, fewer for long series: about 64 MB of comparisons at a time)."""
        out = torch.empty(len(series), self.num_features)
        if not len(series):
            return out
        per_row = NUM_KERNELS * max(self.counts) * max(len(s) for s in series)
        batch_size = max(1, min(batch_size, (1 << 24) // per_row))
        for idx in eval_batches([len(s) for s in series], batch_size):
            out[idx] = self(*pad_series([series[i] for i in idx]))
        return out


def _channel_subsets(g: np.random.Generator, nf: int) -> Tensor:
    """(84, nf) 0/1: each kernel's features, 2^U(0, log2(min(nf, 9) + 1)) of them, at least
    one (MiniRocket's multivariate choice)."""
    out = torch.zeros(NUM_KERNELS, nf)
    top = math.log2(min(nf, MAX_CHANNELS) + 1)
    for k in range(NUM_KERNELS):
        n = max(1, min(nf, int(2 ** g.uniform(0, top))))
        out[k, g.choice(nf, n, replace=False)] = 1.0
    return out
