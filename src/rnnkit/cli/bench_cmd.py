"""``rnnkit bench longlag``: the adding / copy problems over cells and lags, with a table of
final test losses and a plot of how the gradient decays with distance."""

from __future__ import annotations

import argparse
import sys

from ..tasks.encoder import CELLS, EncoderConfig
from ..tasks.longlag import KINDS, LongLagConfig
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass

# With no budget given, each (cell, lag) run trains this many minutes.
DEFAULT_MINUTES = 1.0
TRAIN_DEFAULTS = {"lr": 3e-3, "weight_decay": 0.0, "log_every": 50}


def register(sub) -> None:
    bench = sub.add_parser("bench", help="benchmarks: long time-lag problems")
    kinds = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    p = kinds.add_parser(
        "longlag", help="adding / copy problem: which cells learn long lags",
        description="Train each cell on each lag with the same budget (per run), print the "
        "final test loss against the memoryless baseline, and plot ||dL/dh_t|| against the "
        "distance from the end, before and after training.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--task", choices=KINDS, default="adding")
    p.add_argument("--T", dest="lags", default="100",
                   help="comma-separated lags (sequence lengths for the adding problem)")
    p.add_argument("--cells", default="rnn,lstm,gru", help=f"comma-separated, from {CELLS}")
    add_dataclass_args(p, LongLagConfig, skip=("task", "T"), group="data")
    add_dataclass_args(p, EncoderConfig, skip=("cell", "bidirectional"), defaults={"hidden": 128},
                       group="encoder")
    add_dataclass_args(p, TrainConfig, skip=("epochs",), defaults=TRAIN_DEFAULTS,
                       group="training (per run)")
    p.add_argument("--out", default="runs/bench-longlag", help="folder for the runs and plot")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.set_defaults(func=run_longlag)


def _ints(text: str, what: str) -> list[int]:
    from .main import UserError

    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise UserError(f"{what} is empty")
    return values


def run_longlag(args) -> int:
    import torch

    from ..tasks.longlag_run import bench_longlag
    from .main import UserError

    if args.threads:
        torch.set_num_threads(args.threads)
    lags = _ints(args.lags, "--T")
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in CELLS]
    if bad or not cells:
        raise UserError(f"--cells: unknown cell(s) {bad}; choose from {CELLS}")
    enc = build_dataclass(EncoderConfig, args, cell=cells[0])
    base = build_dataclass(LongLagConfig, args, task=args.task, T=lags[0], encoder=enc)
    train = build_dataclass(TrainConfig, args)
    if not (train.steps or train.minutes):
        train.minutes = DEFAULT_MINUTES
    budget = f"{train.steps} steps" if train.steps else f"{train.minutes:g} min"
    print(f"{args.task}: cells {cells} x T {lags}, {budget} per run, hidden {enc.hidden}, "
          f"batch {base.batch_size}, lr {train.lr:g}", file=sys.stderr)
    header = f"{'cell':<9}{'T':>6}{'steps':>8}{'train s':>9}{'test loss':>11}{'baseline':>10}"
    header += f"{'acc':>7}{'|g0|/|gT|':>11}"
    lines = []

    def show(row: dict) -> None:
        acc = "" if row["acc"] is None else f"{row['acc']:.3f}"
        line = (f"{row['cell']:<9}{row['T']:>6}{row['steps']:>8}{row['train_s']:>9.1f}"
                f"{row['loss']:>11.4f}{row['baseline']:>10.4f}{acc:>7}{row['grad_ratio']:>11.2e}")
        lines.append(line)
        print(f"done: {line.strip()}", file=sys.stderr)

    _, png = bench_longlag(args.task, lags, cells, base, train, args.out, on_result=show)
    print(header)
    print("\n".join(lines))
    print(f"gradient decay plot: {png}")
    return 0
