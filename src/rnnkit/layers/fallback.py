"""Why a layer of built-in cells runs on the reference loop: said once, in one log line.

A cell that has no hand-written kernel for a reason worth telling (a built-in cell's variant
whose kernel is not written yet) names it in a ``no_kernel_reason`` attribute; ``"auto"`` then
picks the reference path and logs that reason once per cell class, and an explicit
``backend="kernel"`` raises with it. Cells users write say nothing and run on the reference path.
"""

from __future__ import annotations

import logging

log = logging.getLogger("rnnkit.layers.recurrent")
_NOTED: set = set()  # cell classes (and reasons) whose fallback was logged, once per process


def no_kernel_reason(cell) -> str:
    """The cell's reason for having no kernel, or "" (cells users write: no note)."""
    return getattr(cell, "no_kernel_reason", "") or ""


def reference_fallback(cell) -> str:
    """``"reference"``, logging the cell's reason for it the first time."""
    why = no_kernel_reason(cell)
    if why and type(cell) not in _NOTED:
        _NOTED.add(type(cell))
        log.info("backend 'auto' runs %s on the reference path (autograd over step): %s",
                 type(cell).__name__, why)
    return "reference"


def kernel_error(cell) -> ValueError:
    """The error of an explicit ``backend="kernel"`` on a cell without a kernel."""
    why = no_kernel_reason(cell)
    return ValueError(
        f"backend='kernel' needs cells with a kernel; {type(cell).__name__} has none"
        + (f" ({why})" if why else "") + "; use backend='auto', 'reference' or 'torch'"
        + ("" if why else " (for built-in cells only)")
    )


def traced_fallback(cell, reason: str) -> str:
    """``"reference"`` for a cell whose step the traced fast path cannot compile, logging the
    reason the first time (per cell class and reason)."""
    key = (type(cell), reason)
    if key not in _NOTED:
        _NOTED.add(key)
        log.info("backend 'auto' runs %s on the reference path (autograd over step): its step "
                 "cannot take the traced fast path: %s", type(cell).__name__, reason)
    return "reference"
