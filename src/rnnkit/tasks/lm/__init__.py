"""Language modelling (many-to-many, next step): train with truncated BPTT, sample, evaluate."""

from ..spec import TaskSpec
from . import cli
from .model import LanguageModel, LMConfig, LMTask, evaluate_lm, lm_metrics, sample_text
from .task import (
    LMDataConfig,
    LMSettings,
    LoadedLM,
    build_model,
    describe,
    load_texts,
    prepare,
    upgrade,
)

TASK = TaskSpec(
    name="lm", help="character / word / BPE language model",
    description="Train a language model with truncated BPTT and sample from it. Without --data "
    "it trains on the built-in corpus: the docstrings of the Python standard library.",
    config=LMSettings, build_model=build_model, prepare=prepare, loaded=LoadedLM,
    upgrade=upgrade, describe=describe, unit="tok",
    hidden_options=("model.encoder.bidirectional",), cli=cli)

__all__ = ["TASK", "LanguageModel", "LMConfig", "LMDataConfig", "LMSettings", "LMTask",
           "LoadedLM", "evaluate_lm", "lm_metrics", "load_texts", "sample_text"]
