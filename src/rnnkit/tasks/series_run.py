"""Numeric sequences end to end as library calls (``rnnkit train series-classify``,
``rnnkit train series-tag``, ``rnnkit train forecast``, ``rnnkit forecast`` and the series
side of ``rnnkit predict`` / ``rnnkit eval`` are thin layers over these).

The run folder is the usual one (:mod:`rnnkit.train.run`) plus ``normalizer.json`` (training
statistics, applied again at prediction), and ``labels.json``, ``dev_report.json``,
``confusion.png`` (classifier, per-frame tagger) or ``test_report.json``, ``forecast.png``
(forecaster).

Forecasting split of every series (oldest to newest)::

    | training windows ... | validation: last H steps | hold-out: last ``holdout`` steps |

Normalisation (targets and known covariates) is fitted on the training part only. The best
checkpoint is chosen on the validation window; the hold-out is scored once at the end (MAE,
RMSE, sMAPE, MASE; the interval's coverage for a gaussian or quantile output) next to the
seasonal naive forecast.

Rows after a series' history whose targets are all empty are its future: they hold the known
covariates of the steps to forecast (:func:`read_forecast_series`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from .. import __version__
from ..data.batching import split_indices
from ..data.errors import DataError
from ..data.scaling import Normalizer
from ..data.series import SeriesData, impute, read_series, series_format
from ..data.tokens import LabelVocab
from ..train.loop import TrainConfig
from ..train.run import (
    load_weights,
    read_config,
    require_task,
    train_in_run,
    write_json,
)
from .encoder import EncoderConfig
from .forecast_metrics import coverage, forecast_report, plot_forecast, seasonal_naive
from .metrics import classification_report, save_dev_report
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


def _resume_configs(resume: str | Path, task: str, data_cls, model_cls):
    """(data config, model config, train config) saved in a ``task`` run folder."""
    run = Path(resume)
    cfg = read_config(run)
    require_task(run, cfg, task)
    m, train = _series_config(cfg)
    return data_cls(**cfg["data"]), model_cls(**m), train


def _train_dev(read, data, seed: int, min_series: int = 1):
    """(train, validation) series: ``data.dev`` read with the training's feature columns, or a
    seeded ``data.dev_fraction`` of whole series held out."""
    full = read(data, data.data)
    if data.dev:
        tr = full
        dev = read(data, data.dev, value_cols=_trained_cols(data.format, data.dev, tr.features))
    else:
        if len(full) < min_series:
            raise DataError(f"{len(full)} series: validation holds out whole series, so give "
                            "a series id column (--series-col) or validation frames (--dev)",
                            path=data.data)
        rest, held = split_indices(len(full), data.dev_fraction, seed)
        tr, dev = _subset(full, rest), _subset(full, held)
    _check_features(dev, tr.features)
    return tr, dev


def _normalized(data, tr, dev, resume):
    """The normaliser (fitted on the training split only, or the resumed run's) and the
    normalised training and validation series."""
    norm = (Normalizer.fit(tr.series, data.normalize) if resume is None
            else Normalizer.load(Path(resume) / "normalizer.json"))
    return norm, [norm.transform(x) for x in tr.series], [norm.transform(x) for x in dev.series]


def train_series_classifier(data: SeriesClassifyDataConfig, model_cfg: SeriesModelConfig,
                            train: TrainConfig, out: str | Path = "runs",
                            resume: str | Path | None = None,
                            callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a classifier of numeric series; returns the run folder. ``resume`` continues a
    run folder (its saved configuration and normalisation are used)."""
    if resume is not None:
        data, model_cfg, train = _resume_configs(resume, "series-classify",
                                                 SeriesClassifyDataConfig, SeriesModelConfig)
    data.validate()
    train.validate()
    tr, dev = _train_dev(read_labelled_series, data, train.seed)
    labels = LabelVocab.build(tr.labels)
    if len(labels) < 2:
        raise DataError("only one class label in the training data", path=data.data)
    y_train, y_dev = _label_ids(labels, tr), _label_ids(labels, dev)
    norm, x_train, x_dev = _normalized(data, tr, dev, resume)
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
        save_dev_report(run, report, f"validation: accuracy {report['accuracy']:.4f}, "
                        f"macro-F1 {report['macro_f1']:.4f}")
    return run


@dataclass
class _LoadedLabelledSeries:
    """A trained series classifier or frame tagger with what reading new data needs."""

    model: torch.nn.Module
    norm: Normalizer  # the training statistics
    labels: LabelVocab
    data: Any  # the training data config (columns, format, missing values)
    config: dict

    _reader: ClassVar[Callable[..., SeriesData]]  # read_labelled_series or read_frames

    def read(self, path: str | Path, labels: bool = True) -> SeriesData:
        """Series of ``path`` read like the training file (the same value columns)."""
        path = str(path)
        d = self._reader(self.data, path, labels,
                         _trained_cols(self.data.format, path, self.config["features"]))
        _check_features(d, self.config["features"])
        return d

    def normalized(self, d: SeriesData) -> list:
        return [self.norm.transform(x) for x in d.series]

    @classmethod
    def _load(cls, run: str | Path, which: str, task: str, model_cls, model_cfg_cls, data_cls):
        run = Path(run)
        cfg = read_config(run)
        require_task(run, cfg, task)
        m, _ = _series_config(cfg)
        model = model_cls(model_cfg_cls(**m))
        load_weights(model, run, which)
        model.eval()
        return cls(model, Normalizer.load(run / "normalizer.json"),
                   LabelVocab.load(run / "labels.json"), data_cls(**cfg["data"]), cfg)


class LoadedSeriesClassifier(_LoadedLabelledSeries):
    _reader = staticmethod(read_labelled_series)

    def predict_proba(self, d: SeriesData, batch_size: int = 128) -> torch.Tensor:
        """Class probabilities (N, C), the series normalised with the training statistics."""
        return predict_series(self.model, self.normalized(d), batch_size)


def load_series_classifier(run: str | Path, which: str = "best") -> LoadedSeriesClassifier:
    return LoadedSeriesClassifier._load(run, which, "series-classify", SeriesClassifier,
                                        SeriesModelConfig, SeriesClassifyDataConfig)


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
        data, model_cfg, train = _resume_configs(resume, "series-tag", FrameTagDataConfig,
                                                 FrameTaggerConfig)
    data.validate()
    train.validate()
    tr, dev = _train_dev(read_frames, data, train.seed, min_series=2)
    labels = LabelVocab.build(t for tags in tr.step_labels for t in tags)
    if len(labels) < 2:
        raise DataError(f"only one label ({labels.itos[0]!r}) in the training frames",
                        path=data.data)
    y_train, y_dev = _frame_label_ids(labels, tr), _frame_label_ids(labels, dev)
    norm, x_train, x_dev = _normalized(data, tr, dev, resume)
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
        save_dev_report(run, report, f"validation: frame accuracy {report['accuracy']:.4f}, "
                        f"macro-F1 {report['macro_f1']:.4f}")
    return run


class LoadedFrameTagger(_LoadedLabelledSeries):
    _reader = staticmethod(read_frames)

    def predict(self, d: SeriesData, batch_size: int = 128) -> list[list[str]]:
        """The label of every step of every series, normalised with the training statistics."""
        ids = predict_frames(self.model, self.normalized(d), batch_size)
        return [[self.labels.itos[k] for k in s] for s in ids]


def load_frame_tagger(run: str | Path, which: str = "best") -> LoadedFrameTagger:
    return LoadedFrameTagger._load(run, which, "series-tag", FrameTagger, FrameTaggerConfig,
                                   FrameTagDataConfig)


def eval_frame_tagger(run: str | Path, path: str | Path, which: str = "best",
                      batch_size: int = 128) -> dict:
    """Frame accuracy, per-label scores and confusion matrix (chunk F1 for BIO labels) of a
    trained per-frame tagger on labelled frames read like its training data."""
    from .tag_run import tag_report

    tagger = load_frame_tagger(run, which)
    d = tagger.read(path)
    gold = _frame_label_ids(tagger.labels, d)
    pred = predict_frames(tagger.model, tagger.normalized(d), batch_size)
    return tag_report(gold, pred, tagger.labels.itos)


# Forecasting ---------------------------------------------------------------------------------

@dataclass
class ForecastDataConfig:
    data: str = ""  # CSV or Parquet (one row per time step), .npy or .npz of series
    format: str = "auto"  # auto | csv | parquet | npy | npz
    target: str = ""  # comma-separated columns to forecast (default: the numeric ones)
    covariate_cols: str = ""  # comma-separated known future covariates (calendar, promotion)
    time_col: str = ""  # CSV: the time column (kept in order, not used as a value)
    id_col: str = ""  # CSV: a series id column when the file holds several series
    missing: str = "error"  # error | ffill | zero: what a missing value (NaN, ?) does
    transform: str = "none"  # none | log: forecast log values (multiplicative seasonality)
    normalize: str = "feature"  # feature (training statistics) | none
    holdout: int = -1  # last steps of each series scored at the end (-1: the horizon; 0: none)
    season: int = 1  # m, seasonal period for MASE and the seasonal naive peer (12: monthly)
    batch_size: int = 32  # B, windows per batch
    loss: str = "mse"  # mse | mae, on normalised values (output point; else NLL / pinball)

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


def train_forecaster(data: ForecastDataConfig, model_cfg: ForecasterConfig, train: TrainConfig,
                     out: str | Path = "runs", resume: str | Path | None = None,
                     callbacks: list[Callable[[str, dict], None]] | None = None) -> Path:
    """Train a forecaster (direct multi-output or autoregressive; point, gaussian or quantile
    output; optional known future covariates); returns the run folder. ``resume`` continues a
    run folder (its saved configuration and normalisation are used)."""
    if resume is not None:
        run = Path(resume)
        cfg = read_config(run)
        require_task(run, cfg, "forecast")
        m, train = _series_config(cfg)
        data, model_cfg = ForecastDataConfig(**cfg["data"]), ForecasterConfig(**m)
    data.validate()
    model_cfg.check_options()
    train.validate()
    d = read_forecast_series(data, data.data)
    H, C, K = model_cfg.horizon, model_cfg.context, d.num_targets
    holdout = H if data.holdout < 0 else data.holdout
    raw = list(d.series)
    fit_part = [x[: len(x) - holdout] if holdout else x for x in raw]  # train + validation
    need = C + 2 * H
    short = [i for i, x in enumerate(fit_part) if len(x) < need]
    if len(short) == len(fit_part):
        raise DataError(f"every series is too short: context {C} + horizon {H} of training "
                        f"windows + {H} validation steps + {holdout} held out needs "
                        f"{need + holdout} steps, the longest has "
                        f"{max(len(x) for x in raw)}", path=data.data)
    tr_part = [x[:-H] for x in fit_part if len(x) >= need]
    norm = (Normalizer.fit([_fwd(x, data.transform, K) for x in tr_part], data.normalize)
            if resume is None else Normalizer.load(run / "normalizer.json"))
    z = [norm.transform(_fwd(x, data.transform, K)) for x in fit_part if len(x) >= need]
    x_tr, y_tr = windows([s[:-H] for s in z], C, H)
    x_dev, y_dev = windows(z, C, H, target_from=min(len(s) for s in z) - H)
    model_cfg.num_targets, model_cfg.num_covariates = K, len(d.covariates)
    torch.manual_seed(train.seed)
    model = Forecaster(model_cfg)
    task = ForecastTask(x_tr, y_tr, x_dev, y_dev, data.batch_size, train.seed, data.loss)
    resolved = {"task": "forecast", "rnnkit": __version__, "source": data.data,
                "data": asdict(data), "model": asdict(model_cfg), "train": asdict(train),
                "targets": d.targets, "covariates": d.covariates, "holdout": holdout,
                "sizes": {"series": len(raw), "train_windows": len(x_tr),
                          "dev_windows": len(x_dev),
                          "parameters": sum(p.numel() for p in model.parameters())}}
    run, summary = train_in_run(
        model, task, train, resolved, out=out, name="forecast", resume=resume,
        artifacts={"normalizer.json": norm}, callbacks=callbacks,
        title=f"{model_cfg.encoder.cell} {model_cfg.strategy} forecaster")
    if summary["stopped"] != "interrupted" and holdout:
        load_weights(model, run, "best")
        report = score_holdout(model, norm, data, raw, holdout)
        write_json(run / "test_report.json", report)
        plot_holdout(report, raw, d.targets, data.season, run / "forecast.png",
                     "hold-out")
    return run


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
class LoadedForecaster:
    model: Forecaster
    norm: Normalizer
    data: ForecastDataConfig
    config: dict

    def read(self, path: str | Path | None = None) -> ForecastData:
        """Series of ``path`` (default: the training file) read like the training file (the
        same target and covariate columns)."""
        path = str(path or self.data.data)
        return read_forecast_series(self.data, path, self.config["targets"])

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
                  steps: int | None = None) -> tuple[ForecastData, list[Forecast]]:
    """The next ``steps`` values after the end of every series in ``path`` (default: the
    run's training file); covariates of those steps come from the rows after each history."""
    fc = load_forecaster(run)
    d = fc.read(path)
    return d, fc.forecast(d, steps)


def eval_forecaster(run: str | Path, path: str | Path | None = None,
                    holdout: int | None = None, which: str = "best") -> dict:
    """Forecast the last ``holdout`` steps (default: the run's hold-out, else its horizon)
    of every series of ``path`` (default: the training file) from the steps before them;
    MAE, RMSE, sMAPE and MASE of the model and of the seasonal naive forecast (and the
    interval's coverage for a gaussian or quantile output)."""
    fc = load_forecaster(run, which)
    d = fc.read(path)
    h = holdout or fc.config.get("holdout") or fc.model.cfg.horizon
    if h < 1:
        raise ValueError(f"holdout must be >= 1, got {h}")
    return score_holdout(fc.model, fc.norm, fc.data, d.series, h, d.path)
