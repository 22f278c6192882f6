"""Point-forecast and regression metrics, and a plot of forecasts against actuals.

* MAE, RMSE;
* sMAPE (percent): :math:`\\frac{200}{n}\\sum |y - \\hat y| / (|y| + |\\hat y|)` (a term with
  both zero counts 0), as in the M4 competition;
* MASE: MAE divided by the in-sample MAE of the seasonal naive forecast
  :math:`\\hat y_t = y_{t-m}` on the training series (``m = 1``: the naive forecast). Below 1
  beats the seasonal naive forecast's in-sample error;
* coverage of a prediction interval: the share of actuals inside ``[lower, upper]``
  (compare with the interval's nominal level, e.g. 0.8 for the 0.1-0.9 quantiles).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...plotting import new_figure, save_figure

__all__ = ["coverage", "forecast_report", "mae", "mase", "plot_forecast", "rmse",
           "seasonal_naive", "smape"]

log = logging.getLogger(__name__)


def _pair(y, yhat) -> tuple[np.ndarray, np.ndarray]:
    y, yhat = np.asarray(y, dtype=np.float64), np.asarray(yhat, dtype=np.float64)
    if y.shape != yhat.shape:
        raise ValueError(f"actuals {y.shape} and forecasts {yhat.shape} differ in shape")
    if y.size == 0:
        raise ValueError("no values to score")
    return y, yhat


def mae(y, yhat) -> float:
    y, yhat = _pair(y, yhat)
    return float(np.abs(y - yhat).mean())


def rmse(y, yhat) -> float:
    y, yhat = _pair(y, yhat)
    return float(np.sqrt(((y - yhat) ** 2).mean()))


def smape(y, yhat) -> float:
    y, yhat = _pair(y, yhat)
    den = np.abs(y) + np.abs(yhat)
    terms = np.divide(np.abs(y - yhat), den, out=np.zeros_like(den), where=den > 0)
    return float(200 * terms.mean())


def mase(y, yhat, train, m: int = 1) -> float:
    """MAE over the in-sample seasonal-naive MAE of ``train`` (T, ...) with period ``m``."""
    train = np.asarray(train, dtype=np.float64)
    if m < 1 or len(train) <= m:
        raise ValueError(f"MASE needs a training series longer than the period {m}, got "
                         f"{len(train)} values")
    scale = np.abs(train[m:] - train[:-m]).mean()
    if scale == 0:
        log.warning("MASE is undefined (NaN): the training series repeats itself exactly "
                    "with period %d", m)
        return math.nan
    return mae(y, yhat) / float(scale)


def coverage(y, lower, upper) -> float:
    """Share of ``y`` inside ``[lower, upper]`` (bounds included), all the same shape."""
    y, lo = _pair(y, lower)
    _, hi = _pair(y, upper)
    return float(((y >= lo) & (y <= hi)).mean())


def seasonal_naive(train, horizon: int, m: int = 1) -> np.ndarray:
    """Repeat the last season of ``train`` (T, ...) over ``horizon`` steps."""
    train = np.asarray(train)
    last = train[-m:]
    reps = -(-horizon // m)
    return np.concatenate([last] * reps)[:horizon]


def forecast_report(y, yhat, train, m: int = 1) -> dict:
    return {"mae": mae(y, yhat), "rmse": rmse(y, yhat), "smape": smape(y, yhat),
            "mase": mase(y, yhat, train, m), "season": m, "n": int(np.asarray(y).size)}


def plot_forecast(history: np.ndarray, actual: np.ndarray | None, forecast: np.ndarray,
                  path: str | Path, title: str = "",
                  names: Sequence[str] | None = None,
                  peers: dict[str, np.ndarray] | None = None,
                  band: tuple[np.ndarray, np.ndarray] | None = None,
                  band_label: str = "interval") -> Path | None:
    """PNG: the history, the forecast after it and (when known) the actual values; ``band``
    (lower, upper) shades a prediction interval. Arrays are (T,) or (T, K); one panel per
    column K."""
    h = np.asarray(history).reshape(len(history), -1)
    f = np.asarray(forecast).reshape(len(forecast), -1)
    K = h.shape[1]
    fig = new_figure((9, 3 * K), "forecast plot")
    if fig is None:
        return None
    axes = fig.subplots(K, 1, squeeze=False)
    th, tf = np.arange(len(h)), np.arange(len(h), len(h) + len(f))
    for k in range(K):
        ax = axes[k, 0]
        ax.plot(th, h[:, k], color="black", lw=1, label="history")
        if actual is not None:
            a = np.asarray(actual).reshape(len(actual), -1)
            ax.plot(tf[: len(a)], a[:, k], color="black", lw=1, ls="--", label="actual")
        if band is not None:
            lo, hi = (np.asarray(b).reshape(len(b), -1)[:, k] for b in band)
            ax.fill_between(tf[: len(lo)], lo, hi, color="tab:red", alpha=0.2, lw=0,
                            label=band_label)
        ax.plot(tf, f[:, k], color="tab:red", lw=1.5, label="forecast")
        for name, p in (peers or {}).items():
            ax.plot(tf, np.asarray(p).reshape(len(p), -1)[:, k], lw=1, label=name)
        ax.set_ylabel(names[k] if names else f"series {k}")
        ax.legend(loc="upper left", fontsize=8)
    axes[0, 0].set_title(title)
    return save_figure(fig, path)
