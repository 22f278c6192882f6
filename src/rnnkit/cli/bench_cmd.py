"""``rnnkit bench longlag``: the adding / copy problems over cells and lags, with a table of
final test losses and a plot of how the gradient decays with distance. Each (cell, lag) run
is a ``longlag`` task run (``rnnkit train longlag``) under the same settings."""

from __future__ import annotations

import sys

from ..tasks import lifecycle
from ..tasks.common.encoder import CELLS
from ..tasks.longlag import KINDS, TASK
from .common import UserError
from .options import add_options, given
from .train_cmd import TITLES


def register(sub) -> None:
    bench = sub.add_parser("bench", help="benchmarks: long time-lag problems")
    kinds = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    p = kinds.add_parser(
        "longlag", help="adding / copy problem: which cells learn long lags",
        description="Train each cell on each lag with the same budget (per run), print the "
        "final test loss against the memoryless baseline, and plot ||dL/dh_t|| against the "
        "distance from the end, before and after training.")
    p.add_argument("--task", choices=KINDS, default="adding", help="the problem")
    p.add_argument("--T", dest="lags", default="100",
                   help="comma-separated lags (sequence lengths for the adding problem)")
    p.add_argument("--cells", default="rnn,lstm,gru", help=f"comma-separated, from {CELLS}")
    opts = add_options(p, TASK.default_config(),
                       skip=("data.task", "data.T", "data.encoder.cell",
                             "data.encoder.bidirectional", "train.epochs"),
                       titles=TITLES | {"train": "training (per run)"})
    p.add_argument("--out", default="runs/bench-longlag", help="folder for the runs and plot")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.set_defaults(func=run_longlag, options=opts)


def _ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"{what} must be comma-separated integers, got {text!r}") from None
    if not values:
        raise UserError(f"{what} is empty")
    return values


def run_longlag(args) -> int:
    import torch

    from ..tasks.longlag import bench_longlag

    if args.threads:
        torch.set_num_threads(args.threads)
    lags = _ints(args.lags, "--T")
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in CELLS]
    if bad or not cells:
        raise UserError(f"--cells: unknown cell(s) {bad}; choose from {CELLS}")
    s = lifecycle.make_settings(TASK, None, given(args, args.options))
    base, train = s.data, s.train
    base.task, base.T, base.encoder.cell = args.task, lags[0], cells[0]
    budget = f"{train.steps} steps" if train.steps else f"{train.minutes:g} min"
    print(f"{args.task}: cells {cells} x T {lags}, {budget} per run, hidden "
          f"{base.encoder.hidden}, batch {base.batch_size}, lr {train.lr:g}", file=sys.stderr)
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
