"""What a task declares once: :class:`TaskSpec`, and what its data preparation returns.

A task (language model, classifier, tagger, forecaster...) is a package under
:mod:`rnnkit.tasks` whose ``TASK`` is a :class:`TaskSpec`. The generic path in
:mod:`rnnkit.tasks.lifecycle` trains, resumes, loads and evaluates every task through it; the
catalogue in :mod:`rnnkit.tasks.registry` lists them (one line per task). A task supplies:

* ``config``: its root configuration dataclass, with the sections ``data``, ``model`` and
  ``train`` (every default lives there: the CLI and library calls read the same ones);
* ``build_model(settings)``: the ``nn.Module`` (from ``settings.model``, usually);
* ``prepare(config, run)``: read the data, build (or, resuming, reload from ``run``) the
  vocabularies and other artifacts, fill the model config's sizes, and return a
  :class:`Prepared` holding the training :class:`~rnnkit.train.task.Task`;
* ``report(model, config, prepared, run)``: what it writes after training (validation
  report, plots), with the best weights loaded;
* ``loaded``: the class of a trained run, a :class:`LoadedRun` whose ``open`` reads its
  artifacts and whose methods predict, sample, translate, forecast and evaluate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from torch import nn

from ..train.task import Task


@dataclass
class Prepared:
    """A task's data, ready for the generic train path."""

    task: Task  # batches, the loss and the validation metrics for the training loop
    source: str  # what was read (a path, "built-in corpus"...)
    artifacts: dict[str, Any] = field(default_factory=dict)  # {"vocab.json": vocab}: .save(p)
    info: dict[str, Any] = field(default_factory=dict)  # more keys of config.json ("labels")
    sizes: dict[str, Any] = field(default_factory=dict)  # config.json "sizes"
    title: str = ""  # the loss plot's title
    # After the model is built (seeded), e.g. to load pretrained vectors: more sizes.
    init_model: Callable[[nn.Module], dict] | None = None
    # Before the training loop, also on a resume (e.g. LM pretraining of the encoder), with
    # the run folder and the progress callbacks: None or a summary ({"stopped":
    # "interrupted"} stops the run there).
    before_training: Callable[[nn.Module, Path, list], dict | None] | None = None
    state: Any = None  # what the task's report needs (its validation data, vocabularies)


def _same(saved: dict) -> dict:
    return saved


def _nothing(config: Any) -> None:
    return None


@dataclass(frozen=True)
class TaskSpec:
    """One task, declared once (see the module docstring)."""

    name: str  # the run's "task" in config.json, and `rnnkit train NAME`
    help: str  # one line for `rnnkit train --help`
    description: str  # the paragraph of `rnnkit train NAME --help`
    config: type  # root config dataclass: data, model, train sections
    build_model: Callable[[Any], nn.Module]
    prepare: Callable[[Any, Path | None], Prepared]
    loaded: type  # a LoadedRun subclass
    report: Callable[[nn.Module, Any, Prepared, Path], None] | None = None
    # Saved config.json of an older release -> today's layout (renamed or nested fields).
    upgrade: Callable[[dict], dict] = _same
    # Defaults that depend on other settings (e.g. a budget per kind of data); validation.
    finalize: Callable[[Any], None] = _nothing
    describe: Callable[[Any], str] = lambda c: "model"  # "1x512 lstm language model"
    unit: str = "items"  # what the progress line counts per second (tok, seq, frame, win)
    aliases: tuple[str, ...] = ()  # older names of the task in config.json
    hidden_options: tuple[str, ...] = ()  # dotted config paths that are not CLI options
    cli: ModuleType | None = None  # the task's command-line side (see rnnkit.cli.train_cmd)

    def default_config(self) -> Any:
        return self.config()


@dataclass
class LoadedRun:
    """A trained run: its model (eval mode), settings and artifacts.

    ``settings`` is the run's root configuration dataclass, ``config`` the ``config.json``
    dict as saved (with what was measured: sizes, labels...)."""

    run: Path
    model: nn.Module
    settings: Any
    config: dict

    task: ClassVar[str] = ""

    @classmethod
    def open(cls, run: Path, model: nn.Module, settings: Any, config: dict) -> LoadedRun:
        """Read the run's artifacts (vocabularies, labels...) next to its model."""
        return cls(run, model, settings, config)

    @property
    def data(self) -> Any:
        """How the training data were read (the ``data`` section of the settings)."""
        return self.settings.data

    def evaluate(self, path: str | Path, **options) -> dict:
        """Metrics of the model on a file read like its training data."""
        raise TypeError(f"a {self.task!r} run is not evaluated on a file")
