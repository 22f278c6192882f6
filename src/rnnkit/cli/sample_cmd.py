"""``rnnkit sample RUN``: generate text from a trained language model, streamed."""

from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("sample", help="generate text from a trained language model")
    p.add_argument("run", metavar="RUN", help="run folder written by `rnnkit train lm`")
    p.add_argument("--prime", default="", help="text the model reads before generating")
    p.add_argument("--length", type=int, default=500, help="tokens to generate")
    p.add_argument("--temperature", type=float, default=0.8, help="softmax temperature (> 0)")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k likeliest tokens")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass")
    p.add_argument("--greedy", action="store_true", help="always take the likeliest token")
    p.add_argument("--seed", type=int, default=None, help="random seed (reproducible output)")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..tasks.lm import sample_text
    from ..tasks.lm_run import load_lm
    from .main import UserError

    if args.length < 1:
        raise UserError(f"--length must be >= 1, got {args.length}")
    if args.temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    model, vocab, _ = load_lm(args.run, args.checkpoint)
    sys.stdout.write(args.prime)
    sample_text(model, vocab, args.prime, args.length, temperature=args.temperature,
                top_k=args.top_k, top_p=args.top_p, greedy=args.greedy, seed=args.seed,
                on_text=lambda s: (sys.stdout.write(s), sys.stdout.flush()))
    sys.stdout.write("\n")
    return 0
