"""A training callback that warns when gradient norms explode."""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque

log = logging.getLogger(__name__)


class GradNormWatch:
    """Trainer callback: a logged warning when the gradient norm explodes.

    On every ``log`` row, ``grad_norm`` (the mean pre-clipping global norm since the last row)
    is compared with the median of the last ``window`` rows; above ``factor`` times the median
    the row counts as an explosion (``alerts``). One warning is logged, then further explosions
    within ``window`` rows are only counted (a burst is one event, not one line per row), and
    reported in the next warning or at the end of training.
    """

    def __init__(self, factor: float = 10.0, window: int = 50, min_history: int = 5):
        if factor <= 1:
            raise ValueError(f"factor must be > 1, got {factor}")
        self.factor, self.window, self.min_history = factor, window, min_history
        self.history: deque[float] = deque(maxlen=window)
        self.alerts = 0
        self.warnings = 0
        self._rows = 0
        self._quiet_until = -1
        self._unreported = 0

    def __call__(self, event: str, row: dict) -> None:
        if event == "end" and self._unreported:
            log.warning("%d more logged gradient norms exploded (> %gx the running median) "
                        "after the last warning", self._unreported, self.factor)
            self._unreported = 0
        if event != "log" or "grad_norm" not in row:
            return
        self._rows += 1
        g = float(row["grad_norm"])
        if len(self.history) >= self.min_history and math.isfinite(g):
            med = statistics.median(self.history)
            if med > 0 and g > self.factor * med:
                self.alerts += 1
                if self._rows > self._quiet_until:
                    more = (f"; {self._unreported} more since the last warning"
                            if self._unreported else "")
                    log.warning("step %s: gradient norm %.3g is %.0fx its running median %.3g "
                                "(exploding gradients; clipped in %.0f%% of recent steps%s)",
                                row.get("step"), g, g / med, med, 100 * row.get("clip_frac", 0),
                                more)
                    self.warnings += 1
                    self._unreported = 0
                    self._quiet_until = self._rows + self.window
                else:
                    self._unreported += 1
        if math.isfinite(g):
            self.history.append(g)
