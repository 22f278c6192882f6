"""The one exception every rnnkit reader raises for bad input."""

from __future__ import annotations

import os

__all__ = ["DataError"]


class DataError(ValueError):
    """Bad input data, located as precisely as the reader can.

    The message reads ``"{path}:{line}: {problem}"``, leaving out the parts that are ``None``, so
    editors and terminals can jump to the place. ``path``, ``line`` and ``problem`` stay available
    as attributes for callers that want to report differently.

    >>> str(DataError("empty file", path="a.txt", line=3))
    'a.txt:3: empty file'
    >>> str(DataError("no files found", path="corpus/"))
    'corpus/: no files found'
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | os.PathLike[str] | None = None,
        line: int | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else os.fspath(path)
        self.line = line
        parts = [str(p) for p in (self.path, self.line) if p is not None]
        super().__init__(":".join([*parts, f" {problem}" if parts else problem]))

    def __reduce__(self):  # keep pickling (multiprocessing data loaders) working
        return (_rebuild, (self.problem, self.path, self.line))


def _rebuild(problem: str, path: str | None, line: int | None) -> DataError:
    return DataError(problem, path=path, line=line)
