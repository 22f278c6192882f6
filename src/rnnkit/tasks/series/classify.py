"""Classification of numeric series (many-to-one): (T, F) -> label
(``rnnkit train series-classify``, and ``rnnkit train classify`` on series files).

The run folder holds ``normalizer.json``, ``labels.json``, ``dev_report.json`` and
``confusion.png`` (and ``test_report.json`` with ``--test``); with the random-convolution
branch (``rocket.weight != 0``, the default), ``rocket.safetensors`` and ``rocket.json``
(:mod:`.branch`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ...config import section
from ...data.errors import DataError
from ...data.series import SeriesData, read_series
from ...data.tokens import LabelVocab
from ...train.loop import TrainConfig
from ..common.branch_files import missing_branch
from ..common.metrics import GoldLabels, classification_report, save_dev_report
from ..common.mixing import combine
from ..spec import Prepared
from .branch import MODEL_FILE as ROCKET_FILE
from .branch import RocketBranch, train_rocket_branch
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
                    state=(x_train, y_train, x_dev, y_dev, labels))


def report(model: SeriesClassifier, s: SeriesClassifySettings, prepared: Prepared,
           run: Path) -> None:
    """The validation report (with the rocket branch fitted, its weight chosen and saved)."""
    x_train, y_train, x_dev, y_dev, labels = prepared.state
    probs = predict_series(model, x_dev)
    parts = None
    if s.model.rocket.weight:
        probs, parts = train_rocket_branch(run, s.model.rocket, len(labels), x_train, y_train,
                                           x_dev, y_dev, probs, s.train.seed)
    rep = classification_report(y_dev, probs.argmax(1).tolist(), labels.itos)
    title = f"validation: accuracy {rep['accuracy']:.4f}"
    if parts is not None:
        rep["components"] = parts
        title += (f" (recurrent {parts['rnn_accuracy']:.4f}, rocket "
                  f"{parts['rocket_accuracy']:.4f}, rocket weight {parts['rocket_weight']:g})")
    save_dev_report(run, rep, title + f", macro-F1 {rep['macro_f1']:.4f}")


@dataclass
class LoadedSeriesClassifier(LoadedLabelledSeries):
    """A trained series classifier; ``rocket``: its random-convolution branch (or None)."""

    rocket: RocketBranch | None = field(default=None)
    _reader = staticmethod(read_labelled_series)
    task = "series-classify"

    @classmethod
    def open(cls, run, model, settings, config):
        loaded = super().open(run, model, settings, config)
        if settings.model.rocket.weight:
            if not RocketBranch.exists(run):
                raise missing_branch(run, "rocket", settings.model.rocket.weight, ROCKET_FILE)
            loaded.rocket = RocketBranch.load(run)
        return loaded

    def component_proba(self, d: SeriesData, batch_size: int = 128) -> dict:
        """``{"rnn": (N, C)}`` and, with the rocket branch, ``"rocket": (N, C)``."""
        x = self.normalized(d)
        out = {"rnn": predict_series(self.model, x, batch_size)}
        if self.rocket is not None:
            out["rocket"] = self.rocket.proba(x)
        return out

    def predict_proba(self, d: SeriesData, batch_size: int = 128):
        """Class probabilities (N, C), the series normalised with the training statistics:
        the recurrent model's, or with the rocket branch, their mixture."""
        parts = self.component_proba(d, batch_size)
        if self.rocket is None:
            return parts["rnn"]
        return combine(parts["rnn"], parts["rocket"], self.rocket.mix_weight)

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


def upgrade(saved: dict) -> dict:
    """Runs saved before the rocket branch have none."""
    saved.setdefault("model", {}).setdefault("rocket", {"weight": 0.0})
    return saved


def describe(s: SeriesClassifySettings) -> str:
    e = s.model.encoder
    return f"{e.layers}x{e.hidden} {e.cell} series classifier on {s.data.data}"


def build_model(s: SeriesClassifySettings) -> SeriesClassifier:
    return SeriesClassifier(s.model)
