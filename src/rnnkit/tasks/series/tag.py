"""Per-frame labelling of numeric series (synchronous many-to-many): one label per step
(``rnnkit train series-tag``, and ``rnnkit train tag`` on frame tables).

The run folder holds ``normalizer.json``, ``labels.json``, ``dev_report.json`` and
``confusion.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ...config import section
from ...data.errors import DataError
from ...data.series import SeriesData, read_series, series_format
from ...data.tokens import LabelVocab
from ...train.loop import TrainConfig
from ..common.metrics import GoldLabels, save_dev_report, tag_report
from ..spec import Prepared
from .classify import Missing, Normalize
from .data import LoadedLabelledSeries, cols, normalized, train_dev
from .frames import FrameTagger, FrameTaggerConfig, FrameTagTask, predict_frames

FRAME_FORMATS = ("auto", "csv", "parquet", "npz")


@dataclass
class FrameTagDataConfig:
    data: str = ""  # labelled frames: CSV/Parquet, one row per step, or .npz (X, y (N, T))
    dev: str | None = None  # validation frames (default: a seeded dev_fraction of the series)
    dev_fraction: float = 0.1  # share of the series held out for validation without --dev
    format: Literal["auto", "csv", "parquet", "npz"] = "auto"  # auto: from the suffix
    series_col: str = ""  # the series id column (default: the whole file is one series)
    time_col: str = ""  # a time column, left out of the features (rows are read in file order)
    label_col: str = "label"  # the per-frame label column
    value_cols: str = ""  # comma-separated feature columns (default: the other numeric ones)
    missing: Missing = "error"  # what a missing value (NaN, ?) does: error, forward fill, 0
    normalize: Normalize = "feature"  # feature: training statistics; series: each its own
    batch_size: int = 32  # B, series per batch (batched by similar length)

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the labelled frames (--data FILE)")
        if self.format not in FRAME_FORMATS:
            raise ValueError(f"format must be one of {FRAME_FORMATS} for per-frame labelling, "
                             f"got {self.format!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


@dataclass
class FrameTagSettings:
    """Everything a per-frame tagger run is trained from."""

    data: FrameTagDataConfig = section(FrameTagDataConfig, prefix="")
    model: FrameTaggerConfig = section(FrameTaggerConfig, prefix="")
    train: TrainConfig = section(lambda: TrainConfig(epochs=30.0), prefix="")


def read_frames(cfg: FrameTagDataConfig, path: str, labels: bool = True,
                value_cols: list[str] | None = None) -> SeriesData:
    """Frames of ``path`` grouped into series, with one label per step (``labels=False``:
    the label column may be missing). ``value_cols`` overrides ``cfg.value_cols``."""
    fmt = series_format(path, cfg.format)
    if fmt not in FRAME_FORMATS[1:]:
        raise DataError(f"per-frame labels are read from CSV, Parquet or .npz files; "
                        f"{'format ' + repr(fmt) if fmt else 'the suffix'} is none of these "
                        f"(give --format)", path=path)
    d = read_series(path, fmt, value_cols=value_cols or cols(cfg.value_cols),
                    id_col=cfg.series_col or None, time_col=cfg.time_col or None,
                    step_label_col=cfg.label_col or None, missing=cfg.missing,
                    labels_optional=not labels)
    if labels and d.step_labels is None:
        raise DataError("no per-frame labels: an .npz needs y (N, T), one label per step "
                        "(y (N,) holds class labels: use `rnnkit train series-classify`)",
                        path=path)
    return d


def frame_label_ids(labels: LabelVocab, d: SeriesData) -> list[list[int]]:
    """Label ids per step; a label not seen in training is a DataError naming its line."""
    out = []
    for i, tags in enumerate(d.step_labels):
        lines = d.step_lines[i] if d.step_lines else [None] * len(tags)
        out.append([labels.index(t, d.path, n) for t, n in zip(tags, lines)])
    return out


def prepare(s: FrameTagSettings, run: Path | None) -> Prepared:
    data = s.data
    data.validate()
    tr, dev = train_dev(read_frames, data, s.train.seed, min_series=2)
    labels = (LabelVocab.build(t for tags in tr.step_labels for t in tags) if run is None
              else LabelVocab.load(run / "labels.json"))
    if len(labels) < 2:
        raise DataError(f"only one label ({labels.itos[0]!r}) in the training frames",
                        path=data.data)
    y_train, y_dev = frame_label_ids(labels, tr), frame_label_ids(labels, dev)
    norm, x_train, x_dev = normalized(data, tr, dev, run)
    s.model.input_size, s.model.num_labels = tr.num_features, len(labels)
    task = FrameTagTask(x_train, y_train, x_dev, y_dev, data.batch_size, s.train.seed)
    return Prepared(task, data.data, {"labels.json": labels, "normalizer.json": norm},
                    info={"labels": labels.itos, "features": tr.features},
                    sizes={"train": len(tr), "dev": len(dev),
                           "train_frames": sum(len(x) for x in tr.series),
                           "dev_frames": sum(len(x) for x in dev.series)},
                    title=f"{s.model.encoder.cell} per-frame tagger",
                    state=(x_dev, y_dev, labels))


def report(model: FrameTagger, s: FrameTagSettings, prepared: Prepared, run: Path) -> None:
    x_dev, y_dev, labels = prepared.state
    rep = tag_report(y_dev, predict_frames(model, x_dev), labels.itos)
    save_dev_report(run, rep, f"validation: frame accuracy {rep['accuracy']:.4f}, "
                    f"macro-F1 {rep['macro_f1']:.4f}")


class LoadedFrameTagger(LoadedLabelledSeries):
    _reader = staticmethod(read_frames)
    task = "series-tag"

    def predict(self, d: SeriesData, batch_size: int = 128) -> list[list[str]]:
        """The label of every step of every series, normalised with the training statistics."""
        ids = predict_frames(self.model, self.normalized(d), batch_size)
        return [[self.labels.itos[k] for k in s] for s in ids]

    def evaluate(self, path: str | Path, batch_size: int = 128) -> dict:
        """Frame accuracy, per-label scores and confusion matrix (chunk F1 for BIO labels)
        on labelled frames read like the training data."""
        d = self.read(path)
        g = GoldLabels(self.labels.itos)
        gold = [[g.id(t) for t in tags] for tags in d.step_labels]
        pred = predict_frames(self.model, self.normalized(d), batch_size)
        return g.note(tag_report(gold, pred, g.names))


def describe(s: FrameTagSettings) -> str:
    e = s.model.encoder
    return f"{e.layers}x{e.hidden} {e.cell} per-frame tagger on {s.data.data}"


def build_model(s: FrameTagSettings) -> FrameTagger:
    return FrameTagger(s.model)
