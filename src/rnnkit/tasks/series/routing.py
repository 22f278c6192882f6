"""When ``rnnkit train classify`` / ``train tag`` is given numeric series, the series task
takes over (every option and default of the numeric command then applies):

* ``train classify``: ``--data`` ending in ``.ts``, ``.npy``, ``.npz``, ``.parquet`` or
  ``.pq``; ``--format ts|npy|npz|parquet|wide``; or ``--id-col``, ``--time-col`` or
  ``--value-cols`` given (a long-form CSV of series);
* ``train tag``: ``--data`` ending in ``.csv``, ``.npz``, ``.parquet`` or ``.pq``;
  ``--format csv|parquet|npz``; or ``--series-col``, ``--time-col``, ``--label-col`` or
  ``--value-cols`` given;
* either: ``--resume RUN`` of a ``series-classify`` / ``series-tag`` run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ...train.checkpoint import CheckpointError
from ...train.run import read_config

RULES = {  # task taken over: (suffixes, formats, options that mean series)
    "classify": ((".ts", ".npy", ".npz", ".parquet", ".pq"),
                 ("ts", "npy", "npz", "parquet", "wide"), ("id_col", "time_col", "value_cols")),
    "tag": ((".csv", ".npz", ".parquet", ".pq"), ("csv", "parquet", "npz"),
            ("series_col", "time_col", "label_col", "value_cols")),
}


class _PreParser(argparse.ArgumentParser):
    def error(self, message):  # never exit: the real parser reports bad options
        raise ValueError(message)


def is_series(task: str, args: list[str]) -> bool:
    """Whether ``rnnkit train TASK ARGS`` (TASK classify or tag) is given numeric series."""
    pre = _PreParser(add_help=False, allow_abbrev=False)
    for opt in ("--data", "--format", "--resume", "--id-col", "--series-col", "--time-col",
                "--label-col", "--value-cols"):
        pre.add_argument(opt)
    try:
        ns, _ = pre.parse_known_args(args)
    except ValueError:
        return False
    if ns.resume:
        try:
            return read_config(ns.resume).get("task") == f"series-{task}"
        except CheckpointError:
            return False  # the real command reports it
    suffixes, formats, given = RULES[task]
    fmt = (ns.format or "auto").lower()
    if fmt in formats:
        return True
    if fmt == "auto" and ns.data and Path(ns.data).suffix.lower() in suffixes:
        return True
    return any(getattr(ns, k) is not None for k in given)
