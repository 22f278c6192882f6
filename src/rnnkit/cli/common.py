"""What every command and every task's command-line side share: the user-error exception and
report printers. Imports nothing of the commands, so any of them can import it."""

from __future__ import annotations

import json
import sys
from pathlib import Path


class UserError(Exception):
    """Bad input from the user: reported in one line, no traceback, exit code 2."""


def print_json(obj) -> None:
    print(json.dumps(obj, indent=2))


def format_report_text(report: dict) -> str:
    from ..tasks.common.metrics import format_report

    return format_report(report)


def show_report(args, report: dict) -> None:
    """Print an evaluation report (text, or JSON with ``--json``) and save its
    confusion-matrix PNG (``--plot``, default ``RUN/eval-NAME-confusion.png``)."""
    from ..tasks.common.metrics import plot_confusion

    plot = Path(args.plot) if args.plot else (
        Path(args.run) / f"eval-{Path(args.data).name}-confusion.png")
    saved = plot_confusion(report, plot, title=f"{Path(args.data).name}: accuracy "
                           f"{report['accuracy']:.4f}")
    from ..tasks.common.metrics import unseen_line

    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report_text(report))
    line = unseen_line(report)
    if line:
        print(f"{args.data}: {line}", file=sys.stderr)
    if saved is not None:
        print(f"confusion matrix plot: {saved}", file=sys.stderr)


def print_dev_report(run: Path) -> None:
    """The run's validation report (``dev_report.json``), as text."""
    report = json.loads((Path(run) / "dev_report.json").read_text())
    print("validation (best checkpoint):")
    print(format_report_text(report))
    if (Path(run) / "confusion.png").is_file():
        print(f"confusion matrix plot: {Path(run) / 'confusion.png'}", file=sys.stderr)
