"""The series classifier's side of the command line."""

from __future__ import annotations

import csv
import sys
from dataclasses import replace

from ...cli.common import UserError, format_report_text, print_dev_report, show_report
from ...train.run import write_json
from .routing import is_series

CLAIMS = {"classify": lambda args: is_series("classify", args)}


def add_train_args(p) -> None:
    p.add_argument("--test", metavar="FILE",
                   help="after training, score the best checkpoint once on these labelled "
                   "series (written to RUN/test_report.json)")


def after_train(args, loaded) -> int:
    print_dev_report(loaded.run)
    if args.test:
        report = loaded.evaluate(args.test)
        write_json(loaded.run / "test_report.json", report)
        print(f"test {args.test} (best checkpoint):")
        print(format_report_text(report))
    return 0


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    show_report(args, loaded.evaluate(args.data, batch_size=args.batch_size))
    return 0


def with_format(data, fmt: str):
    """The training data settings, read as ``fmt`` when one is given."""
    from ...data.series import SERIES_FORMATS

    if fmt == "auto":
        return data
    if fmt not in SERIES_FORMATS:
        raise ValueError(f"--format for a numeric-series run must be one of "
                         f"{SERIES_FORMATS}, got {fmt!r}")
    return replace(data, format=fmt)


def input_path(args, task: str) -> str:
    if args.input == "-":
        raise UserError(f"a {task} run reads its series from a file: rnnkit predict RUN FILE")
    return args.input


def predict(args, loaded, read_input) -> int:
    """CSV: ``series,label,probability`` per series, read like the training file."""
    d = loaded.read(input_path(args, "series-classify"), labels=False,
                    data=with_format(loaded.data, args.format))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["series", "label", "probability"])
    for sid, (label, p) in zip(d.ids, loaded.predict(d, args.batch_size)):
        out.writerow([sid, label, f"{p:.4f}"])
    return 0
