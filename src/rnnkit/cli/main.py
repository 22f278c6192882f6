"""The ``rnnkit`` command.

    rnnkit train lm [--data FILE] [--cell lstm|gru|rnn] [--hidden N] [--layers N] [--minutes M]
    rnnkit sample RUN [--prime TEXT] [--temperature T] [--top-k K] [--top-p P] [--length N]
    rnnkit train classify --data FILE_OR_FOLDER [--text-col C] [--label-col C] [--dev FILE]
    rnnkit train tag --data train.conllu [--dev dev.conllu] [--column upos]
    rnnkit train tag --data frames.csv --series-col id --time-col t --label-col y
    rnnkit predict RUN [FILE|-]
    rnnkit eval RUN --data FILE
    rnnkit hello
    rnnkit bench longlag [--task adding|copy] [--T 50,100,200] [--cells rnn,lstm,gru]
    rnnkit viz RUN [--text FILE] [-o report.html]
    rnnkit diagnose RUN [--text FILE] [-o DIR]
    rnnkit train series-classify --data X_TRAIN.ts [--dev X_TEST.ts]   (or: train classify)
    rnnkit train series-tag --data frames.csv --series-col id --label-col y   (or: train tag)
    rnnkit train forecast --data FILE.csv --time-col Date --target Passengers --horizon 12
    rnnkit forecast RUN [--data FILE] [--horizon N]
    rnnkit train seq2seq --src train.de --tgt train.en [--dev-src val.de --dev-tgt val.en]
    rnnkit translate RUN [FILE|-] [--beam 5] [--n-best N] [--ref FILE]
    rnnkit train generate --data digits | --data NAMES_FOLDER
    rnnkit sample RUN --condition Russian | --condition 3,1,4
    rnnkit export RUN -o DIR [--format onnx|torch]

`train classify` / `train tag` on numeric series run `train series-classify` /
`train series-tag` (see ``rnnkit.tasks.series.routing``). When standard output is a pipe
that closes early (``rnnkit predict RUN FILE | head -1``), the command stops quietly with exit
status 141 (128 + SIGPIPE), like other Unix tools.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from ..data.errors import DataError
from ..extras import MissingExtra
from ..train.checkpoint import CheckpointError
from . import (
    bench_cmd,
    diagnose_cmd,
    eval_cmd,
    export_cmd,
    forecast_cmd,
    hello_cmd,
    predict_cmd,
    sample_cmd,
    serve_cmd,
    train_cmd,
    translate_cmd,
    viz_cmd,
)
from .common import UserError, print_json

__all__ = ["UserError", "build_parser", "main", "print_json"]

COMMANDS = (train_cmd, sample_cmd, predict_cmd, eval_cmd, translate_cmd, forecast_cmd,
            hello_cmd, bench_cmd, viz_cmd, diagnose_cmd, serve_cmd, export_cmd)


class ArgumentParser(argparse.ArgumentParser):
    """Reports a bad command line in one line (no usage dump), as every other user error."""

    def error(self, message):
        raise UserError(f"{self.prog}: {message} (see `{self.prog} --help`)")


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(
        prog="rnnkit", description="Recurrent neural networks: train, sample, evaluate, inspect.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug information")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.register(sub)
    return p


# Exit status when standard output is a pipe closed by its reader (128 + SIGPIPE).
EXIT_BROKEN_PIPE = 141


def main(argv: list[str] | None = None) -> int:
    try:
        try:
            return _main(list(sys.argv[1:] if argv is None else argv))
        finally:
            sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
    except BrokenPipeError:
        # The reader is gone (`| head`): send what is still buffered to /dev/null, so that
        # the flush at interpreter exit does not raise again, and stop quietly.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass  # not a real file (captured output in tests)
        return EXIT_BROKEN_PIPE


def _main(argv: list[str]) -> int:
    routed, to = train_cmd.route(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(routed)
    except UserError as e:
        print(f"rnnkit: error: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if to is not None:
        print(f"rnnkit: numeric series: running `rnnkit train {to}`", file=sys.stderr)
    try:
        return int(args.func(args) or 0)
    except (UserError, DataError, CheckpointError, FileNotFoundError, ValueError,
            MissingExtra) as e:
        if args.verbose:
            raise
        print(f"rnnkit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nrnnkit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
