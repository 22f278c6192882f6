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
import os
import time
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError


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
