"""Numeric sequences end to end as library calls (``rnnkit train series-classify``,
``rnnkit train forecast`` and ``rnnkit forecast`` are thin layers over these).

The run folder is the usual one (:mod:`rnnkit.train.run`) plus ``normalizer.json`` (training
statistics, applied again at prediction), and ``labels.json``, ``dev_report.json``,
``confusion.png`` (classifier) or ``test_report.json``, ``forecast.png`` (forecaster).

Forecasting split of every series (oldest to newest)::

    | training windows ... | validation: last H steps | hold-out: last ``holdout`` steps |

Normalisation is fitted on the training part only. The best checkpoint is chosen on the
validation window; the hold-out is scored once at the end (MAE, RMSE, sMAPE, MASE) next to the
seasonal naive forecast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from .. import __version__
from ..data.batching import split_indices
from ..data.errors import DataError
from ..data.scaling import Normalizer
from ..data.series import SeriesData, read_series
from ..data.tokens import LabelVocab
from ..decode import rollout
from ..train.loop import TrainConfig
from ..train.run import (
    load_weights,
    read_config,
    require_task,
    train_in_run,
    write_json,
)
from .encoder import EncoderConfig
from .forecast_metrics import forecast_report, plot_forecast, seasonal_naive
from .metrics import classification_report, plot_confusion
from .series import (
    Forecaster,
    ForecasterConfig,
    ForecastTask,
    SeriesClassifier,
    SeriesClassifyTask,
    SeriesModelConfig,
    forecast,
    predict_series,
    windows,
)

log = logging.getLogger(__name__)


def _cols(spec: str) -> list[str] | None:
    return [c.strip() for c in spec.split(",") if c.strip()] or None


# Classification --------------------------------------------------------------------------------

@dataclass
class SeriesClassifyDataConfig:
    data: str = ""  # training series: .ts, .npy/.npz, or CSV (long form, or --format wide)
    dev: str | None = None  # validation series (default: a seeded dev_fraction of --data)
    dev_fraction: float = 0.1  # share of --data held out for validation when --dev is not given
    format: str = "auto"  # auto | ts | npy | npz | csv (long form) | wide
    label_col: str = "label"  # CSV: the class label column
    id_col: str = "id"  # CSV long form: the series id column
    time_col: str = ""  # CSV long form: a time column to leave out of the values
    value_cols: str = ""  # CSV: comma-separated value columns (default: all the others)
    missing: str = "error"  # error | ffill | zero: what a missing value (NaN, ?) does
    normalize: str = "feature"  # feature (training statistics) | series (each its own) | none
    batch_size: int = 32  # B, series per batch (batched by similar length)

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the training series (--data FILE)")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def read_labelled_series(cfg: SeriesClassifyDataConfig, path: str) -> SeriesData:
    d = read_series(path, cfg.format, value_cols=_cols(cfg.value_cols),
                    id_col=cfg.id_col or None, time_col=cfg.time_col or None,
                    label_col=cfg.label_col or None, missing=cfg.missing)
    if d.labels is None:
        raise DataError("no class labels (a .ts file needs '@classLabel true ...', an .npz "
                        "an array 'y', a CSV a --label-col)", path=path)
    return d


def _subset(d: SeriesData, idx: list[int]) -> SeriesData:
    return SeriesData([d.series[i] for i in idx], [d.labels[i] for i in idx], None,
                      d.features, [d.ids[i] for i in idx], [d.lines[i] for i in idx], d.path)


def _label_ids(labels: LabelVocab, d: SeriesData) -> list[int]:
    return [labels.index(lab, d.path, line or None) for lab, line in zip(d.labels, d.lines)]


def _series_config(cfg: dict):
    m = dict(cfg["model"])
    m["encoder"] = EncoderConfig(**m["encoder"])
    return m, TrainConfig(**cfg["train"])


def train_series_classifier(data: SeriesClassifyDataConfig, model_cfg: SeriesModelConfig,
                            train: TrainConfig, out: str | Path = "runs",
                            resume: str | Path | None = None,
                            callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a classifier of numeric series; returns the run folder. ``resume`` continues a
    run folder (its saved configuration and normalisation are used)."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "series-classify")
        m, train = _series_config(cfg)
        data, model_cfg = SeriesClassifyDataConfig(**cfg["data"]), SeriesModelConfig(**m)
    data.validate()
    train.validate()
    full = read_labelled_series(data, data.data)
    if data.dev:
        tr, dev = full, read_labelled_series(data, data.dev)
    else:
        rest, held = split_indices(len(full), data.dev_fraction, train.seed)
        tr, dev = _subset(full, rest), _subset(full, held)
    if dev.num_features != tr.num_features:
        raise DataError(f"{dev.num_features} features, but the training series have "
                        f"{tr.num_features}", path=dev.path)
    labels = LabelVocab.build(tr.labels)
    if len(labels) < 2:
        raise DataError("only one class label in the training data", path=data.data)
    y_train, y_dev = _label_ids(labels, tr), _label_ids(labels, dev)
    norm = (Normalizer.fit(tr.series, data.normalize) if resume is None  # training split only
            else Normalizer.load(run / "normalizer.json"))
    x_train = [norm.transform(x) for x in tr.series]
    x_dev = [norm.transform(x) for x in dev.series]
    model_cfg.input_size, model_cfg.num_outputs = tr.num_features, len(labels)
    torch.manual_seed(train.seed)
    model = SeriesClassifier(model_cfg)
    task = SeriesClassifyTask(x_train, y_train, x_dev, y_dev, labels.itos, data.batch_size,
                              train.seed)
    resolved = {"task": "series-classify", "rnnkit": __version__, "source": data.data,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "labels": labels.itos, "features": tr.features,
                "sizes": {"train": len(tr), "dev": len(dev),
                          "parameters": sum(p.numel() for p in model.parameters())}}
    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="series-classify", resume=resume,
        artifacts={"labels.json": labels, "normalizer.json": norm}, callbacks=callbacks,
        title=f"{model_cfg.encoder.cell} series classifier")
    if summary["stopped"] != "interrupted":
        load_weights(model, run, "best")
        report = classification_report(y_dev, predict_series(model, x_dev).argmax(1).tolist(),
                                       labels.itos)
        write_json(run / "dev_report.json", report)
        plot_confusion(report, run / "confusion.png", title=f"validation: accuracy "
                       f"{report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}")
    return run


def eval_series_classifier(run: str | Path, path: str | Path, which: str = "best") -> dict:
    """Classification report of a trained series classifier on a labelled file read like its
    training data, normalised with the training statistics."""
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "series-classify")
    m, _ = _series_config(cfg)
    data = SeriesClassifyDataConfig(**cfg["data"])
    model = SeriesClassifier(SeriesModelConfig(**m))
    load_weights(model, run, which)
    labels = LabelVocab.load(run / "labels.json")
    norm = Normalizer.load(run / "normalizer.json")
    d = read_labelled_series(data, str(path))
    gold = _label_ids(labels, d)
    probs = predict_series(model, [norm.transform(x) for x in d.series])
    return classification_report(gold, probs.argmax(1).tolist(), labels.itos)


# Forecasting ---------------------------------------------------------------------------------

@dataclass
class ForecastDataConfig:
    data: str = ""  # CSV (long form: one row per time step), .npy or .npz of series
    format: str = "auto"  # auto | csv | npy | npz
    target: str = ""  # comma-separated columns to forecast (default: all but time and id)
    time_col: str = ""  # CSV: the time column (kept in order, not used as a value)
    id_col: str = ""  # CSV: a series id column when the file holds several series
    missing: str = "error"  # error | ffill | zero: what a missing value (NaN, ?) does
    transform: str = "none"  # none | log: forecast log values (multiplicative seasonality)
    normalize: str = "feature"  # feature (training statistics) | none
    holdout: int = -1  # last steps of each series scored at the end (-1: the horizon; 0: none)
    season: int = 1  # m, seasonal period for MASE and the seasonal naive peer (12: monthly)
    batch_size: int = 32  # B, windows per batch
    loss: str = "mse"  # mse | mae, on normalised values

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


def read_forecast_series(cfg: ForecastDataConfig, path: str) -> SeriesData:
    d = read_series(path, cfg.format, value_cols=_cols(cfg.target), id_col=cfg.id_col or None,
                    time_col=cfg.time_col or None, missing=cfg.missing)
    if cfg.transform == "log":
        for x, line in zip(d.series, d.lines):
            if (x <= 0).any():
                raise DataError("transform log needs positive values, found "
                                f"{float(x.min())}", path=path, line=line or None)
    return d


def _fwd(x: np.ndarray, transform: str) -> np.ndarray:
    return np.log(x) if transform == "log" else x


def _inv(x: np.ndarray, transform: str) -> np.ndarray:
    return np.exp(x) if transform == "log" else x


def predict_ahead(model: Forecaster, norm: Normalizer, transform: str, history: np.ndarray,
                  steps: int) -> np.ndarray:
    """Forecast ``steps`` values (steps, K) after ``history`` (T, K) in original units; beyond
    the model's horizon the forecasts are fed back (:func:`rnnkit.decode.rollout`)."""
    C = model.cfg.context
    if len(history) < C:
        raise ValueError(f"the forecaster reads {C} steps of context, the series has "
                         f"{len(history)}")
    ctx = norm.transform(_fwd(history[-C:], transform))
    y = rollout(lambda w: forecast(model, w), torch.as_tensor(ctx)[None], steps)[0]
    return _inv(norm.inverse(y.numpy()), transform)


def train_forecaster(data: ForecastDataConfig, model_cfg: ForecasterConfig, train: TrainConfig,
                     out: str | Path = "runs", resume: str | Path | None = None,
                     callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a direct multi-output forecaster; returns the run folder. ``resume`` continues a
    run folder (its saved configuration and normalisation are used)."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "forecast")
        m, train = _series_config(cfg)
        data, model_cfg = ForecastDataConfig(**cfg["data"]), ForecasterConfig(**m)
    data.validate()
    train.validate()
    d = read_forecast_series(data, data.data)
    H, C = model_cfg.horizon, model_cfg.context
    holdout = H if data.holdout < 0 else data.holdout
    raw = [x for x in d.series]
    fit_part = [x[: len(x) - holdout] if holdout else x for x in raw]  # train + validation
    need = C + 2 * H
    short = [i for i, x in enumerate(fit_part) if len(x) < need]
    if len(short) == len(fit_part):
        raise DataError(f"every series is too short: context {C} + horizon {H} of training "
                        f"windows + {H} validation steps + {holdout} held out needs "
                        f"{need + holdout} steps, the longest has "
                        f"{max(len(x) for x in raw)}", path=data.data)
    tr_part = [x[:-H] for x in fit_part if len(x) >= need]
    norm = (Normalizer.fit([_fwd(x, data.transform) for x in tr_part], data.normalize)
            if resume is None else Normalizer.load(run / "normalizer.json"))
    z = [norm.transform(_fwd(x, data.transform)) for x in fit_part if len(x) >= need]
    x_tr, y_tr = windows([s[:-H] for s in z], C, H)
    x_dev, y_dev = windows(z, C, H, target_from=min(len(s) for s in z) - H)
    model_cfg.num_targets = d.num_features
    torch.manual_seed(train.seed)
    model = Forecaster(model_cfg)
    task = ForecastTask(x_tr, y_tr, x_dev, y_dev, data.batch_size, train.seed, data.loss)
    resolved = {"task": "forecast", "rnnkit": __version__, "source": data.data,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "targets": d.features, "holdout": holdout,
                "sizes": {"series": len(raw), "train_windows": len(x_tr),
                          "dev_windows": len(x_dev),
                          "parameters": sum(p.numel() for p in model.parameters())}}
    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="forecast", resume=resume,
        artifacts={"normalizer.json": norm}, callbacks=callbacks,
        title=f"{model_cfg.encoder.cell} forecaster")
    if summary["stopped"] != "interrupted" and holdout:
        load_weights(model, run, "best")
        report = score_holdout(model, norm, data, raw, holdout)
        write_json(run / "test_report.json", report)
        first = raw[0]
        plot_forecast(first[:-holdout], first[-holdout:], np.asarray(report["forecast"][0]),
                      run / "forecast.png", names=d.features,
                      title=f"hold-out: MASE {report['model']['mase']:.3f}, sMAPE "
                      f"{report['model']['smape']:.2f}%",
                      peers={"seasonal naive": seasonal_naive(first[:-holdout], holdout,
                                                              data.season)})
    return run


def score_holdout(model: Forecaster, norm: Normalizer, data: ForecastDataConfig,
                  raw: list[np.ndarray], holdout: int) -> dict:
    """Forecast the last ``holdout`` steps of every series from what precedes them; scores of
    the model and of the seasonal naive forecast (all series pooled; MASE per series, then
    averaged)."""
    preds, gold, naive, mases, naive_mases = [], [], [], [], []
    for x in raw:
        hist, y = x[:-holdout], x[-holdout:]
        if len(hist) < model.cfg.context:
            continue
        p = predict_ahead(model, norm, data.transform, hist, holdout)
        sn = seasonal_naive(hist, holdout, data.season)
        preds.append(p)
        gold.append(y)
        naive.append(sn)
        mases.append(forecast_report(y, p, hist, data.season)["mase"])
        naive_mases.append(forecast_report(y, sn, hist, data.season)["mase"])
    if not preds:
        raise DataError("no series is long enough to score the hold-out", path=data.data)
    g, p, n = np.concatenate(gold), np.concatenate(preds), np.concatenate(naive)
    hist0 = raw[0][:-holdout]
    model_r = forecast_report(g, p, hist0, data.season) | {"mase": float(np.mean(mases))}
    naive_r = forecast_report(g, n, hist0, data.season) | {"mase": float(np.mean(naive_mases))}
    return {"holdout": holdout, "model": model_r, "seasonal_naive": naive_r,
            "forecast": [q.tolist() for q in preds], "actual": [q.tolist() for q in gold]}


@dataclass
class LoadedForecaster:
    model: Forecaster
    norm: Normalizer
    data: ForecastDataConfig
    config: dict

    def predict(self, history: np.ndarray, steps: int | None = None) -> np.ndarray:
        """(steps, K) after ``history`` (T, K), in the data's units."""
        return predict_ahead(self.model, self.norm, self.data.transform, history,
                             steps or self.model.cfg.horizon)


def load_forecaster(run: str | Path, which: str = "best") -> LoadedForecaster:
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "forecast")
    m, _ = _series_config(cfg)
    model = Forecaster(ForecasterConfig(**m))
    load_weights(model, run, which)
    model.eval()
    return LoadedForecaster(model, Normalizer.load(run / "normalizer.json"),
                            ForecastDataConfig(**cfg["data"]), cfg)


def forecast_file(run: str | Path, path: str | Path | None = None,
                  steps: int | None = None) -> tuple[SeriesData, list[np.ndarray]]:
    """The next ``steps`` values after the end of every series in ``path`` (default: the
    run's training file)."""
    fc = load_forecaster(run)
    path = str(path or fc.data.data)
    d = read_forecast_series(fc.data, path)
    if d.features != fc.config["targets"]:
        raise DataError(f"columns {d.features}, but the forecaster was trained on "
                        f"{fc.config['targets']}", path=path)
    return d, [fc.predict(x, steps) for x in d.series]
