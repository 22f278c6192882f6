"""Readers for real-valued sequences: every series becomes a float32 array (T, F).

* ``.ts``: the UCR/UEA archive format (``@problemName``, ``@dimensions``, ``@equalLength``,
  ``@classLabel true a b c``, ``@data``; one case per line, dimensions separated by ``:``,
  values by ``,``, the class label last). Univariate or multivariate, unequal lengths.
* ``.npy``: an array (N, T) or (N, T, F); ``.npz``: ``X`` (N, T[, F]) and optional ``y`` (N,)
  labels and ``lengths`` (N,) valid steps per series.
* CSV long form: one row per time step: an optional series id column, an optional time
  column, value columns and an optional per-step label column. Rows of one series are
  consecutive or not; each series keeps the file order of its rows.
* CSV wide form: one row per (univariate) series: optional id and label columns, the rest
  are the values in time order (trailing empty cells shorten the series).
* Parquet (``.parquet``/``.pq``, needs the ``pyarrow`` package), long or wide form: read like
  the CSV forms; the ``line`` of an error is the 1-based row number.

In the long form, the value columns default to every column not named as id, time or label
that holds numbers: a column with no number at all (a name, a date) is left out with a
warning; a column with numbers and some text is an error naming the first text cell.

Missing values (``NaN``, ``?`` or an empty cell) are an error naming file and line unless
``missing`` asks for ``ffill`` (the last seen value; leading gaps take the first seen value)
or ``zero``.

One module per format: :mod:`.ts`, :mod:`.npy` and :mod:`.tabular` (CSV and Parquet, long and
wide), over :mod:`.base` (:class:`SeriesData`, cell parsing, :func:`impute`); here
:func:`read_series` picks the reader (:func:`series_format`).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import DataError
from .base import MISSING, SeriesData, impute
from .npy import read_numpy
from .tabular import PARQUET_SUFFIXES, read_csv_long, read_csv_wide  # noqa: F401
from .ts import read_ts

__all__ = ["MISSING", "SERIES_FORMATS", "SeriesData", "impute", "read_csv_long",
           "read_csv_wide", "read_numpy", "read_series", "read_ts", "series_format"]

SERIES_FORMATS = ("auto", "ts", "npy", "npz", "csv", "parquet", "wide")


def series_format(path: str | os.PathLike[str], fmt: str = "auto") -> str:
    """``fmt``, or with ``auto`` the format the suffix names (``.csv``/``.tsv``/``.txt``:
    CSV long form; ``.parquet``/``.pq``: Parquet long form); "" when the suffix names none.

    >>> series_format("a.tsv"), series_format("b.pq"), series_format("c.xlsx")
    ('csv', 'parquet', '')
    >>> series_format("c.csv", "wide")
    'wide'
    """
    if fmt not in SERIES_FORMATS:
        raise ValueError(f"format must be one of {SERIES_FORMATS}, got {fmt!r}")
    if fmt != "auto":
        return fmt
    return {"ts": "ts", "npy": "npy", "npz": "npz", "csv": "csv", "tsv": "csv", "txt": "csv",
            "parquet": "parquet", "pq": "parquet"}.get(
        Path(path).suffix.lower().lstrip("."), "")


def read_series(path: str | os.PathLike[str], fmt: str = "auto", *,
                value_cols: list[str] | None = None, id_col: str | None = None,
                time_col: str | None = None, label_col: str | None = None,
                step_label_col: str | None = None, missing: str = "error",
                labels_optional: bool = False) -> SeriesData:
    """Read any supported file; ``fmt`` ``auto`` goes by the suffix (see :func:`series_format`;
    ``wide`` reads Parquet when the suffix is ``.parquet``/``.pq``, else CSV).
    ``labels_optional``: a named label column that a CSV/Parquet table lacks is ignored.
    ``missing="keep"`` leaves missing values as NaN (the caller imputes).

    A CSV in long form, two series (ids ``a``, ``b``) with one missing value (``?``):

    >>> import tempfile
    >>> table = "id,t,x,y,label\\na,1,0.5,1,up\\na,2,1.5,2,up\\nb,1,2,?,down\\n"
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with open(f"{folder}/walk.csv", "w") as f:
    ...         _ = f.write(table)
    ...     data = read_series(f"{folder}/walk.csv", id_col="id", time_col="t",
    ...                        label_col="label", missing="zero")
    >>> data.ids, data.labels, data.features, len(data), data.num_features
    (['a', 'b'], ['up', 'down'], ['x', 'y'], 2, 2)
    >>> [x.tolist() for x in data.series], data.lines, data.times
    ([[[0.5, 1.0], [1.5, 2.0]], [[2.0, 0.0]]], [2, 4], [['1', '2'], ['1']])
    """
    if missing not in (*MISSING, "keep"):
        raise ValueError(f"missing must be one of {MISSING}, got {missing!r}")
    p = Path(path)
    fmt = series_format(p, fmt)
    if not p.is_file():
        raise DataError("no such file", path=path)
    if not fmt:
        raise DataError(f"cannot tell the format from the suffix {p.suffix!r}; give one "
                        f"of {SERIES_FORMATS[1:]}", path=path)
    if fmt == "ts":
        return read_ts(p, missing)
    if fmt in ("npy", "npz"):
        return read_numpy(p, missing)
    if fmt == "wide":
        return read_csv_wide(p, id_col, label_col, missing, labels_optional)
    return read_csv_long(p, value_cols, id_col, time_col, label_col, step_label_col, missing,
                         labels_optional, parquet=fmt == "parquet")
