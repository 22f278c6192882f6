"""Reading series to forecast and turning the forecaster's outputs into the data's units.

Rows after a series' history whose targets are all empty are its future: they hold the known
covariates of the steps to forecast (:func:`read_forecast_series`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from ...data.errors import DataError
from ...data.scaling import Normalizer
from ...data.series import SeriesData, impute, read_series, series_format
from .data import cols as _cols
from .forecaster import Forecaster, forecast


@dataclass
class ForecastDataConfig:
    data: str = ""  # CSV or Parquet (one row per time step), .npy or .npz of series
    format: Literal["auto", "csv", "parquet", "npy", "npz"] = "auto"  # auto: from the suffix
    target: str = ""  # comma-separated columns to forecast (default: the numeric ones)
    covariate_cols: str = ""  # comma-separated known future covariates (calendar, promotion)
    time_col: str = ""  # CSV: the time column (kept in order, not used as a value)
    id_col: str = ""  # CSV: a series id column when the file holds several series
    missing: Literal["error", "ffill", "zero"] = "error"  # what a missing value (NaN, ?) does
    transform: Literal["none", "log"] = "none"  # log: forecast logs (multiplicative seasons)
    normalize: Literal["feature", "none"] = "feature"  # feature: the training statistics
    holdout: int = -1  # last steps of each series scored at the end (-1: the horizon; 0: none)
    season: int = 1  # m, seasonal period for MASE and the seasonal naive peer (12: monthly)
    batch_size: int = 32  # B, windows per batch
    loss: Literal["mse", "mae"] = "mse"  # point output's loss (else NLL / pinball), normalised

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the series (--data FILE)")
        if self.transform not in ("none", "log"):
            raise ValueError(f"transform must be none or log, got {self.transform!r}")
        if self.normalize not in ("feature", "none"):
            raise ValueError(f"normalize must be feature or none for forecasting, got "
                             f"{self.normalize!r}")
        if self.season < 1:
            raise ValueError(f"season must be >= 1, got {self.season}")
        both = set(_cols(self.target) or []) & set(_cols(self.covariate_cols) or [])
        if both:
            raise ValueError(f"column {sorted(both)[0]!r} is both a target and a covariate")


@dataclass
class ForecastData(SeriesData):
    """Series to forecast: ``series[i]`` (T, K+X) is the history, the K ``targets`` then the
    X ``covariates``; ``future[i]`` (T_f, X) holds the covariates of the rows after it (the
    rows whose targets are all empty), ``end_lines[i]`` the file line of the last row."""

    targets: list[str] = field(default_factory=list)
    covariates: list[str] = field(default_factory=list)
    future: list[np.ndarray] = field(default_factory=list)
    end_lines: list[int] = field(default_factory=list)

    @property
    def num_targets(self) -> int:
        return len(self.targets)


def _pick_columns(d: SeriesData, targets: list[str] | None, covs: list[str],
                  path: str, fmt_line: int | None) -> tuple[list[str], list[int]]:
    """Target names and the column order ``targets + covs`` of ``d``'s features
    (``fmt_line``: the header's line, when there is one)."""
    for c in covs:
        if c not in d.features:
            raise DataError(f"no covariate column named {c!r}; the value columns are "
                            f"{d.features}", path=path, line=fmt_line)
    if targets is None:
        targets = [f for f in d.features if f not in covs]
        if not targets:
            raise DataError(f"no target column left besides the covariates {covs}",
                            path=path, line=fmt_line)
    for t in targets:
        if t not in d.features:
            raise DataError(f"no target column named {t!r}; the value columns are "
                            f"{d.features}", path=path, line=fmt_line)
    return targets, [d.features.index(c) for c in [*targets, *covs]]


def read_forecast_series(cfg: ForecastDataConfig, path: str,
                         targets: list[str] | None = None) -> ForecastData:
    """Series read as ``cfg`` says (``targets`` overrides ``cfg.target``). Trailing rows whose
    targets are all empty are the future: only their covariates are read (every one must be
    given); missing values before them follow ``cfg.missing``."""
    covs = _cols(cfg.covariate_cols) or []
    targets = targets or _cols(cfg.target)
    table = series_format(path, cfg.format) in ("csv", "parquet")
    want = [*targets, *covs] if targets and table else None
    try:
        d = read_series(path, cfg.format, value_cols=want, id_col=cfg.id_col or None,
                        time_col=cfg.time_col or None, missing="keep")
    except DataError as e:
        named = next((c for c in covs if e.problem.startswith(f"no value column named {c!r}")),
                     None)
        if named is None:
            raise
        raise DataError(e.problem.replace("no value column", "no covariate column", 1),
                        path=e.path, line=e.line) from None
    targets, order = _pick_columns(d, targets, covs, path, 1 if table else None)
    K = len(targets)
    hist, future, step_lines, end_lines = [], [], [], []
    for i, x in enumerate(d.series):
        x = x[:, order]
        lines = d.step_lines[i] if d.step_lines else [d.lines[i]] * len(x)
        known = np.nonzero(~np.isnan(x[:, :K]).all(1))[0]
        if not len(known):
            raise DataError(f"series {d.ids[i]!r} has no target values", path=path,
                            line=lines[0] or None)
        end = int(known[-1]) + 1
        h = impute(x[:end], cfg.missing, path, lines[:end])
        f = x[end:, K:]
        if covs and np.isnan(f).any():
            t, k = map(int, np.argwhere(np.isnan(f))[0])
            raise DataError(f"no value of covariate {covs[k]!r} in a future row (a row after "
                            "the history, with an empty target): the forecaster reads the "
                            "covariates of every step it forecasts", path=path,
                            line=lines[end + t] or None)
        if cfg.transform == "log" and (h[:, :K] <= 0).any():
            t = int(np.argwhere(h[:, :K] <= 0)[0][0])
            raise DataError("transform log needs positive values, found "
                            f"{float(h[:, :K].min())}", path=path, line=lines[t] or None)
        hist.append(h)
        future.append(f)
        step_lines.append(lines[:end])
        end_lines.append(lines[-1])
    return ForecastData(hist, None, None, [*targets, *covs], d.ids, d.lines, d.path,
                        step_lines if d.step_lines else None, d.times, targets=targets,
                        covariates=covs, future=future, end_lines=end_lines)


def _fwd(x: np.ndarray, transform: str, K: int) -> np.ndarray:
    """The transform of the K target columns of ``x`` (..., K+X); covariates unchanged."""
    if transform != "log":
        return x
    x = np.array(x, dtype=np.float64)
    x[..., :K] = np.log(x[..., :K])
    return x


def _inv(x: np.ndarray, transform: str) -> np.ndarray:
    return np.exp(x) if transform == "log" else x


Z95 = 1.959963984540054  # the standard normal's 0.975 quantile


@dataclass
class Forecast:
    """A forecast of ``S`` steps of K targets, in the data's units."""

    point: np.ndarray  # (S, K): the value (point), mean (gaussian) or 0.5 quantile (quantile)
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # output columns, (S, K) each
    lower: np.ndarray | None = None  # (S, K) prediction interval (gaussian, quantile)
    upper: np.ndarray | None = None
    nominal: float | None = None  # its nominal coverage
    interval: str = ""  # what it is, e.g. "q0.1-q0.9"


def _target_scale(norm: Normalizer, K: int) -> tuple[np.ndarray, np.ndarray]:
    if norm.mode != "feature":
        return np.zeros(K), np.ones(K)
    return np.asarray(norm.mean[:K], np.float64), np.asarray(norm.std[:K], np.float64)


def to_units(model: Forecaster, norm: Normalizer, transform: str,
             params: np.ndarray) -> Forecast:
    """Parameters (S, K, Q) in the model's units (normalised, maybe log) -> :class:`Forecast`
    in the data's units. Quantiles map exactly (both steps are increasing). Gaussian: mean
    and standard deviation, and the 95% interval mean +- 1.96 std; after ``log``, the
    log-normal's mean and deviation and the interval exp(mu +- 1.96 sigma)."""
    K, out = model.cfg.num_targets, model.cfg.output
    m, s = _target_scale(norm, K)
    p = np.asarray(params, dtype=np.float64)
    if out == "point":
        return Forecast(_inv(p[..., 0] * s + m, transform))
    if out == "quantile":
        v = _inv(p * s[:, None] + m[:, None], transform)  # (S, K, Q)
        lv = model.levels
        cols = {f"q{q:g}": v[..., j] for j, q in enumerate(lv)}
        return Forecast(v[..., lv.index(0.5)], cols, v[..., 0], v[..., -1], lv[-1] - lv[0],
                        f"q{lv[0]:g}-q{lv[-1]:g}")
    mu, sd = p[..., 0] * s + m, p[..., 1] * s
    lo, hi = mu - Z95 * sd, mu + Z95 * sd
    if transform == "log":
        mean = np.exp(mu + sd**2 / 2)
        std = mean * np.sqrt(np.expm1(sd**2))
        lo, hi = np.exp(lo), np.exp(hi)
    else:
        mean, std = mu, sd
    return Forecast(mean, {"mean": mean, "std": std}, lo, hi, 0.95, "mean+-1.96std")


def predict_ahead(model: Forecaster, norm: Normalizer, transform: str, history: np.ndarray,
                  steps: int, future: np.ndarray | None = None) -> Forecast:
    """Forecast ``steps`` steps after ``history`` (T, K+X) in original units; ``future``
    (>= steps, X): the covariates of those steps. Beyond the direct model's horizon (and
    always for the autoregressive one) forecasts are fed back (:func:`rnnkit.decode.rollout`,
    see :func:`rnnkit.tasks.series.forecast`)."""
    C, K, X = model.cfg.context, model.cfg.num_targets, model.cfg.num_covariates
    if len(history) < C:
        raise ValueError(f"the forecaster reads {C} steps of context, the series has "
                         f"{len(history)}")
    ctx = norm.transform(_fwd(history[-C:], transform, K))
    fut = None
    if X:
        if future is None or len(future) < steps:
            raise ValueError(f"the forecaster needs the covariates of the {steps} steps it "
                             f"forecasts, got {0 if future is None else len(future)}")
        rows = np.concatenate([np.zeros((steps, K)), np.asarray(future[:steps])], 1)
        fut = norm.transform(rows)[:, K:]
    params = forecast(model, ctx, steps, fut)
    return to_units(model, norm, transform, params.numpy())


