"""``rnnkit eval RUN --data FILE``: loss, perplexity and bits/char on any text."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a trained model on a file")
    p.add_argument("run", metavar="RUN", help="run folder")
    p.add_argument("--data", required=True, help="text file or folder to evaluate on")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(func=run)


def run(args) -> int:
    from ..tasks.lm_run import eval_lm_file
    from .main import print_json

    m = eval_lm_file(args.run, args.data, args.encoding, args.batch_size)
    print_json({k: round(v, 5) if isinstance(v, float) else v for k, v in m.items()})
    return 0
