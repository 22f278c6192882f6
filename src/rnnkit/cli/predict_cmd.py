"""``rnnkit predict RUN [FILE|-]``: label texts, tag sentences, label numeric series or
frames, or forecast, with a trained model; the run's task says how.

``classify`` prints ``label<TAB>probability`` per input line, ``tag`` the tags of each
sentence; the numeric-series runs print CSV (``series-classify``:
``series,label,probability``; ``series-tag``: one row per frame, ``SERIES,TIME,LABEL``;
``forecast``: ``series,step,values``), reading FILE like the training file and normalising it
with the training statistics.
"""

from __future__ import annotations

import sys

from .dispatch import add_device, run_command


def register(sub) -> None:
    p = sub.add_parser(
        "predict", help="label texts (classify runs) or tag sentences (tag runs); label "
        "numeric series or frames, or forecast (series-classify, series-tag, forecast runs)",
        description="Read one text (classify) or one whitespace-tokenised sentence (tag) per "
        "line from FILE or standard input. A classifier also reads CSV/TSV/JSONL files (the "
        "training text column, or --text-col); a tagger also reads CoNLL-U files. A run on "
        "numeric series reads FILE like its training file (a forecaster: by default the "
        "training file itself) and prints CSV: series,label,probability (series-classify); "
        "one row per frame with its predicted label (series-tag); series,step,values "
        "(forecast).")
    p.add_argument("run", metavar="RUN", help="run folder of `rnnkit train ...`")
    p.add_argument("input", metavar="FILE", nargs="?", default="-",
                   help="input file, or - for standard input (default)")
    p.add_argument("--format", default="auto",
                   help="input format: auto | lines | csv | tsv | jsonl (classify) | conllu | "
                   "columns (tag) | ts | npy | npz | csv | parquet | wide (numeric series); "
                   "auto: from the suffix, plain text as lines")
    p.add_argument("--text-col", default=None,
                   help="classify, CSV/TSV/JSONL input: the text column (default: training's)")
    p.add_argument("--words", action="store_true", help="tag: print word/TAG pairs")
    p.add_argument("--encoding", default=None, help="input encoding (default: training's)")
    p.add_argument("--horizon", type=int, default=0,
                   help="forecast: steps to forecast (default: the model's horizon)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    add_device(p)
    p.set_defaults(func=run)


def run(args) -> int:
    def read_input(encoding: str) -> list[str]:
        if args.input == "-":
            return sys.stdin.read().splitlines()
        from ..data.lines import read_lines

        return read_lines(args.input, encoding)

    return run_command("predict", args, read_input)
