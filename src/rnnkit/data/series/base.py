"""What every series reader shares: the :class:`SeriesData` they return, the parsing of one
cell (text or a Parquet value) as a number, and the handling of missing values (:func:`impute`).

>>> import numpy as np
>>> x = np.array([[np.nan], [1.0], [np.nan], [3.0]], dtype=np.float32)
>>> impute(x, "ffill", "f.csv", 1)[:, 0].tolist()
[1.0, 1.0, 1.0, 3.0]
>>> impute(x, "zero", "f.csv", 1)[:, 0].tolist()
[0.0, 1.0, 0.0, 3.0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError

MISSING = ("error", "ffill", "zero")
_NA = {"", "?", "nan", "NaN", "NA", "na"}


@dataclass
class SeriesData:
    """Series read from one file; ``series[i]`` is (T_i, F) float32."""

    series: list[np.ndarray]
    labels: list[str] | None = None  # one class label per series
    step_labels: list[list[str]] | None = None  # one label per step (long form, .npz y (N, T))
    features: list[str] = field(default_factory=list)  # names of the F features
    ids: list[str] = field(default_factory=list)  # series ids
    lines: list[int] = field(default_factory=list)  # first line of each series (0: none)
    path: str = ""
    step_lines: list[list[int]] | None = None  # long form: the line of every step
    times: list[list[str]] | None = None  # long form with a time column: its value per step

    @property
    def num_features(self) -> int:
        return self.series[0].shape[1]

    def __len__(self) -> int:
        return len(self.series)


def _number(v) -> float | None:
    """A cell (CSV text, or a Parquet value) as a float: NaN when missing, None when it is
    not a number."""
    if v is None:
        return math.nan
    if isinstance(v, (int, float, np.number)):
        return float(v)
    tok = str(v).strip()
    if tok in _NA:
        return math.nan
    try:
        return float(tok)
    except ValueError:
        return None


def _text(v) -> str:
    """A cell as stripped text ("" when missing)."""
    return "" if v is None else str(v).strip()


def _float(tok, path: str, line: int, column: str | None = None) -> float:
    x = _number(tok)
    if x is None:
        where = f" in column {column!r}" if column is not None else ""
        raise DataError(f"not a number{where}: {_text(tok)[:40]!r}", path=path, line=line)
    return x


def impute(x: np.ndarray, missing: str, path: str, lines: list[int] | int) -> np.ndarray:
    """Fill NaNs of ``x`` (T, F) as ``missing`` says, or raise naming the line of the first
    gap (``lines`` is one line per step, or one line for the whole series). ``keep`` (for
    callers that impute later, e.g. the forecaster's future rows) leaves the NaNs."""
    bad = np.isnan(x)
    if not bad.any() or missing == "keep":
        return x
    if missing == "error":
        t, f = map(int, np.argwhere(bad)[0])
        line = lines[t] if isinstance(lines, list) else lines
        raise DataError(f"missing value at step {t}, feature {f}; pass missing='ffill' or "
                        "'zero' (--missing) to impute", path=path, line=line or None)
    if missing == "zero":
        return np.where(bad, 0.0, x).astype(np.float32)
    if missing != "ffill":
        raise ValueError(f"missing must be one of {MISSING}, got {missing!r}")
    out = x.copy()
    for f in range(out.shape[1]):
        col = out[:, f]
        ok = ~np.isnan(col)
        if not ok.any():
            col[:] = 0.0
            continue
        idx = np.where(ok, np.arange(len(col)), 0)
        np.maximum.accumulate(idx, out=idx)
        first = int(np.argmax(ok))
        col[:] = np.where(np.arange(len(col)) < first, col[first], col[idx])
    return out
