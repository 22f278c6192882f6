"""The catalogue of tasks: one line per task. A run folder's ``config.json`` names its task;
everything that trains, loads, evaluates or serves a run finds the task here.

>>> names()[:4], len(names())
(['lm', 'classify', 'tag', 'series-classify'], 9)
>>> get("lm").config.__name__
'LMSettings'
>>> get("lstm")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rnnkit.tasks.registry.UnknownTask: unknown task 'lstm'; the tasks are lm, classify, tag, ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..train.run import read_config
from . import lifecycle
from .classify import TASK as CLASSIFY
from .generate import TASK as GENERATE
from .lm import TASK as LM
from .longlag import TASK as LONGLAG
from .seq2seq import TASK as SEQ2SEQ
from .series import CLASSIFY as SERIES_CLASSIFY
from .series import FORECAST
from .series import TAG as SERIES_TAG
from .spec import LoadedRun, TaskSpec
from .tag import TASK as TAG

TASKS: tuple[TaskSpec, ...] = (
    LM, CLASSIFY, TAG, SERIES_CLASSIFY, SERIES_TAG, FORECAST, SEQ2SEQ, GENERATE, LONGLAG,
)


class UnknownTask(ValueError):
    """A task name (or a run folder's task) that no registered task answers to."""


def names() -> list[str]:
    return [t.name for t in TASKS]


def get(name: str) -> TaskSpec:
    """The task called ``name`` (or one of its older names)."""
    for t in TASKS:
        if name == t.name or name in t.aliases:
            return t
    raise UnknownTask(f"unknown task {name!r}; the tasks are {', '.join(names())}")


def of_run(run: str | Path) -> tuple[TaskSpec, dict]:
    """The task of a run folder and its ``config.json``."""
    saved = read_config(run)
    name = saved.get("task")
    if name is None:
        raise UnknownTask(f"{run}: config.json names no task")
    try:
        return get(name), saved
    except UnknownTask:
        raise UnknownTask(f"{run}: a run of task {name!r}, which this rnnkit does not know "
                          f"(the tasks are {', '.join(names())})") from None


def load(run: str | Path, which: str = "best", device: str = "auto") -> LoadedRun:
    """Any trained run folder: its model (eval mode, best or ``last`` weights, on ``device``:
    ``auto`` is a GPU when there is one), settings and artifacts, with its task's predict /
    sample / translate / forecast / evaluate methods."""
    spec, saved = of_run(run)
    return lifecycle.load(spec, run, which, saved, device)


def train(task: str | TaskSpec, settings: Any = None, *, out: str | Path = "runs",
          resume: str | Path | None = None,
          callbacks: list[Callable[[str, dict], None]] | None = None,
          device: str = "auto", **overrides: Mapping[str, Any]) -> Path:
    """Train a model of ``task`` and return its run folder.

    ``settings``: the task's settings dataclass (or a nested dict; default: its defaults);
    section overrides as keywords, e.g. ``train("lm", data={"data": "input.txt"},
    train={"steps": 100})``. ``resume``: continue that run folder. ``device``: ``auto`` (a GPU
    when there is one), ``cpu``, ``cuda[:N]``."""
    spec = task if isinstance(task, TaskSpec) else get(task)
    return lifecycle.train(spec, settings, out=out, resume=resume, callbacks=callbacks,
                           overrides=overrides or None, device=device)
