"""Normalisation of real-valued series, fitted on the training split only.

``mode``:

* ``feature``: per feature, the mean and standard deviation over every step of every training
  series (stored, so prediction applies the training statistics);
* ``series``: each series by its own mean and deviation per feature (nothing is fitted; for
  classification where the shape matters, not the level);
* ``none``.

A feature that never varies in training gets deviation 1 (it is only centred).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["NORMALIZE", "Normalizer"]

NORMALIZE = ("feature", "series", "none")


@dataclass
class Normalizer:
    mode: str = "feature"
    mean: list[float] = field(default_factory=list)  # (F,), mode feature
    std: list[float] = field(default_factory=list)  # (F,), mode feature

    def __post_init__(self):
        if self.mode not in NORMALIZE:
            raise ValueError(f"normalize must be one of {NORMALIZE}, got {self.mode!r}")

    @classmethod
    def fit(cls, series: Sequence[np.ndarray], mode: str = "feature") -> Normalizer:
        """Statistics from ``series`` (each (T, F)): pass the training split only."""
        norm = cls(mode)
        if mode == "feature":
            allx = np.concatenate([np.asarray(x, dtype=np.float64) for x in series])  # (ΣT, F)
            std = allx.std(0)
            norm.mean = allx.mean(0).tolist()
            norm.std = np.where(std > 1e-12, std, 1.0).tolist()
        return norm

    def _stats(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "feature":
            if len(self.mean) != x.shape[1]:
                raise ValueError(f"normalizer fitted on {len(self.mean)} features, the data "
                                 f"have {x.shape[1]}")
            return np.asarray(self.mean), np.asarray(self.std)
        if self.mode == "series":
            s = x.std(0)
            return x.mean(0), np.where(s > 1e-12, s, 1.0)
        return np.zeros(x.shape[1]), np.ones(x.shape[1])

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(T, F) -> (T, F) float32."""
        m, s = self._stats(x)
        return ((x - m) / s).astype(np.float32)

    def inverse(self, y: np.ndarray, cols: Sequence[int] | None = None) -> np.ndarray:
        """Undo ``feature`` scaling on values (..., K) of features ``cols`` (default all)."""
        if self.mode != "feature":
            return y
        m, s = np.asarray(self.mean), np.asarray(self.std)
        if cols is not None:
            m, s = m[list(cols)], s[list(cols)]
        return (y * s + m).astype(np.float32)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"mode": self.mode, "mean": self.mean,
                                          "std": self.std}, indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        d = json.loads(Path(path).read_text())
        return cls(d["mode"], d["mean"], d["std"])
