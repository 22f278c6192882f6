"""One-to-many generation: a condition vector (a label's embedding, or an image through a
small CNN) starts the sequence and is fed to every step."""

from ..spec import TaskSpec
from . import cli
from .data import DIGITS, GenerateDataConfig, GenerationData, prepare_data
from .model import GenerateTask, Generator, GeneratorConfig
from .sampling import Condition, Generated, format_generated, resolve_condition, sample
from .task import (
    GenerateSettings,
    LoadedGenerator,
    build_model,
    describe,
    finalize,
    prepare,
    report,
)

TASK = TaskSpec(
    name="generate",
    help="conditioned generator (one-to-many): label or image -> sequence",
    description="Train a generator whose initial state (and every step's input) comes from one "
    "condition vector: a label's embedding (--data FOLDER: one file of texts per label, e.g. "
    "names per language, or a CSV/TSV/JSONL file with text and label columns), or an image "
    "through a small CNN (--data digits: built-in captioning of rows of handwritten digits, "
    "held-out test images). Sample with `rnnkit sample RUN --condition ...`.",
    config=GenerateSettings, build_model=build_model, prepare=prepare, report=report,
    loaded=LoadedGenerator, finalize=finalize, describe=describe, unit="tok",
    hidden_options=("model.encoder.bidirectional",), cli=cli)

__all__ = ["DIGITS", "TASK", "Condition", "GenerateDataConfig", "GenerateSettings",
           "GenerateTask", "Generated", "GenerationData", "Generator", "GeneratorConfig",
           "LoadedGenerator", "format_generated", "prepare_data", "resolve_condition", "sample"]
