"""Estimators over numeric series: a classifier of series and a forecaster."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..data.series import SeriesData
from .base import Estimator, LabelledEstimator


def as_series(X, lengths=None) -> list[np.ndarray]:
    """``X`` as a list of (T_i, F) float arrays: an array (N, T) or (N, T, F) (``lengths``
    (N,): each series' own length), or a list of (T_i,) / (T_i, F) arrays."""
    if isinstance(X, np.ndarray) and X.dtype != object:
        arr = X.astype(np.float32)
        if arr.ndim == 2:
            arr = arr[:, :, None]
        if arr.ndim != 3:
            raise ValueError(f"X must be (N, T) or (N, T, F), got shape {X.shape}")
        n = np.full(len(arr), arr.shape[1]) if lengths is None else np.asarray(lengths)
        if n.shape != (len(arr),) or n.min() < 1 or n.max() > arr.shape[1]:
            raise ValueError(f"lengths must be (N,) = ({len(arr)},) in 1..{arr.shape[1]}")
        return [arr[i, : int(n[i])] for i in range(len(arr))]
    out = []
    for i, x in enumerate(X):
        a = np.asarray(x, dtype=np.float32)
        a = a[:, None] if a.ndim == 1 else a
        if a.ndim != 2 or len(a) == 0:
            raise ValueError(f"series {i} must be (T,) or (T, F) with T >= 1, got {a.shape}")
        out.append(a)
    if len({a.shape[1] for a in out}) > 1:
        raise ValueError("every series needs the same number of features")
    return out


def _write_npz(path, series: list[np.ndarray], labels=None) -> str:
    T, F = max(len(s) for s in series), series[0].shape[1]
    X = np.zeros((len(series), T, F), np.float32)
    for i, s in enumerate(series):
        X[i, : len(s)] = s
    arrays = {"X": X, "lengths": np.array([len(s) for s in series])}
    if labels is not None:
        arrays["y"] = np.array([str(v) for v in labels])
    np.savez(path, **arrays)
    return str(path)


def _memory(series: list[np.ndarray], F: int) -> SeriesData:
    return SeriesData(series, None, None, [f"dim_{k}" for k in range(F)],
                      [str(i) for i in range(len(series))], [0] * len(series), "<memory>")


class SeriesClassifier(LabelledEstimator):
    """Numeric series (N, T, F) -> labels (``rnnkit train series-classify``)."""

    task = "series-classify"

    def fit(self, X, y: Sequence, lengths=None, X_dev=None, y_dev=None,
            lengths_dev=None) -> SeriesClassifier:
        series = as_series(X, lengths)
        if len(series) != len(y):
            raise ValueError(f"{len(series)} series but {len(y)} labels")
        d = self.data_dir()
        data = {"data": _write_npz(d / "train.npz", series, list(y)), "format": "npz"}
        if X_dev is not None:
            data["dev"] = _write_npz(d / "dev.npz", as_series(X_dev, lengths_dev), list(y_dev))
        self._remember_labels(list(y))
        return self._train(data)

    def predict_proba(self, X, lengths=None) -> np.ndarray:
        m = self._check_fitted()
        series = as_series(X, lengths)
        return m.predict_proba(_memory(series, series[0].shape[1])).numpy()

    def predict(self, X, lengths=None) -> np.ndarray:
        return self.classes_[self.predict_proba(X, lengths).argmax(1)]

    def score(self, X, y: Sequence, lengths=None) -> float:
        return float(np.mean([a == b for a, b in zip(self.predict(X, lengths).tolist(),
                                                     list(y))]))


class Forecaster(Estimator):
    """Series -> their next steps (``rnnkit train forecast``). Parameters as the command's:
    ``horizon``, ``context``, ``output``, ``season``..."""

    task = "forecast"

    def fit(self, series) -> Forecaster:
        """Train on one series ((T,) or (T, K)) or a list of them."""
        arr = series if isinstance(series, (list, tuple)) else [series]
        self._series = as_series(arr)
        d = self.data_dir()
        return self._train({"data": _write_npz(d / "series.npz", self._series),
                            "format": "npz"})

    def predict(self, steps: int | None = None, history=None) -> np.ndarray:
        """The next ``steps`` (default: the horizon) after ``history`` (default: the last
        series fitted), (steps, K) in the data's units."""
        m = self._check_fitted()
        h = self._series[-1] if history is None else as_series([history])[0]
        return m.predict(h, steps)
