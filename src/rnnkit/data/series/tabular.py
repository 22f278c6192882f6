"""Tables of series, CSV/TSV or Parquet: the long form (one row per time step) and the wide
form (one row per univariate series). See :mod:`rnnkit.data.series`.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from pathlib import Path

import numpy as np

from ...extras import need
from ..errors import DataError
from ..lines import read_text_file
from .base import SeriesData, _float, _number, _text, impute

log = logging.getLogger(__name__)

PARQUET_SUFFIXES = (".parquet", ".pq")

Rows = list[tuple[int, list]]  # (line, cells): CSV text cells, or Parquet values


def _read_csv_rows(path: str) -> tuple[list[str], Rows]:
    text = read_text_file(path, allow_empty=True)  # bad bytes: DataError with file and line
    sample = text[:4096]
    delim = "\t" if sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        rows = [(reader.line_num, r) for r in reader if any(c.strip() for c in r)]
    except csv.Error as e:
        raise DataError(f"malformed CSV: {e}", path=path, line=reader.line_num) from None
    if not rows:
        raise DataError("empty file", path=path)
    names = [c.strip() for c in rows[0][1]]
    return names, rows[1:]


def _read_parquet_rows(path: str) -> tuple[list[str], Rows]:
    """The table's column names and rows (Python values; ``line`` is the 1-based row)."""
    pa = need("pyarrow", "series", f"{path}: reading Parquet (or save the table as CSV)")
    pq = need("pyarrow.parquet", "series", f"{path}: reading Parquet")
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowException) as e:
        raise DataError(f"not a readable Parquet file: {e}", path=path) from None
    names = [str(c).strip() for c in table.column_names]
    cols = [table.column(k).to_pylist() for k in range(table.num_columns)]
    return names, [(i, list(r)) for i, r in enumerate(zip(*cols), 1)]


def _read_rows(path: str, parquet: bool = False) -> tuple[list[str], Rows]:
    return _read_parquet_rows(path) if parquet else _read_csv_rows(path)


def _is_parquet(path: str) -> bool:
    return Path(path).suffix.lower() in PARQUET_SUFFIXES


def _col(names: list[str], spec: str, path: str, what: str) -> int:
    if spec in names:
        return names.index(spec)
    raise DataError(f"no {what} column named {spec!r}; the header has {names}", path=path,
                    line=1)


def _numeric_columns(names: list[str], cand: list[int], rows: Rows, path: str) -> list[int]:
    """Of the columns ``cand``, those holding numbers. A column without any number but with
    some text is left out (a warning names it); one with numbers and text is an error naming
    the first text cell."""
    has_num = dict.fromkeys(cand, False)
    first_text: dict[int, tuple[int, object]] = {}
    for n, r in rows:
        for k in cand:
            if k >= len(r):
                continue
            x = _number(r[k])
            if x is None:
                first_text.setdefault(k, (n, r[k]))
            elif not math.isnan(x):
                has_num[k] = True
    keep = []
    for k in cand:
        if k in first_text and has_num[k]:
            n, v = first_text[k]
            raise DataError(f"not a number in column {names[k]!r}: {_text(v)[:40]!r} (the "
                            "column has numbers elsewhere; fix the cell, or leave the column "
                            "out with --value-cols)", path=path, line=n)
        if k in first_text:
            log.warning("%s: column %r holds no numbers: left out of the values", path,
                        names[k])
            continue
        keep.append(k)
    return keep


def read_csv_long(path: str | os.PathLike[str], value_cols: list[str] | None = None,
                  id_col: str | None = None, time_col: str | None = None,
                  label_col: str | None = None, step_label_col: str | None = None,
                  missing: str = "error", labels_optional: bool = False,
                  parquet: bool | None = None) -> SeriesData:
    """A table with a header, one row per time step (see the module docstring): CSV/TSV, or
    Parquet (``parquet``; default: by the suffix). ``value_cols`` defaults to every column
    not named as id, time or label that holds numbers. ``labels_optional``: a label or
    step-label column the table lacks is ignored (reading series to predict)."""
    path = os.fspath(path)
    names, rows = _read_rows(path, _is_parquet(path) if parquet is None else parquet)
    if labels_optional:
        label_col = label_col if label_col in names else None
        step_label_col = step_label_col if step_label_col in names else None
    roles = {"id": id_col, "time": time_col, "label": label_col,
             "per-step label": step_label_col}
    for what, c in roles.items():
        if c:
            _col(names, c, path, what)
    special = {c for c in roles.values() if c}
    if value_cols:
        vidx = [_col(names, c, path, "value") for c in value_cols]
    else:
        vidx = _numeric_columns(names, [k for k, c in enumerate(names)
                                        if c and c not in special], rows, path)
    if not vidx:
        raise DataError("no value columns (no numeric column besides the id, time and label "
                        "columns)", path=path, line=1)
    values = [names[k] for k in vidx]
    iid = names.index(id_col) if id_col else None
    itime = names.index(time_col) if time_col else None
    ilab = names.index(label_col) if label_col else None
    istep = names.index(step_label_col) if step_label_col else None
    groups: dict[str, dict] = {}
    width = max(vidx + [i for i in (iid, itime, ilab, istep) if i is not None]) + 1
    for n, r in rows:
        if len(r) < width:
            raise DataError(f"expected at least {width} columns, found {len(r)}", path=path,
                            line=n)
        key = _text(r[iid]) if iid is not None else ""
        g = groups.setdefault(key, {"x": [], "lines": [], "steps": [], "times": [],
                                    "label": None})
        g["x"].append([_float(r[k], path, n, names[k]) for k in vidx])
        g["lines"].append(n)
        if itime is not None:
            g["times"].append(_text(r[itime]))
        if istep is not None:
            tag = _text(r[istep])
            if not tag:
                raise DataError(f"empty label in column {step_label_col!r}", path=path, line=n)
            g["steps"].append(tag)
        if ilab is not None:
            lab = _text(r[ilab])
            if g["label"] is not None and lab != g["label"]:
                raise DataError(f"series {key!r} has label {g['label']!r} earlier and {lab!r} "
                                "here; a series label must not change", path=path, line=n)
            g["label"] = lab
    if not groups:
        raise DataError("no data rows (only a header)", path=path)
    gs = list(groups.values())
    series = [impute(np.asarray(g["x"], dtype=np.float32), missing, path, g["lines"])
              for g in gs]
    return SeriesData(series,
                      [g["label"] for g in gs] if ilab is not None else None,
                      [g["steps"] for g in gs] if istep is not None else None,
                      values, [k or "0" for k in groups], [g["lines"][0] for g in gs],
                      path, [g["lines"] for g in gs],
                      [g["times"] for g in gs] if itime is not None else None)


def read_csv_wide(path: str | os.PathLike[str], id_col: str | None = None,
                  label_col: str | None = None, missing: str = "error",
                  labels_optional: bool = False, parquet: bool | None = None) -> SeriesData:
    """A table with a header, one univariate series per row (see the module docstring): CSV,
    or Parquet (``parquet``; default: by the suffix). Trailing empty cells shorten a series:

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     with open(f"{folder}/wide.csv", "w") as f:
    ...         _ = f.write("id,label,v1,v2,v3\\nx,a,1,2,3\\ny,b,4,5,\\n")
    ...     data = read_csv_wide(f"{folder}/wide.csv", id_col="id", label_col="label")
    >>> data.ids, data.labels, [x[:, 0].tolist() for x in data.series]
    (['x', 'y'], ['a', 'b'], [[1.0, 2.0, 3.0], [4.0, 5.0]])
    """
    path = os.fspath(path)
    names, rows = _read_rows(path, _is_parquet(path) if parquet is None else parquet)
    if labels_optional and label_col not in names:
        label_col = None
    iid = _col(names, id_col, path, "id") if id_col else None
    ilab = _col(names, label_col, path, "label") if label_col else None
    keep = [k for k in range(len(names)) if k not in (iid, ilab)]
    series, labels, ids, lines = [], [], [], []
    for n, r in rows:
        vals = [r[k] if k < len(r) else None for k in keep]
        while vals and _text(vals[-1]) == "":
            vals.pop()
        if not vals:
            raise DataError("a row without values", path=path, line=n)
        x = np.asarray([[_float(v, path, n)] for v in vals], dtype=np.float32)
        series.append(impute(x, missing, path, n))
        labels.append(_text(r[ilab]) if ilab is not None and ilab < len(r) else "")
        ids.append(_text(r[iid]) if iid is not None else str(len(ids)))
        lines.append(n)
    if not series:
        raise DataError("no data rows (only a header)", path=path)
    return SeriesData(series, labels if ilab is not None else None, None, ["value"], ids,
                      lines, path)
