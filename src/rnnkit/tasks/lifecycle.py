"""The one run lifecycle every task goes through: train, resume, load.

    train:  settings (defaults <- overrides) -> finalize -> prepare data -> seed -> model
            -> config.json + artifacts -> the one training loop -> best weights -> report
    resume: the run's config.json (upgraded) replaces the settings; the artifacts are read
            back instead of rebuilt; training continues from the last checkpoint
    load:   config.json -> settings -> model -> best (or last) weights -> eval mode
            -> the task's LoadedRun (artifacts)

A task declares what differs in its :class:`~rnnkit.tasks.spec.TaskSpec`; this module holds
what does not. :mod:`rnnkit.tasks.registry` finds the spec of a run folder by its name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from .._version import __version__
from ..config import ConfigError, from_dict, merge, to_dict
from ..train.loop import TrainConfig
from ..train.run import load_weights, read_config, train_in_run
from .spec import LoadedRun, TaskSpec

log = logging.getLogger(__name__)

# config.json keys that are not settings (what the run measured and recorded).
SECTIONS = ("data", "model", "train")


class TaskMismatch(ValueError):
    """A run folder of another task than the one asked for."""


def check_task(spec: TaskSpec, run: str | Path, saved: dict) -> None:
    """Raise a one-line error when ``saved`` (a run's config.json) is not ``spec``'s task."""
    found = saved.get("task")
    if found == spec.name or found in spec.aliases:
        return
    if found is None:
        raise TaskMismatch(f"{run}: config.json names no task; not a {spec.name!r} run")
    raise TaskMismatch(f"{run}: a {found!r} run, not a {spec.name!r} run (continue it with "
                       f"`rnnkit train {found} --resume {run}`)")


def settings_from_saved(spec: TaskSpec, saved: dict, run: str | Path = "") -> Any:
    """The root configuration of a saved run (its ``config.json``, upgraded)."""
    saved = spec.upgrade(dict(saved))
    try:
        return from_dict(spec.config, {k: saved[k] for k in SECTIONS if k in saved})
    except ConfigError as e:
        raise ConfigError(f"{Path(run) / 'config.json'}: {e}") from None


def with_budget(train: TrainConfig, overrides: Mapping[str, Any]) -> TrainConfig:
    """A budget given among ``overrides`` replaces the default one: ``--steps 60`` means 60
    steps, not 60 steps or the default minutes, whichever comes first."""
    given = [k for k in TrainConfig.BUDGETS if k in overrides]
    if not given:
        return train
    return merge(train, {k: overrides.get(k) for k in TrainConfig.BUDGETS})


def make_settings(spec: TaskSpec, settings: Any = None,
                  overrides: Mapping[str, Any] | None = None) -> Any:
    """``settings`` (default: the task's defaults) with nested ``overrides`` applied."""
    base = spec.default_config() if settings is None else settings
    if isinstance(base, Mapping):
        base = from_dict(spec.config, base)
    if not isinstance(base, spec.config):
        raise TypeError(f"the settings of a {spec.name!r} run are a {spec.config.__name__}, "
                        f"got {type(base).__name__}")
    if not overrides:
        return base
    out = merge(base, overrides)
    if "train" in overrides:
        out.train = with_budget(out.train, overrides["train"])
    return out


def _resolved(spec: TaskSpec, settings: Any, prepared, model) -> dict:
    sizes = dict(prepared.sizes)
    sizes["parameters"] = sum(p.numel() for p in model.parameters())
    return {"task": spec.name, "rnnkit": __version__, "source": prepared.source,
            **to_dict(settings), **prepared.info, "sizes": sizes}


def train(spec: TaskSpec, settings: Any = None, *, out: str | Path = "runs",
          resume: str | Path | None = None,
          callbacks: list[Callable[[str, dict], None]] | None = None,
          overrides: Mapping[str, Any] | None = None,
          run_dir: str | Path | None = None) -> Path:
    """Train a ``spec`` model and return its run folder.

    ``settings``: the root config (instance or nested dict; default: the task's defaults),
    ``overrides`` applied on top. ``resume``: continue that run folder under its own saved
    settings (``settings`` and ``overrides`` are then ignored). ``run_dir``: the new run's
    folder (default: a fresh ``out/NAME-DATE-TIME``)."""
    if resume is not None:
        resumed: Path | None = Path(resume)
        saved = read_config(resumed)
        check_task(spec, resumed, saved)
        settings = settings_from_saved(spec, saved, resumed)
    else:
        resumed = None
        settings = make_settings(spec, settings, overrides)
    spec.finalize(settings)
    settings.train.validate()
    torch.manual_seed(settings.train.seed)
    prepared = spec.prepare(settings, resumed)
    torch.manual_seed(settings.train.seed)
    model = spec.build_model(settings)
    if prepared.init_model is not None and resumed is None:
        prepared.sizes.update(prepared.init_model(model) or {})
    resolved = _resolved(spec, settings, prepared, model)
    before = None
    if prepared.before_training is not None:
        def before(run: Path) -> dict | None:
            return prepared.before_training(model, run, callbacks or [])

    # Only now that data and model are known to be good is anything written.
    run, summary = train_in_run(model, prepared.task, settings.train, resolved, out=out,
                                name=spec.name, resume=resume, artifacts=prepared.artifacts,
                                callbacks=callbacks, title=prepared.title, prepare=before,
                                run_dir=run_dir)
    if summary["stopped"] != "interrupted" and spec.report is not None:
        load_weights(model, run, "best")
        model.eval()
        spec.report(model, settings, prepared, run)
    return run


def load(spec: TaskSpec, run: str | Path, which: str = "best",
         saved: dict | None = None) -> LoadedRun:
    """A trained ``spec`` run: model (eval mode) with its best (or ``last``) weights, its
    settings and artifacts."""
    run = Path(run)
    saved = read_config(run) if saved is None else saved
    check_task(spec, run, saved)
    settings = settings_from_saved(spec, saved, run)
    model = spec.build_model(settings)
    load_weights(model, run, which)
    model.eval()
    return spec.loaded.open(run, model, settings, saved)
