"""The per-frame tagger's side of the command line."""

from __future__ import annotations

import csv
import sys

from ...cli.common import print_dev_report, show_report
from .classify_cli import input_path, with_format
from .routing import is_series

CLAIMS = {"tag": lambda args: is_series("tag", args)}


def after_train(args, loaded) -> int:
    print_dev_report(loaded.run)
    return 0


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    show_report(args, loaded.evaluate(args.data, batch_size=args.batch_size))
    return 0


def predict(args, loaded, read_input) -> int:
    """CSV: one row per frame, ``SERIES,TIME,LABEL`` (the training's column names;
    ``series``, ``step`` without them)."""
    data = with_format(loaded.data, args.format)
    d = loaded.read(input_path(args, "series-tag"), labels=False, data=data)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow([data.series_col or "series", data.time_col or "step",
                  data.label_col or "label"])
    for i, tags in enumerate(loaded.predict(d, args.batch_size)):
        times = d.times[i] if d.times else range(len(tags))
        for t, tag in zip(times, tags):
            out.writerow([d.ids[i], t, tag])
    return 0
