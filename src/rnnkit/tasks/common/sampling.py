"""The sampling options every generating command shares (``rnnkit sample``, ``rnnkit
translate --sample``, the service): one dataclass, one set of defaults.

>>> s = SampleConfig(temperature=0.5, top_k=3, seed=1)
>>> s.validate()
>>> sorted(s.decode_kwargs())
['generator', 'greedy', 'temperature', 'top_k', 'top_p']
>>> SampleConfig(temperature=0).validate()
Traceback (most recent call last):
...
ValueError: temperature must be > 0, got 0
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class SampleConfig:
    temperature: float = 0.8  # softmax temperature (> 0; lower: safer, higher: more varied)
    top_k: int | None = None  # sample from the k likeliest tokens only (default: all)
    top_p: float | None = None  # nucleus sampling: the likeliest tokens holding this mass
    greedy: bool = False  # always take the likeliest token (no randomness)
    seed: int | None = None  # random seed: the same seed gives the same output

    def validate(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature:g}")
        if self.top_k is not None and self.top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {self.top_k}")
        if self.top_p is not None and not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")

    def generator(self) -> torch.Generator | None:
        """A generator seeded with ``seed`` (None without a seed: torch's global one)."""
        return None if self.seed is None else torch.Generator().manual_seed(self.seed)

    def decode_kwargs(self) -> dict:
        """Keyword arguments of :func:`rnnkit.decode.generate`."""
        return {"greedy": self.greedy, "temperature": self.temperature, "top_k": self.top_k,
                "top_p": self.top_p, "generator": self.generator()}
