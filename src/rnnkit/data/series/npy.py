"""NumPy files: ``.npy`` arrays and ``.npz`` archives of ``X``, ``y`` and ``lengths``."""

from __future__ import annotations

import os

import numpy as np

from ..errors import DataError
from .base import SeriesData, impute


def read_numpy(path: str | os.PathLike[str], missing: str = "error") -> SeriesData:
    """``.npy`` (N, T[, F]) or ``.npz`` with ``X``, optional ``y`` and ``lengths``.

    >>> import tempfile
    >>> X = np.arange(12.0).reshape(2, 3, 2)  # (N, T, F)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     np.savez(f"{folder}/x.npz", X=X, y=np.array([0, 1]), lengths=np.array([3, 2]))
    ...     data = read_numpy(f"{folder}/x.npz")
    >>> [x.shape for x in data.series], data.labels, data.series[1].tolist()
    ([(3, 2), (2, 2)], ['0', '1'], [[6.0, 7.0], [8.0, 9.0]])
    """
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
