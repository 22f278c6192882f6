"""Optional packages, and the one-line error that names the extra to install.

The core install (``pip install rnnkit``) runs every training, sampling, evaluation and
prediction command. Optional features sit in extras: ``serve`` (the HTTP service), ``export``
(ONNX graphs, checked in onnxruntime), ``series`` (Parquet files), ``bleu`` (sacreBLEU
scores), ``vision`` (the built-in digit-captioning images), ``all``. A missing one is a
:class:`MissingExtra` (an ``ImportError``) that the CLI prints in one line; commands check
what they need before any training starts.

>>> need("json", "serve", "the service").__name__
'json'
>>> need("no_such_module_xyz", "serve", "the service")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
rnnkit.extras.MissingExtra: the service needs the no_such_module_xyz package: pip install ...
"""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRAS = {
    "serve": ("fastapi", "uvicorn"),
    "export": ("onnx", "onnxruntime", "onnxscript"),
    "series": ("pyarrow",),
    "bleu": ("sacrebleu",),
    "vision": ("sklearn",),
}


class MissingExtra(ImportError):
    """An optional package is not installed; the message names the extra that brings it."""


def need(module: str, extra: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingExtra` naming ``pip install 'rnnkit[extra]'``."""
    try:
        return importlib.import_module(module)
    except ImportError:
        package = module.split(".")[0]
        raise MissingExtra(f"{purpose} needs the {package} package: pip install "
                           f"'rnnkit[{extra}]'") from None


def need_extra(extra: str, purpose: str) -> None:
    """Check every package of ``extra`` (e.g. before a command starts)."""
    for module in EXTRAS[extra]:
        need(module, extra, purpose)
