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
from ..train.device import resolve_device
from ..train.distributed import Distributed
from ..train.loop import TrainConfig
from ..train.precision import resolve_precision
from ..train.run import load_weights, open_run, read_config, train_in_run, write_json
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


def _resolved(spec: TaskSpec, settings: Any, prepared, model, extra: dict) -> dict:
    sizes = dict(prepared.sizes)
    sizes["parameters"] = sum(p.numel() for p in model.parameters())
    return {"task": spec.name, "rnnkit": __version__, "source": prepared.source,
            **to_dict(settings), **prepared.info, **extra, "sizes": sizes}


def _paths(tree: Mapping[str, Any], where: str = "") -> list[str]:
    out = []
    for k, v in tree.items():
        path = f"{where}.{k}" if where else k
        out += _paths(v, path) if isinstance(v, Mapping) else [path]
    return out


def resumed_settings(spec: TaskSpec, run: str | Path,
                     overrides: Mapping[str, Any] | None = None) -> Any:
    """The settings a resumed run continues under: its saved ones, with a new budget where
    ``overrides`` give one (``{"train": {"steps": 200}}`` trains on to step 200). Any other
    override is a one-line error: a run's data, model and training settings do not change
    halfway (that would not be the run its checkpoints belong to)."""
    saved = read_config(run)
    check_task(spec, run, saved)
    settings = settings_from_saved(spec, saved, run)
    if not overrides:
        return settings
    train = dict(overrides.get("train", {}))
    budget = {k: train.pop(k) for k in TrainConfig.BUDGETS if k in train}
    other = _paths({**{k: v for k, v in overrides.items() if k != "train"}, "train": train})
    if other:
        raise ConfigError(f"{run}: a resumed run keeps its saved settings; only its budget "
                          f"(steps, minutes, epochs) can change, not {', '.join(other)}")
    settings.train = with_budget(settings.train, budget)
    settings.train.validate()
    return settings


def _settings_for(spec, settings, overrides, resume):
    if resume is None:
        return None, make_settings(spec, settings, overrides)
    return Path(resume), resumed_settings(spec, resume, overrides)


def _record_budget(run: Path, settings: Any) -> None:
    """A resumed run given a new budget: its config.json says so (a later resume, and
    anyone reading the folder, sees the budget it trains to)."""
    saved = read_config(run)
    train = to_dict(settings.train)
    if {k: saved["train"].get(k) for k in TrainConfig.BUDGETS} != \
            {k: train[k] for k in TrainConfig.BUDGETS}:
        write_json(run / "config.json", saved | {"train": saved["train"] | {
            k: train[k] for k in TrainConfig.BUDGETS}})


def train(spec: TaskSpec, settings: Any = None, *, out: str | Path = "runs",
          resume: str | Path | None = None,
          callbacks: list[Callable[[str, dict], None]] | None = None,
          overrides: Mapping[str, Any] | None = None,
          run_dir: str | Path | None = None, device: str | torch.device | None = "auto",
          dist: Distributed | None = None) -> Path:
    """Train a ``spec`` model and return its run folder.

    ``settings``: the root config (instance or nested dict; default: the task's defaults),
    ``overrides`` applied on top. ``resume``: continue that run folder under its own saved
    settings (``settings`` is then ignored, and ``overrides`` may only give a new budget:
    :func:`resumed_settings`; the device may differ from the one it was trained on).
    ``run_dir``: the new run's folder (default: a fresh ``out/NAME-DATE-TIME``).
    ``device``: ``auto`` (a GPU when there is one), ``cpu``, ``cuda[:N]``. Under
    ``torchrun`` every process calls this (``dist``: default from the environment);
    process 0 prepares the data and writes the run folder, the others read its artifacts
    back, so every process holds the same vocabularies."""
    dist = dist or Distributed.from_env()
    dev = resolve_device(device, dist.local_rank)
    dist.start(dev)
    resumed, settings = _settings_for(spec, settings, overrides, resume)
    spec.finalize(settings)
    settings.train.validate()
    run = resumed
    if resumed is not None:  # every process reads config.json after process 0 updated it
        if dist.is_main:
            _record_budget(resumed, settings)
        dist.barrier()
    if dist.is_main or resumed is not None:
        prepared, model = _prepare(spec, settings, resumed, dist)
    if resumed is None:  # process 0 writes the new run folder; the others read it back
        if dist.is_main:
            extra = {"world_size": dist.world, "device": str(dev),  # what "auto" became
                     "precision": resolve_precision(settings.train.precision, dev)}
            resolved = _resolved(spec, settings, prepared, model, extra)
            run = open_run(resolved, out=out, name=spec.name, artifacts=prepared.artifacts,
                           run_dir=run_dir)
        run = Path(dist.broadcast(None if run is None else str(run)))
        if not dist.is_main:
            prepared, model = _prepare(spec, settings, run, dist)
    resolved = read_config(run) if resumed is not None or not dist.is_main else resolved
    before = None
    if prepared.before_training is not None:
        def before(folder: Path) -> dict | None:
            return prepared.before_training(model, folder, callbacks or [])

    summary = train_in_run(model, prepared.task, settings.train, resolved, run,
                           resumed=resumed is not None, callbacks=callbacks,
                           title=prepared.title, prepare=before, device=dev, dist=dist)
    if summary["stopped"] != "interrupted" and spec.report is not None and dist.is_main:
        load_weights(model, run, "best")
        model.eval()
        spec.report(model, settings, prepared, run)
    dist.barrier()
    return run


def _prepare(spec: TaskSpec, settings: Any, run: Path | None, dist: Distributed):
    """The task's data (artifacts read from ``run`` when given) and its seeded model."""
    torch.manual_seed(settings.train.seed)
    prepared = spec.prepare(settings, run)
    check = getattr(prepared.task, "check_shard", None)
    if check is not None:
        check(dist.shard)  # a global batch the processes cannot share: say so before training
    torch.manual_seed(settings.train.seed)
    model = spec.build_model(settings)
    if prepared.init_model is not None and run is None:
        prepared.sizes.update(prepared.init_model(model) or {})
    return prepared, model


def load(spec: TaskSpec, run: str | Path, which: str = "best",
         saved: dict | None = None, device: str | torch.device | None = "auto") -> LoadedRun:
    """A trained ``spec`` run: model (eval mode, on ``device``) with its best (or ``last``)
    weights, its settings and artifacts."""
    run = Path(run)
    saved = read_config(run) if saved is None else saved
    check_task(spec, run, saved)
    settings = settings_from_saved(spec, saved, run)
    model = spec.build_model(settings)
    load_weights(model, run, which)
    model.to(resolve_device(device))
    model.eval()
    return spec.loaded.open(run, model, settings, saved)
