"""Numeric sequences end to end as library calls (``rnnkit train series-classify``,
``rnnkit train series-tag``, ``rnnkit train forecast``, ``rnnkit forecast`` and the series
side of ``rnnkit predict`` / ``rnnkit eval`` are thin layers over these).

The run folder is the usual one (:mod:`rnnkit.train.run`) plus ``normalizer.json`` (training
statistics, applied again at prediction), and ``labels.json``, ``dev_report.json``,
``confusion.png`` (classifier, per-frame tagger) or ``test_report.json``, ``forecast.png``
(forecaster).

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
from ..data.series import SeriesData, read_series, series_format
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
from .series_tag import FrameTagger, FrameTaggerConfig, FrameTagTask, predict_frames

log = logging.getLogger(__name__)


def _cols(spec: str) -> list[str] | None:
    return [c.strip() for c in spec.split(",") if c.strip()] or None


def _trained_cols(fmt: str, path: str, features: list[str]) -> list[str] | None:
    """The training run's value columns, to read another long-form table exactly like the
    training one (extra columns ignored, a missing one an error naming it)."""
    return features if series_format(path, fmt) in ("csv", "parquet") else None


def _check_features(d: SeriesData, features: list[str]) -> None:
    if d.num_features != len(features):
        raise DataError(f"{d.num_features} features per step, but the model was trained on "
                        f"{len(features)} ({', '.join(features)})", path=d.path)


# Classification --------------------------------------------------------------------------------

@dataclass
class SeriesClassifyDataConfig:
    data: str = ""  # training series: .ts, .npy/.npz, CSV or Parquet (long, or --format wide)
    dev: str | None = None  # validation series (default: a seeded dev_fraction of --data)
    dev_fraction: float = 0.1  # share of --data held out for validation when --dev is not given
    format: str = "auto"  # auto | ts | npy | npz | csv | parquet (long form) | wide
    label_col: str = "label"  # CSV/Parquet: the class label column
    id_col: str = "id"  # CSV/Parquet long form: the series id column
    time_col: str = ""  # CSV/Parquet long form: a time column to leave out of the values
    value_cols: str = ""  # comma-separated value columns (default: the other numeric ones)
    missing: str = "error"  # error | ffill | zero: what a missing value (NaN, ?) does
    normalize: str = "feature"  # feature (training statistics) | series (each its own) | none
    batch_size: int = 32  # B, series per batch (batched by similar length)

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the training series (--data FILE)")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def read_labelled_series(cfg: SeriesClassifyDataConfig, path: str, labels: bool = True,
                         value_cols: list[str] | None = None) -> SeriesData:
    """Series read as ``cfg`` says; ``labels=False``: the labels may be missing (prediction);
    ``value_cols`` overrides ``cfg.value_cols``."""
    d = read_series(path, cfg.format, value_cols=value_cols or _cols(cfg.value_cols),
                    id_col=cfg.id_col or None, time_col=cfg.time_col or None,
                    label_col=cfg.label_col or None, missing=cfg.missing,
                    labels_optional=not labels)
    if labels and d.labels is None:
        raise DataError("no class labels (a .ts file needs '@classLabel true ...', an .npz "
                        "an array 'y', a CSV a --label-col)", path=path)
    return d


def _subset(d: SeriesData, idx: list[int]) -> SeriesData:
    def pick(xs):
        return None if xs is None else [xs[i] for i in idx]

    return SeriesData(pick(d.series), pick(d.labels), pick(d.step_labels), d.features,
                      pick(d.ids), pick(d.lines), d.path, pick(d.step_lines), pick(d.times))


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
        tr = full
        dev = read_labelled_series(data, data.dev,
                                   value_cols=_trained_cols(data.format, data.dev, tr.features))
    else:
        rest, held = split_indices(len(full), data.dev_fraction, train.seed)
        tr, dev = _subset(full, rest), _subset(full, held)
    _check_features(dev, tr.features)
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


@dataclass
class LoadedSeriesClassifier:
    model: SeriesClassifier
    norm: Normalizer  # the training statistics
    labels: LabelVocab
    data: SeriesClassifyDataConfig
    config: dict

    def read(self, path: str | Path, labels: bool = True) -> SeriesData:
        """Series of ``path`` read like the training file (the same value columns)."""
        path = str(path)
        d = read_labelled_series(self.data, path, labels, _trained_cols(
            self.data.format, path, self.config["features"]))
        _check_features(d, self.config["features"])
        return d

    def predict_proba(self, d: SeriesData, batch_size: int = 128) -> torch.Tensor:
        """Class probabilities (N, C), the series normalised with the training statistics."""
        return predict_series(self.model, [self.norm.transform(x) for x in d.series],
                              batch_size)


def load_series_classifier(run: str | Path, which: str = "best") -> LoadedSeriesClassifier:
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "series-classify")
    m, _ = _series_config(cfg)
    model = SeriesClassifier(SeriesModelConfig(**m))
    load_weights(model, run, which)
    model.eval()
    return LoadedSeriesClassifier(model, Normalizer.load(run / "normalizer.json"),
                                  LabelVocab.load(run / "labels.json"),
                                  SeriesClassifyDataConfig(**cfg["data"]), cfg)


def eval_series_classifier(run: str | Path, path: str | Path, which: str = "best",
                           batch_size: int = 128) -> dict:
    """Classification report of a trained series classifier on a labelled file read like its
    training data, normalised with the training statistics."""
    clf = load_series_classifier(run, which)
    d = clf.read(path)
    gold = _label_ids(clf.labels, d)
    probs = clf.predict_proba(d, batch_size)
    return classification_report(gold, probs.argmax(1).tolist(), clf.labels.itos)


# Per-frame labelling -------------------------------------------------------------------------

FRAME_FORMATS = ("auto", "csv", "parquet", "npz")


@dataclass
class FrameTagDataConfig:
    data: str = ""  # labelled frames: CSV/Parquet, one row per step, or .npz (X, y (N, T))
    dev: str | None = None  # validation frames (default: a seeded dev_fraction of the series)
    dev_fraction: float = 0.1  # share of the series held out for validation without --dev
    format: str = "auto"  # auto | csv | parquet | npz (auto: from the suffix)
    series_col: str = ""  # the series id column (default: the whole file is one series)
    time_col: str = ""  # a time column, left out of the features (rows are read in file order)
    label_col: str = "label"  # the per-frame label column
    value_cols: str = ""  # comma-separated feature columns (default: the other numeric ones)
    missing: str = "error"  # error | ffill | zero: what a missing value (NaN, ?) does
    normalize: str = "feature"  # feature (training statistics) | series (each its own) | none
    batch_size: int = 32  # B, series per batch (batched by similar length)

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the labelled frames (--data FILE)")
        if self.format not in FRAME_FORMATS:
            raise ValueError(f"format must be one of {FRAME_FORMATS} for per-frame labelling, "
                             f"got {self.format!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


def read_frames(cfg: FrameTagDataConfig, path: str, labels: bool = True,
                value_cols: list[str] | None = None) -> SeriesData:
    """Frames of ``path`` grouped into series, with one label per step (``labels=False``:
    the label column may be missing). ``value_cols`` overrides ``cfg.value_cols``."""
    fmt = series_format(path, cfg.format)
    if fmt not in FRAME_FORMATS[1:]:
        raise DataError(f"per-frame labels are read from CSV, Parquet or .npz files; "
                        f"{'format ' + repr(fmt) if fmt else 'the suffix'} is none of these "
                        f"(give --format)", path=path)
    d = read_series(path, fmt, value_cols=value_cols or _cols(cfg.value_cols),
                    id_col=cfg.series_col or None, time_col=cfg.time_col or None,
                    step_label_col=cfg.label_col or None, missing=cfg.missing,
                    labels_optional=not labels)
    if labels and d.step_labels is None:
        raise DataError("no per-frame labels: an .npz needs y (N, T), one label per step "
                        "(y (N,) holds class labels: use `rnnkit train series-classify`)",
                        path=path)
    return d


def _frame_label_ids(labels: LabelVocab, d: SeriesData) -> list[list[int]]:
    """Label ids per step; a label not seen in training is a DataError naming its line."""
    out = []
    for i, tags in enumerate(d.step_labels):
        lines = d.step_lines[i] if d.step_lines else [None] * len(tags)
        out.append([labels.index(t, d.path, n) for t, n in zip(tags, lines)])
    return out


def train_frame_tagger(data: FrameTagDataConfig, model_cfg: FrameTaggerConfig,
                       train: TrainConfig, out: str | Path = "runs",
                       resume: str | Path | None = None,
                       callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a per-frame labeller of numeric series; returns the run folder. ``resume``
    continues a run folder (its saved configuration and normalisation are used)."""
    from .tag_run import tag_report

    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "series-tag")
        m, train = _series_config(cfg)
        data, model_cfg = FrameTagDataConfig(**cfg["data"]), FrameTaggerConfig(**m)
    data.validate()
    train.validate()
    full = read_frames(data, data.data)
    if data.dev:
        tr = full
        dev = read_frames(data, data.dev,
                          value_cols=_trained_cols(data.format, data.dev, tr.features))
    else:
        if len(full) < 2:
            raise DataError(f"{len(full)} series: validation holds out whole series, so give "
                            "a series id column (--series-col) or validation frames (--dev)",
                            path=data.data)
        rest, held = split_indices(len(full), data.dev_fraction, train.seed)
        tr, dev = _subset(full, rest), _subset(full, held)
    _check_features(dev, tr.features)
    labels = LabelVocab.build(t for tags in tr.step_labels for t in tags)
    if len(labels) < 2:
        raise DataError(f"only one label ({labels.itos[0]!r}) in the training frames",
                        path=data.data)
    y_train, y_dev = _frame_label_ids(labels, tr), _frame_label_ids(labels, dev)
    norm = (Normalizer.fit(tr.series, data.normalize) if resume is None  # training split only
            else Normalizer.load(run / "normalizer.json"))
    x_train = [norm.transform(x) for x in tr.series]
    x_dev = [norm.transform(x) for x in dev.series]
    model_cfg.input_size, model_cfg.num_labels = tr.num_features, len(labels)
    torch.manual_seed(train.seed)
    model = FrameTagger(model_cfg)
    task = FrameTagTask(x_train, y_train, x_dev, y_dev, data.batch_size, train.seed)
    resolved = {"task": "series-tag", "rnnkit": __version__, "source": data.data,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "labels": labels.itos, "features": tr.features,
                "sizes": {"train": len(tr), "dev": len(dev),
                          "train_frames": sum(len(x) for x in tr.series),
                          "dev_frames": sum(len(x) for x in dev.series),
                          "parameters": sum(p.numel() for p in model.parameters())}}
    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="series-tag", resume=resume,
        artifacts={"labels.json": labels, "normalizer.json": norm}, callbacks=callbacks,
        title=f"{model_cfg.encoder.cell} per-frame tagger")
    if summary["stopped"] != "interrupted":
        load_weights(model, run, "best")
        report = tag_report(y_dev, predict_frames(model, x_dev), labels.itos)
        write_json(run / "dev_report.json", report)
        plot_confusion(report, run / "confusion.png", title=f"validation: frame accuracy "
                       f"{report['accuracy']:.4f}, macro-F1 {report['macro_f1']:.4f}")
    return run


@dataclass
class LoadedFrameTagger:
    model: FrameTagger
    norm: Normalizer  # the training statistics
    labels: LabelVocab
    data: FrameTagDataConfig
    config: dict

    def read(self, path: str | Path, labels: bool = True) -> SeriesData:
        """Frames of ``path`` read like the training file (the same feature columns)."""
        path = str(path)
        d = read_frames(self.data, path, labels,
                        _trained_cols(self.data.format, path, self.config["features"]))
        _check_features(d, self.config["features"])
        return d

    def predict(self, d: SeriesData, batch_size: int = 128) -> list[list[str]]:
        """The label of every step of every series, normalised with the training statistics."""
        ids = predict_frames(self.model, [self.norm.transform(x) for x in d.series],
                             batch_size)
        return [[self.labels.itos[k] for k in s] for s in ids]


def load_frame_tagger(run: str | Path, which: str = "best") -> LoadedFrameTagger:
    run = Path(run)
    cfg = read_config(run)
    require_task(run, cfg, "series-tag")
    m, _ = _series_config(cfg)
    model = FrameTagger(FrameTaggerConfig(**m))
    load_weights(model, run, which)
    model.eval()
    return LoadedFrameTagger(model, Normalizer.load(run / "normalizer.json"),
                             LabelVocab.load(run / "labels.json"),
                             FrameTagDataConfig(**cfg["data"]), cfg)


def eval_frame_tagger(run: str | Path, path: str | Path, which: str = "best",
                      batch_size: int = 128) -> dict:
    """Frame accuracy, per-label scores and confusion matrix (chunk F1 for BIO labels) of a
    trained per-frame tagger on labelled frames read like its training data."""
    from .tag_run import tag_report

    tagger = load_frame_tagger(run, which)
    d = tagger.read(path)
    gold = _frame_label_ids(tagger.labels, d)
    pred = predict_frames(tagger.model, [tagger.norm.transform(x) for x in d.series],
                          batch_size)
    return tag_report(gold, pred, tagger.labels.itos)


# Forecasting ---------------------------------------------------------------------------------

@dataclass
class ForecastDataConfig:
    data: str = ""  # CSV or Parquet (one row per time step), .npy or .npz of series
    format: str = "auto"  # auto | csv | parquet | npy | npz
    target: str = ""  # comma-separated columns to forecast (default: the numeric ones)
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


def read_forecast_series(cfg: ForecastDataConfig, path: str,
                         value_cols: list[str] | None = None) -> SeriesData:
    """Series read as ``cfg`` says (``value_cols`` overrides ``cfg.target``)."""
    d = read_series(path, cfg.format, value_cols=value_cols or _cols(cfg.target),
                    id_col=cfg.id_col or None, time_col=cfg.time_col or None,
                    missing=cfg.missing)
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
                  raw: list[np.ndarray], holdout: int, path: str | None = None) -> dict:
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
        raise DataError(f"no series is longer than the forecaster's context "
                        f"({model.cfg.context} steps) plus the {holdout} steps scored",
                        path=path or data.data)
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

    def read(self, path: str | Path | None = None) -> SeriesData:
        """Series of ``path`` (default: the training file) read like the training file (the
        same target columns)."""
        path = str(path or self.data.data)
        targets = self.config["targets"]
        d = read_forecast_series(self.data, path, _trained_cols(self.data.format, path,
                                                                targets))
        if d.num_features != len(targets):
            raise DataError(f"{d.num_features} values per step, but the forecaster was "
                            f"trained on {len(targets)} ({', '.join(targets)})", path=path)
        return d

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
    d = fc.read(path)
    return d, [fc.predict(x, steps) for x in d.series]


def eval_forecaster(run: str | Path, path: str | Path | None = None,
                    holdout: int | None = None, which: str = "best") -> dict:
    """Forecast the last ``holdout`` steps (default: the run's hold-out, else its horizon)
    of every series of ``path`` (default: the training file) from the steps before them;
    MAE, RMSE, sMAPE and MASE of the model and of the seasonal naive forecast."""
    fc = load_forecaster(run, which)
    d = fc.read(path)
    h = holdout or fc.config.get("holdout") or fc.model.cfg.horizon
    if h < 1:
        raise ValueError(f"holdout must be >= 1, got {h}")
    return score_holdout(fc.model, fc.norm, fc.data, d.series, h, d.path)
