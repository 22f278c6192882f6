"""Forecasting numeric series: a context window -> the next H steps
(``rnnkit train forecast``, ``rnnkit forecast``, ``rnnkit eval``).

Split of every series (oldest to newest)::

    | training windows ... | validation: last H steps | hold-out: last ``holdout`` steps |

Normalisation (targets and known covariates) is fitted on the training part only. The best
checkpoint is chosen on the validation window; the hold-out is scored once at the end (MAE,
RMSE, sMAPE, MASE; the interval's coverage for a gaussian or quantile output) next to the
seasonal naive forecast, into ``test_report.json`` and ``forecast.png``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...config import section
from ...data.errors import DataError
from ...data.scaling import Normalizer
from ...train.loop import TrainConfig
from ...train.run import write_json
from ..spec import LoadedRun, Prepared
from .forecast_data import (
    Forecast,
    ForecastData,
    ForecastDataConfig,
    _fwd,
    predict_ahead,
    read_forecast_series,
)
from .forecaster import Forecaster, ForecasterConfig
from .metrics import coverage, forecast_report, plot_forecast, seasonal_naive
from .windows import ForecastTask, windows


@dataclass
class ForecastSettings:
    """Everything a forecaster run is trained from."""

    data: ForecastDataConfig = section(ForecastDataConfig, prefix="")
    model: ForecasterConfig = section(ForecasterConfig, prefix="")
    train: TrainConfig = section(lambda: TrainConfig(steps=500), prefix="")


def prepare(s: ForecastSettings, run: Path | None) -> Prepared:
    data, cfg = s.data, s.model
    data.validate()
    d = read_forecast_series(data, data.data)
    H, C, K = cfg.horizon, cfg.context, d.num_targets
    holdout = H if data.holdout < 0 else data.holdout
    raw = list(d.series)
    fit_part = [x[: len(x) - holdout] if holdout else x for x in raw]  # train + validation
    need = C + 2 * H
    if all(len(x) < need for x in fit_part):
        raise DataError(f"every series is too short: context {C} + horizon {H} of training "
                        f"windows + {H} validation steps + {holdout} held out needs "
                        f"{need + holdout} steps, the longest has "
                        f"{max(len(x) for x in raw)}", path=data.data)
    tr_part = [x[:-H] for x in fit_part if len(x) >= need]
    norm = (Normalizer.fit([_fwd(x, data.transform, K) for x in tr_part], data.normalize)
            if run is None else Normalizer.load(run / "normalizer.json"))
    z = [norm.transform(_fwd(x, data.transform, K)) for x in fit_part if len(x) >= need]
    x_tr, y_tr = windows([q[:-H] for q in z], C, H)
    x_dev, y_dev = windows(z, C, H, target_from=min(len(q) for q in z) - H)
    cfg.num_targets, cfg.num_covariates = K, len(d.covariates)
    task = ForecastTask(x_tr, y_tr, x_dev, y_dev, data.batch_size, s.train.seed, data.loss)
    return Prepared(task, data.data, {"normalizer.json": norm},
                    info={"targets": d.targets, "covariates": d.covariates,
                          "holdout": holdout},
                    sizes={"series": len(raw), "train_windows": len(x_tr),
                           "dev_windows": len(x_dev)},
                    title=f"{cfg.encoder.cell} {cfg.strategy} forecaster",
                    state=(norm, raw, holdout, d.targets))


def report(model: Forecaster, s: ForecastSettings, prepared: Prepared, run: Path) -> None:
    norm, raw, holdout, targets = prepared.state
    if not holdout:
        return
    rep = score_holdout(model, norm, s.data, raw, holdout)
    write_json(run / "test_report.json", rep)
    plot_holdout(rep, raw, targets, s.data.season, run / "forecast.png", "hold-out")


def _band(report: dict, i: int = 0) -> tuple[np.ndarray, np.ndarray] | None:
    if "lower" not in report:
        return None
    return np.asarray(report["lower"][i]), np.asarray(report["upper"][i])


def plot_holdout(report: dict, raw: list[np.ndarray], targets: list[str], season: int,
                 path: Path, title: str) -> Path | None:
    """PNG of the first scored series: history, actual hold-out, forecast (and its interval,
    with the hold-out coverage in the title), seasonal naive."""
    K, h = len(targets), report["holdout"]
    first = raw[report.get("scored", [0])[0]][:, :K]
    r = report["model"]
    title = f"{title}: MASE {r['mase']:.3f}, sMAPE {r['smape']:.2f}%"
    if "coverage" in r:
        title += f", {r['interval']} covers {100 * r['coverage']:.0f}% (nominal " \
                 f"{100 * r['nominal']:.0f}%)"
    return plot_forecast(first[:-h], first[-h:], np.asarray(report["forecast"][0]), path,
                         names=targets, title=title, band=_band(report),
                         band_label=r.get("interval", "interval"),
                         peers={"seasonal naive": seasonal_naive(first[:-h], h, season)})


def score_holdout(model: Forecaster, norm: Normalizer, data: ForecastDataConfig,
                  raw: list[np.ndarray], holdout: int, path: str | None = None) -> dict:
    """Forecast the last ``holdout`` steps of every series (rows (T, K+X)) from what precedes
    them (with their known covariates); scores of the model and of the seasonal naive
    forecast (all series pooled; MASE per series, then averaged), and for a gaussian or
    quantile output the coverage of its interval."""
    K = model.cfg.num_targets
    preds, gold, naive, lows, ups, mases, naive_mases, scored = [], [], [], [], [], [], [], []
    for i, x in enumerate(raw):
        hist, y = x[:-holdout], x[-holdout:, :K]
        if len(hist) < model.cfg.context:
            continue
        f = predict_ahead(model, norm, data.transform, hist, holdout,
                          x[-holdout:, K:] if model.cfg.num_covariates else None)
        sn = seasonal_naive(hist[:, :K], holdout, data.season)
        preds.append(f.point)
        lows.append(f.lower)
        ups.append(f.upper)
        gold.append(y)
        naive.append(sn)
        scored.append(i)
        mases.append(forecast_report(y, f.point, hist[:, :K], data.season)["mase"])
        naive_mases.append(forecast_report(y, sn, hist[:, :K], data.season)["mase"])
    if not preds:
        raise DataError(f"no series is longer than the forecaster's context "
                        f"({model.cfg.context} steps) plus the {holdout} steps scored",
                        path=path or data.data)
    g, p, n = np.concatenate(gold), np.concatenate(preds), np.concatenate(naive)
    hist0 = raw[scored[0]][:-holdout, :K]
    model_r = forecast_report(g, p, hist0, data.season) | {"mase": float(np.mean(mases))}
    naive_r = forecast_report(g, n, hist0, data.season) | {"mase": float(np.mean(naive_mases))}
    report = {"holdout": holdout, "model": model_r, "seasonal_naive": naive_r,
              "scored": scored, "forecast": [q.tolist() for q in preds],
              "actual": [q.tolist() for q in gold]}
    if lows[0] is not None:
        lo, hi = np.concatenate(lows), np.concatenate(ups)
        model_r |= {"coverage": coverage(g, lo, hi), "nominal": f.nominal,
                    "interval": f.interval, "width": float(np.mean(hi - lo))}
        report |= {"lower": [q.tolist() for q in lows], "upper": [q.tolist() for q in ups]}
    return report


@dataclass
class LoadedForecaster(LoadedRun):
    """A trained forecaster and its normaliser (the training statistics)."""

    norm: Normalizer = field(default=None)  # type: ignore[assignment]
    task = "forecast"

    @classmethod
    def open(cls, run, model, settings, config):
        return cls(run, model, settings, config,
                   Normalizer.load(Path(run) / "normalizer.json"))

    def read(self, path: str | Path | None = None, data: ForecastDataConfig | None = None
             ) -> ForecastData:
        """Series of ``path`` (default: the training file) read like the training file (the
        same target and covariate columns; ``data``: other read settings)."""
        data = data or self.data
        return read_forecast_series(data, str(path or data.data), self.config["targets"])

    def predict(self, history: np.ndarray, steps: int | None = None,
                future: np.ndarray | None = None) -> np.ndarray:
        """Point forecast (steps, K) after ``history`` (T, K+X), in the data's units;
        ``future`` (steps, X): the covariates of the steps forecast."""
        return self.predict_dist(history, steps, future).point

    def predict_dist(self, history: np.ndarray, steps: int | None = None,
                     future: np.ndarray | None = None) -> Forecast:
        """:class:`Forecast` of ``steps`` (default: the horizon) after ``history``."""
        return predict_ahead(self.model, self.norm, self.data.transform, history,
                             steps or self.model.cfg.horizon, future)

    def forecast(self, d: ForecastData, steps: int | None = None) -> list[Forecast]:
        """The forecast after the end of every series of ``d``, reading the covariates of
        the steps forecast from its future rows (an error names the series lacking them)."""
        steps = steps or self.model.cfg.horizon
        out = []
        for i, x in enumerate(d.series):
            fut = d.future[i] if d.covariates else None
            if fut is not None and len(fut) < steps:
                raise DataError(
                    f"series {d.ids[i]!r}: the forecaster reads the known future covariates "
                    f"({', '.join(d.covariates)}) of every step it forecasts; {steps} steps "
                    f"need {steps} rows after the history (an empty target and the covariate "
                    f"values), found {len(fut)}", path=d.path, line=d.end_lines[i] or None)
            if len(x) < self.model.cfg.context:
                raise DataError(f"series {d.ids[i]!r} has {len(x)} steps, the forecaster "
                                f"reads {self.model.cfg.context}", path=d.path,
                                line=d.end_lines[i] or None)
            out.append(self.predict_dist(x, steps, fut))
        return out

    def evaluate(self, path: str | Path | None = None, holdout: int | None = None) -> dict:
        """Forecast the last ``holdout`` steps (default: the run's hold-out, else its
        horizon) of every series of ``path`` (default: the training file) from the steps
        before them: MAE, RMSE, sMAPE and MASE of the model and of the seasonal naive
        forecast (and the interval's coverage for a gaussian or quantile output)."""
        d = self.read(path)
        h = holdout or self.config.get("holdout") or self.model.cfg.horizon
        if h < 1:
            raise ValueError(f"holdout must be >= 1, got {h}")
        return score_holdout(self.model, self.norm, self.data, d.series, h, d.path)


def finalize(s: ForecastSettings) -> None:
    s.model.check_options()


def describe(s: ForecastSettings) -> str:
    e, m = s.model.encoder, s.model
    return (f"{e.layers}x{e.hidden} {e.cell} {m.strategy} forecaster ({m.output} output) on "
            f"{s.data.data}")


def build_model(s: ForecastSettings) -> Forecaster:
    return Forecaster(s.model)
