"""Sequence tagging (synchronous many-to-many): a bidirectional encoder over word (and char)
features with a softmax or CRF output layer."""

from ..spec import TaskSpec
from . import cli
from .crf import CRF
from .features import FeatureVocabs
from .model import Tagger, TaggerConfig, TagTask, make_batch, predict_tags
from .task import (
    LoadedTagger,
    TagDataConfig,
    TagEncoders,
    TagSettings,
    build_model,
    describe,
    prepare,
    report,
    upgrade,
)

TASK = TaskSpec(
    name="tag", help="sequence tagger (synchronous many-to-many): one tag per word",
    description="Train a bidirectional recurrent tagger (optionally with char-level word "
    "features and a CRF output layer) on CoNLL-U or whitespace-column files; the other columns "
    "of a file (POS tags of a chunking or NER file) are inputs too (--feature-cols). Numeric "
    "frames (--data ending in .csv, .npz, .parquet or .pq; --format csv|parquet|npz; or "
    "--series-col, --time-col, --label-col or --value-cols given) are labelled frame by frame by "
    "`rnnkit train series-tag` instead: see its --help for its options.",
    config=TagSettings, build_model=build_model, prepare=prepare, report=report,
    loaded=LoadedTagger, upgrade=upgrade, describe=describe, unit="tok", cli=cli)

__all__ = ["CRF", "TASK", "FeatureVocabs", "LoadedTagger", "TagDataConfig", "TagEncoders",
           "TagSettings", "TagTask", "Tagger", "TaggerConfig", "make_batch", "predict_tags"]
