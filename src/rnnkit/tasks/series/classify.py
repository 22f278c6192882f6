"""Classification of numeric series (many-to-one): (T, F) -> label
(``rnnkit train series-classify``, and ``rnnkit train classify`` on series files).

The run folder holds ``normalizer.json``, ``labels.json``, ``dev_report.json`` and
``confusion.png`` (and ``test_report.json`` with ``--test``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ...config import section
from ...data.errors import DataError
from ...data.series import SeriesData, read_series
from ...data.tokens import LabelVocab
from ...train.loop import TrainConfig
from ..common.metrics import GoldLabels, classification_report, save_dev_report
from ..spec import Prepared
from .data import LoadedLabelledSeries, cols, normalized, train_dev
from .models import SeriesClassifier, SeriesClassifyTask, SeriesModelConfig, predict_series

Missing = Literal["error", "ffill", "zero"]
Normalize = Literal["feature", "series", "none"]


@dataclass
class SeriesClassifyDataConfig:
    data: str = ""  # training series: .ts, .npy/.npz, CSV or Parquet (long, or --format wide)
    dev: str | None = None  # validation series (default: a seeded dev_fraction of --data)
    dev_fraction: float = 0.1  # share of --data held out for validation when --dev is not given
    format: Literal["auto", "ts", "npy", "npz", "csv", "parquet", "wide"] = "auto"  # file kind
    label_col: str = "label"  # CSV/Parquet: the class label column
    id_col: str = "id"  # CSV/Parquet long form: the series id column
    time_col: str = ""  # CSV/Parquet long form: a time column to leave out of the values
    value_cols: str = ""  # comma-separated value columns (default: the other numeric ones)
    missing: Missing = "error"  # what a missing value (NaN, ?) does: error, forward fill, 0
    normalize: Normalize = "feature"  # feature: training statistics; series: each its own
    batch_size: int = 32  # B, series per batch (batched by similar length)

    def validate(self) -> None:
        if not self.data:
            raise ValueError("give the training series (--data FILE)")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")


@dataclass
class SeriesClassifySettings:
    """Everything a series-classifier run is trained from."""

    data: SeriesClassifyDataConfig = section(SeriesClassifyDataConfig, prefix="")
    model: SeriesModelConfig = section(SeriesModelConfig, prefix="")
    train: TrainConfig = section(lambda: TrainConfig(epochs=60.0), prefix="")


def read_labelled_series(cfg: SeriesClassifyDataConfig, path: str, labels: bool = True,
                         value_cols: list[str] | None = None) -> SeriesData:
    """Series read as ``cfg`` says; ``labels=False``: the labels may be missing (prediction);
    ``value_cols`` overrides ``cfg.value_cols``."""
    d = read_series(path, cfg.format, value_cols=value_cols or cols(cfg.value_cols),
                    id_col=cfg.id_col or None, time_col=cfg.time_col or None,
                    label_col=cfg.label_col or None, missing=cfg.missing,
                    labels_optional=not labels)
    if labels and d.labels is None:
        raise DataError("no class labels (a .ts file needs '@classLabel true ...', an .npz "
                        "an array 'y', a CSV a --label-col)", path=path)
    return d


def label_ids(labels: LabelVocab, d: SeriesData) -> list[int]:
    return [labels.index(lab, d.path, line or None) for lab, line in zip(d.labels, d.lines)]


def prepare(s: SeriesClassifySettings, run: Path | None) -> Prepared:
    data = s.data
    data.validate()
    tr, dev = train_dev(read_labelled_series, data, s.train.seed)
    labels = (LabelVocab.build(tr.labels) if run is None
              else LabelVocab.load(run / "labels.json"))
    if len(labels) < 2:
        raise DataError("only one class label in the training data", path=data.data)
    y_train, y_dev = label_ids(labels, tr), label_ids(labels, dev)
    norm, x_train, x_dev = normalized(data, tr, dev, run)
    s.model.input_size, s.model.num_outputs = tr.num_features, len(labels)
    task = SeriesClassifyTask(x_train, y_train, x_dev, y_dev, labels.itos, data.batch_size,
                              s.train.seed)
    return Prepared(task, data.data, {"labels.json": labels, "normalizer.json": norm},
                    info={"labels": labels.itos, "features": tr.features},
                    sizes={"train": len(tr), "dev": len(dev)},
                    title=f"{s.model.encoder.cell} series classifier",
                    state=(x_dev, y_dev, labels))


def report(model: SeriesClassifier, s: SeriesClassifySettings, prepared: Prepared,
           run: Path) -> None:
    x_dev, y_dev, labels = prepared.state
    rep = classification_report(y_dev, predict_series(model, x_dev).argmax(1).tolist(),
                                labels.itos)
    save_dev_report(run, rep, f"validation: accuracy {rep['accuracy']:.4f}, "
                    f"macro-F1 {rep['macro_f1']:.4f}")


class LoadedSeriesClassifier(LoadedLabelledSeries):
    _reader = staticmethod(read_labelled_series)
    task = "series-classify"

    def predict_proba(self, d: SeriesData, batch_size: int = 128):
        """Class probabilities (N, C), the series normalised with the training statistics."""
        return predict_series(self.model, self.normalized(d), batch_size)

    def predict(self, d: SeriesData, batch_size: int = 128) -> list[tuple[str, float]]:
        """(label, probability) of the most likely class of every series."""
        p, k = self.predict_proba(d, batch_size).max(1)
        return [(self.labels.itos[i], float(q)) for i, q in zip(k.tolist(), p.tolist())]

    def evaluate(self, path: str | Path, batch_size: int = 128) -> dict:
        """Classification report on a labelled file read like the training data, normalised
        with the training statistics."""
        d = self.read(path)
        g = GoldLabels(self.labels.itos)
        gold = [g.id(lab) for lab in d.labels]
        probs = self.predict_proba(d, batch_size)
        return g.note(classification_report(gold, probs.argmax(1).tolist(), g.names))


def describe(s: SeriesClassifySettings) -> str:
    e = s.model.encoder
    return f"{e.layers}x{e.hidden} {e.cell} series classifier on {s.data.data}"


def build_model(s: SeriesClassifySettings) -> SeriesClassifier:
    return SeriesClassifier(s.model)
