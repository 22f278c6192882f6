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
"""

from __future__ import annotations

import csv
import io
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import DataError
from .lines import read_text_file

__all__ = ["MISSING", "SERIES_FORMATS", "SeriesData", "impute", "read_csv_long",
           "read_csv_wide", "read_numpy", "read_series", "read_ts", "series_format"]

log = logging.getLogger(__name__)

MISSING = ("error", "ffill", "zero")
SERIES_FORMATS = ("auto", "ts", "npy", "npz", "csv", "parquet", "wide")
PARQUET_SUFFIXES = (".parquet", ".pq")
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


# UCR/UEA .ts ---------------------------------------------------------------------------------

def read_ts(path: str | os.PathLike[str], missing: str = "error") -> SeriesData:
    """Read a UCR/UEA ``.ts`` file (see the module docstring)."""
    path = os.fspath(path)
    header: dict[str, str] = {}
    class_labels: list[str] | None = None
    series, labels, lines = [], [], []
    in_data = False
    dims = None
    text = read_text_file(path)  # undecodable bytes: a DataError naming file and line
    for n, raw in enumerate(text.splitlines(), 1):
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        if not in_data:
            if not s.startswith("@"):
                raise DataError(f"expected an @-header line or @data before the data, "
                                f"found {s[:40]!r}", path=path, line=n)
            key, _, value = s[1:].partition(" ")
            key, value = key.lower(), value.strip()
            if key == "data":
                in_data = True
            elif key == "classlabel":
                parts = value.split()
                if not parts or parts[0].lower() not in ("true", "false"):
                    raise DataError(f"@classLabel must be 'true <labels>' or 'false', "
                                    f"found {value!r}", path=path, line=n)
                class_labels = parts[1:] if parts[0].lower() == "true" else None
            elif key == "timestamps" and value.lower() == "true":
                raise DataError("@timeStamps true is not supported; write plain values",
                                path=path, line=n)
            elif key == "dimensions":
                try:
                    dims = int(value)
                except ValueError:
                    raise DataError(f"@dimensions needs an integer, found {value!r}",
                                    path=path, line=n) from None
            header[key] = value
            continue
        parts = s.split(":")
        if class_labels is not None:
            if len(parts) < 2:
                raise DataError("expected values then ':' and a class label", path=path,
                                line=n)
            label = parts.pop().strip()
            if label not in class_labels:
                raise DataError(f"class label {label!r} not in the @classLabel list "
                                f"{class_labels}", path=path, line=n)
            labels.append(label)
        if dims is None:
            dims = len(parts)
        if len(parts) != dims:
            raise DataError(f"expected {dims} dimensions separated by ':', found "
                            f"{len(parts)}", path=path, line=n)
        chans = [[_float(v, path, n) for v in p.split(",")] if p.strip() else []
                 for p in parts]
        T = len(chans[0])
        if T == 0 or any(len(c) != T for c in chans):
            raise DataError(f"dimensions of one case have different lengths "
                            f"{[len(c) for c in chans]}", path=path, line=n)
        x = np.asarray(chans, dtype=np.float32).T  # (T, F)
        series.append(impute(x, missing, path, n))
        lines.append(n)
    if not in_data:
        raise DataError("no @data line", path=path)
    if not series:
        raise DataError("no cases after @data", path=path)
    log.info("%s: %d series, %d dimensions, lengths %d-%d", path, len(series), dims,
             min(len(x) for x in series), max(len(x) for x in series))
    return SeriesData(series, labels if class_labels is not None else None, None,
                      [f"dim_{k}" for k in range(dims)], [str(i) for i in range(len(series))],
                      lines, path)


# NumPy ---------------------------------------------------------------------------------------

def read_numpy(path: str | os.PathLike[str], missing: str = "error") -> SeriesData:
    """``.npy`` (N, T[, F]) or ``.npz`` with ``X``, optional ``y`` and ``lengths``."""
    path = os.fspath(path)
    try:
        obj = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as e:
        raise DataError(f"not a readable NumPy file: {e}", path=path) from None
    y = lengths = None
    if isinstance(obj, np.lib.npyio.NpzFile):
        if "X" not in obj.files:
            raise DataError(f"an .npz needs an array 'X' (N, T[, F]); found {obj.files}",
                            path=path)
        try:
            X = obj["X"]
            y = obj["y"] if "y" in obj.files else None
            lengths = obj["lengths"] if "lengths" in obj.files else None
        except (ValueError, OSError, EOFError, KeyError) as e:  # a corrupt member
            raise DataError(f"not a readable .npz member: {e}", path=path) from None
    else:
        X = obj
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3 or not np.issubdtype(X.dtype, np.number):
        raise DataError(f"X must be a numeric array (N, T) or (N, T, F); found shape "
                        f"{X.shape}, dtype {X.dtype}", path=path)
    N, T, F = X.shape
    if lengths is None:
        lengths = np.full(N, T)
    if lengths.shape != (N,) or lengths.min() < 1 or lengths.max() > T:
        raise DataError(f"lengths must be (N,) = ({N},) with values in 1..{T}; found shape "
                        f"{lengths.shape}", path=path)
    if y is not None and y.shape not in ((N,), (N, T)):
        raise DataError(f"y must be (N,) = ({N},) class labels or (N, T) = ({N}, {T}) "
                        f"per-step labels, found {y.shape}", path=path)
    series = []
    for i in range(N):
        x = X[i, : int(lengths[i])].astype(np.float32)
        try:
            series.append(impute(x, missing, path, 0))
        except DataError as e:
            raise DataError(f"series {i}: {e.problem}", path=path) from None
    labels = steps = None
    if y is not None and y.ndim == 1:
        labels = [str(v) for v in y.tolist()]
    elif y is not None:
        steps = [[str(v) for v in y[i, : int(lengths[i])].tolist()] for i in range(N)]
    return SeriesData(series, labels, steps, [f"dim_{k}" for k in range(F)],
                      [str(i) for i in range(N)], [0] * N, path)


# CSV and Parquet -----------------------------------------------------------------------------

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
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise DataError("reading Parquet needs the 'pyarrow' package (pip install pyarrow), "
                        "or save the table as CSV", path=path) from None
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
    or Parquet (``parquet``; default: by the suffix)."""
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


def series_format(path: str | os.PathLike[str], fmt: str = "auto") -> str:
    """``fmt``, or with ``auto`` the format the suffix names (``.csv``/``.tsv``/``.txt``:
    CSV long form; ``.parquet``/``.pq``: Parquet long form); "" when the suffix names none."""
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
    ``missing="keep"`` leaves missing values as NaN (the caller imputes)."""
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
