"""What every estimator shares: parameters named like the command line's options, a ``fit``
that writes the Python data as files the task's readers read and trains through the one
generic path, ``save`` (a normal run folder) and scikit-learn's parameter protocol."""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from ..config import nest, options
from ..tasks import lifecycle, registry
from ..tasks.spec import LoadedRun

log = logging.getLogger(__name__)


def _option_paths(task: str) -> dict[str, tuple[str, ...]]:
    """Parameter name (the option's flag with underscores: ``hidden``, ``ngram_weight``,
    ``epochs``) -> the settings path it sets."""
    spec = registry.get(task)
    return {o.flag[2:].replace("-", "_"): o.path
            for o in options(spec.default_config(), spec.hidden_options)}


class NotFittedError(ValueError, AttributeError):
    """The estimator is used before ``fit`` (as scikit-learn's)."""


class Estimator:
    """Base class. ``Estimator(**params)``: any option of ``rnnkit train TASK`` by its name
    (``hidden=64``, ``epochs=3``, ``lr=1e-3``...), plus ``device`` (``auto``, ``cpu``,
    ``cuda[:N]``) and ``out`` (where run folders go; default: a temporary folder kept as long
    as the estimator). After ``fit``: ``run_`` (the run folder) and ``model_`` (the loaded
    run: :func:`rnnkit.load`'s result)."""

    task: str = ""
    _KEYWORDS = ("device", "out", "verbose")

    def __init__(self, **params: Any):
        self._params: dict[str, Any] = {}
        self.set_params(**params)

    # scikit-learn's parameter protocol -------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return dict(self._params)

    def set_params(self, **params: Any) -> Estimator:
        known = _option_paths(self.task)
        bad = [k for k in params if k not in known and k not in self._KEYWORDS]
        if bad:
            raise ValueError(f"{type(self).__name__}: unknown parameter {bad[0]!r}; the "
                             f"parameters are the options of `rnnkit train {self.task}` "
                             f"(e.g. {', '.join(list(known)[:6])}) and "
                             f"{', '.join(self._KEYWORDS)}")
        self._params.update(params)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._params.items())
        return f"{type(self).__name__}({args})"

    # Training --------------------------------------------------------------------------------
    def settings_overrides(self, data: dict[str, Any]) -> dict[str, Any]:
        """The nested settings overrides: the parameters given, then ``data`` (the files
        ``fit`` wrote)."""
        known = _option_paths(self.task)
        flat = {known[k]: v for k, v in self._params.items() if k in known}
        over = nest(flat)
        over.setdefault("data", {}).update(data)
        return over

    def _workspace(self) -> Path:
        if getattr(self, "_tmp", None) is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"rnnkit-{self.task}-")
        return Path(self._tmp.name)

    def _train(self, data: dict[str, Any]) -> Estimator:
        spec = registry.get(self.task)
        out = Path(self._params.get("out") or self._workspace() / "runs")
        callbacks = []
        if self._params.get("verbose"):
            from ..cli.progress import Progress

            callbacks.append(Progress(unit=spec.unit))
        device = self._params.get("device", "auto")
        self.run_ = lifecycle.train(spec, None, out=out, callbacks=callbacks, device=device,
                                    overrides=self.settings_overrides(data))
        self.model_: LoadedRun = lifecycle.load(spec, self.run_, device=device)
        log.info("%s: trained %s", type(self).__name__, self.run_)
        return self

    def data_dir(self) -> Path:
        """A fresh folder for the files of one ``fit``."""
        d = Path(tempfile.mkdtemp(prefix="data-", dir=self._workspace()))
        return d

    def _check_fitted(self) -> LoadedRun:
        m = getattr(self, "model_", None)
        if m is None:
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet: call fit(...)")
        return m

    def save(self, path: str | Path) -> Path:
        """Copy the trained run folder to ``path`` (a new folder); ``rnnkit.load(path)``
        reads it back, as ``rnnkit predict PATH`` and the other commands do."""
        self._check_fitted()
        path = Path(path)
        if path.exists():
            raise FileExistsError(f"{path} exists; save writes a new run folder")
        shutil.copytree(self.run_, path)
        return path


class LabelledEstimator(Estimator):
    """An estimator of labels (classifiers): ``classes_`` in the caller's own label values,
    in the order of ``predict_proba``'s columns."""

    def _remember_labels(self, labels) -> None:
        out: dict[str, object] = {}  # as the run folder stores them (strings) -> the caller's
        for v in labels:
            out.setdefault(str(v), v.item() if hasattr(v, "item") else v)
        self._labels = out

    @property
    def classes_(self):
        import numpy as np

        m = self._check_fitted()
        return np.array([getattr(self, "_labels", {}).get(s, s) for s in m.labels.itos])
