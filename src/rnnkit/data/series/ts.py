"""The UCR/UEA ``.ts`` archive format (see :mod:`rnnkit.data.series`).

>>> import tempfile
>>> text = "@problemName toy\\n@classLabel true a b\\n@data\\n1,2,3:a\\n4,5:b\\n"
>>> with tempfile.TemporaryDirectory() as folder:
...     with open(f"{folder}/toy.ts", "w") as f:
...         _ = f.write(text)
...     data = read_ts(f"{folder}/toy.ts")
>>> data.labels, [x[:, 0].tolist() for x in data.series], data.lines, data.features
(['a', 'b'], [[1.0, 2.0, 3.0], [4.0, 5.0]], [4, 5], ['dim_0'])
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..errors import DataError
from ..lines import read_text_file
from .base import SeriesData, _float, impute

log = logging.getLogger(__name__)


def read_ts(path: str | os.PathLike[str], missing: str = "error") -> SeriesData:
    """Read a UCR/UEA ``.ts`` file (see :mod:`rnnkit.data.series`)."""
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
