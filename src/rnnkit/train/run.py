"""Run folders: everything a training run writes, in one place.

    RUN/
      config.json            the resolved configuration (every default filled in)
      vocab.json             the vocabulary (text tasks)
      checkpoints/last.safetensors, checkpoints/best.safetensors
      log.csv                training and validation rows; tensorboard/ when installed
      loss.png               loss curves
      summary.json           final metrics
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError

log = logging.getLogger(__name__)


def new_run_dir(root: str | Path, name: str) -> Path:
    """A fresh folder ``root/name-YYYYmmdd-HHMMSS`` (suffixed if it exists)."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path(root) / f"{name}-{stamp}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    path.mkdir(parents=True)
    return path


def _fresh(path: Path) -> Path:
    """``path`` created for a new run; an existing run there is an error, not overwritten."""
    if (path / "config.json").exists():
        raise CheckpointError(f"{path}: already holds a run (config.json); resume it or choose "
                              "another folder")
    path.mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, obj: Any) -> None:
    """Atomic JSON write."""
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def read_config(run: str | Path) -> dict:
    run = Path(run)
    cfg = run / "config.json"
    if not cfg.is_file():
        raise CheckpointError(f"{run}: not a run folder (no config.json)")
    try:
        return json.loads(cfg.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"{cfg}:{e.lineno}: malformed JSON: {e.msg}") from None


def checkpoint_path(run: str | Path, which: str = "best") -> Path:
    """The run's ``best`` (falling back to ``last``) or ``last`` checkpoint."""
    run = Path(run)
    order = ["best", "last"] if which == "best" else [which]
    for name in order:
        p = run / "checkpoints" / f"{name}.safetensors"
        if p.is_file():
            return p
    raise CheckpointError(f"{run}: no checkpoint found in {run / 'checkpoints'}")


def require_task(run: str | Path, cfg: dict, *tasks: str) -> None:
    """Raise when the run folder holds another task's model."""
    if cfg.get("task") not in tasks:
        from ..data.errors import DataError

        want = " or ".join(repr(t) for t in tasks)
        raise DataError(f"{run}: a {cfg.get('task')!r} run, not a {want} run")


def resume_trainer(trainer, run: str | Path) -> None:
    """Continue ``trainer`` from the run's last checkpoint; a run killed before its first
    checkpoint starts over (its log rows are dropped)."""
    last = Path(run) / "checkpoints" / "last.safetensors"
    if last.is_file():
        trainer.resume(last)
    elif trainer.log is not None:
        trainer.log.truncate_after(0)


def load_weights(model, run: str | Path, which: str = "best") -> Path:
    """Load the run's ``best`` (or ``last``) checkpoint into ``model``; returns its path."""
    from .checkpoint import load_checkpoint

    path = checkpoint_path(run, which)
    ck = load_checkpoint(path)
    try:
        model.load_state_dict(ck["model"])
    except RuntimeError as e:
        raise CheckpointError(f"{path}: checkpoint does not fit the model in "
                              f"{Path(run) / 'config.json'}: {e}") from None
    return path


def finish_run(trainer, run: str | Path, title: str = "") -> dict:
    """Train to the end of the budget, then write ``summary.json`` and ``loss.png`` (process 0
    of many)."""
    from .logs import plot_losses

    run = Path(run)
    summary = trainer.fit()
    if trainer.dist.is_main:
        write_json(run / "summary.json", summary)
        plot_losses(run / "log.csv", run / "loss.png", title=title)
    return summary


def open_run(resolved: dict, *, out: str | Path, name: str,
             artifacts: dict[str, Any] | None = None, run_dir: str | Path | None = None) -> Path:
    """A new run folder (a fresh ``out/name-DATE-TIME``, or exactly ``run_dir``) holding
    ``config.json`` and each ``artifacts`` file, e.g. ``{"vocab.json": vocab}``, written with
    the object's ``save(path)``."""
    run = new_run_dir(out, name) if run_dir is None else _fresh(Path(run_dir))
    write_json(run / "config.json", resolved)
    for filename, obj in (artifacts or {}).items():
        obj.save(run / filename)
    return run


def train_in_run(model, task, train, resolved: dict, run: Path, *, resumed: bool,
                 callbacks=None, title: str = "", prepare=None, device=None,
                 dist=None) -> dict:
    """Train ``model`` in the run folder ``run`` (made by :func:`open_run`, or resumed)
    through the one :class:`~rnnkit.train.loop.Trainer`, from its last checkpoint when
    ``resumed``; write ``summary.json`` and ``loss.png``. Returns the summary.

    ``prepare(run)``, when given, runs first (also on a resume), e.g. to pretrain the model's
    encoder; when it returns a summary that says ``"stopped": "interrupted"``, the run stops
    there as interrupted (a resume calls ``prepare`` again)."""
    from .loop import Trainer

    if prepare is not None:
        before = prepare(run)
        if before and before.get("stopped") == "interrupted":
            summary = {"step": 0, "elapsed": 0.0, "stopped": "interrupted"}
            if dist is None or dist.is_main:
                write_json(run / "summary.json", summary)
            return summary
    trainer = Trainer(model, task, train, run, meta={"config": resolved}, callbacks=callbacks,
                      device=device, dist=dist)
    if resumed:
        resume_trainer(trainer, run)
    log.info("run folder %s", run)
    return finish_run(trainer, run, title=title)
