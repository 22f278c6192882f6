"""Figures without touching matplotlib's global state.

Every PNG rnnkit writes is drawn on a :class:`matplotlib.figure.Figure` created directly (not
through ``pyplot``), so no backend is selected, no figure is registered with ``pyplot``'s
figure manager and a notebook user's backend and open figures are left alone. matplotlib is
imported only when a figure is drawn.

>>> fig = new_figure((2, 1), "example")
>>> fig is None or type(fig).__name__ == "Figure"
True
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_warned: set[str] = set()


def new_figure(figsize: tuple[float, float], what: str = "plot") -> Any | None:
    """A fresh ``Figure`` of ``figsize`` inches, or None (with one warning per ``what``)
    when matplotlib is not installed."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        if what not in _warned:
            _warned.add(what)
            log.warning("matplotlib is not installed: no %s (pip install matplotlib)", what)
        return None
    return Figure(figsize=figsize)


def save_figure(fig: Any, path: str | Path, dpi: int = 100) -> Path:
    """Lay out ``fig`` and write it as a PNG (Agg canvas, whatever the session's backend)."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    return Path(path)
