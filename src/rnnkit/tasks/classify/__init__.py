"""Sequence classification (many-to-one): a (bi)directional recurrent encoder, pooling and an
optional NB n-gram branch whose probabilities are averaged in."""

from ..spec import TaskSpec
from . import cli
from .branch import choose_ngram_weight, combine
from .data import ClassifyDataConfig
from .model import Classifier, ClassifierConfig, ClassifyTask, predict_proba
from .ngram import NgramConfig, NgramModel
from .task import (
    ClassifySettings,
    LoadedClassifier,
    build_model,
    describe,
    prepare,
    report,
    upgrade,
)

TASK = TaskSpec(
    name="classify", help="sequence classifier (many-to-one): text -> label",
    description="Train a (bi)directional recurrent classifier on labelled texts: a CSV, TSV or "
    "JSONL file with chosen text and label columns, or a folder with one file of examples per "
    "label (e.g. rt-polarity.pos / rt-polarity.neg). Numeric series (--data ending in .ts, "
    ".npy, .npz, .parquet or .pq; --format ts|npy|npz|parquet|wide; or --id-col, --time-col or "
    "--value-cols given) are classified by `rnnkit train series-classify` instead: see its "
    "--help for its options.",
    config=ClassifySettings, build_model=build_model, prepare=prepare, report=report,
    loaded=LoadedClassifier, upgrade=upgrade, describe=describe, unit="seq", cli=cli)

__all__ = ["TASK", "Classifier", "ClassifierConfig", "ClassifyDataConfig", "ClassifySettings",
           "ClassifyTask", "LoadedClassifier", "NgramConfig", "NgramModel",
           "choose_ngram_weight", "combine", "predict_proba"]
