"""The files of a classifier's second branch (the n-gram model, the random-convolution ridge):
its settings as JSON and its tensors as safetensors, written so that a reader never sees half
of them."""

from __future__ import annotations

import json
from pathlib import Path

from torch import Tensor


def save_branch(folder: str | Path, meta_file: str, meta: dict, model_file: str,
                tensors: dict[str, Tensor]) -> None:
    """The JSON first, then the tensors through a temporary name: ``model_file`` exists (what
    the branches' ``exists()`` checks) only once both files are complete."""
    from safetensors.torch import save_file  # the text extra, like the checkpoints

    folder = Path(folder)
    (folder / meta_file).write_text(json.dumps(meta))
    tmp = folder / f".{model_file}.tmp"
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    tmp.replace(folder / model_file)


def load_branch(folder: str | Path, meta_file: str, model_file: str
                ) -> tuple[dict, dict[str, Tensor]]:
    """(settings, tensors) written by :func:`save_branch`."""
    from safetensors.torch import load_file

    folder = Path(folder)
    return json.loads((folder / meta_file).read_text()), load_file(str(folder / model_file))


def missing_branch(run: str | Path, what: str, weight: float, model_file: str
                   ) -> FileNotFoundError:
    """The error of a run whose settings have a branch (``what``: "n-gram") but whose folder
    lacks its file: its training stopped before the branch was fitted."""
    return FileNotFoundError(
        f"{run}: the run has a{'n' if what[0] in 'aeino' else ''} {what} branch ({what} weight "
        f"{weight:g}) but no {model_file}: its training did not finish; continue it with "
        "--resume")
