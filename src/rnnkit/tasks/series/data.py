"""What the three numeric-series tasks share: reading series like the training file,
holding out whole series for validation, and normalising with the training statistics.

The run folder holds ``normalizer.json`` (the training statistics, applied again at
prediction) besides the task's own files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from ...data.batching import split_indices
from ...data.errors import DataError
from ...data.scaling import Normalizer
from ...data.series import SeriesData, series_format
from ...data.tokens import LabelVocab
from ..spec import LoadedRun

log = logging.getLogger(__name__)


def pad_series(seqs: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """``(x (B, T, F) float32, lengths (B,))``, zero past each length."""
    if len(seqs) == 0 or min(len(s) for s in seqs) < 1:
        raise ValueError("pad_series() needs at least one series, each of length >= 1")
    lengths = torch.tensor([len(s) for s in seqs], dtype=torch.long)
    x = torch.zeros(len(seqs), int(lengths.max()), seqs[0].shape[1])
    for b, s in enumerate(seqs):
        x[b, : len(s)] = torch.as_tensor(np.asarray(s, dtype=np.float32))
    return x, lengths


def cols(spec: str) -> list[str] | None:
    """``"a, b"`` -> ``["a", "b"]``; None for no columns."""
    return [c.strip() for c in spec.split(",") if c.strip()] or None


def trained_cols(fmt: str, path: str, features: list[str]) -> list[str] | None:
    """The training run's value columns, to read another long-form table exactly like the
    training one (extra columns ignored, a missing one an error naming it)."""
    return features if series_format(path, fmt) in ("csv", "parquet") else None


def check_features(d: SeriesData, features: list[str]) -> None:
    if d.num_features != len(features):
        raise DataError(f"{d.num_features} features per step, but the model was trained on "
                        f"{len(features)} ({', '.join(features)})", path=d.path)


def subset(d: SeriesData, idx: list[int]) -> SeriesData:
    def pick(xs):
        return None if xs is None else [xs[i] for i in idx]

    return SeriesData(pick(d.series), pick(d.labels), pick(d.step_labels), d.features,
                      pick(d.ids), pick(d.lines), d.path, pick(d.step_lines), pick(d.times))


def train_dev(read, data, seed: int, min_series: int = 1):
    """(train, validation) series: ``data.dev`` read with the training's feature columns, or a
    seeded ``data.dev_fraction`` of whole series held out."""
    full = read(data, data.data)
    if data.dev:
        tr = full
        dev = read(data, data.dev, value_cols=trained_cols(data.format, data.dev, tr.features))
    else:
        if len(full) < min_series:
            raise DataError(f"{len(full)} series: validation holds out whole series, so give "
                            "a series id column (--series-col) or validation frames (--dev)",
                            path=data.data)
        rest, held = split_indices(len(full), data.dev_fraction, seed)
        tr, dev = subset(full, rest), subset(full, held)
    check_features(dev, tr.features)
    return tr, dev


def normalized(data, tr, dev, run: Path | None):
    """The normaliser (fitted on the training split only, or the resumed run's) and the
    normalised training and validation series."""
    norm = (Normalizer.fit(tr.series, data.normalize) if run is None
            else Normalizer.load(Path(run) / "normalizer.json"))
    return norm, [norm.transform(x) for x in tr.series], [norm.transform(x) for x in dev.series]


@dataclass
class LoadedLabelledSeries(LoadedRun):
    """A trained series classifier or frame tagger with what reading new data needs."""

    norm: Normalizer = field(default=None)  # type: ignore[assignment]  # training statistics
    labels: LabelVocab = field(default=None)  # type: ignore[assignment]

    _reader: ClassVar[Callable[..., SeriesData]]  # read_labelled_series or read_frames

    @classmethod
    def open(cls, run, model, settings, config):
        run = Path(run)
        return cls(run, model, settings, config, Normalizer.load(run / "normalizer.json"),
                   LabelVocab.load(run / "labels.json"))

    def read(self, path: str | Path, labels: bool = True, data: Any = None) -> SeriesData:
        """Series of ``path`` read like the training file (the same value columns;
        ``data``: other read settings, e.g. another format)."""
        path, data = str(path), data or self.data
        d = type(self)._reader(data, path, labels,
                               trained_cols(data.format, path, self.config["features"]))
        check_features(d, self.config["features"])
        return d

    def normalized(self, d: SeriesData) -> list:
        return [self.norm.transform(x) for x in d.series]
