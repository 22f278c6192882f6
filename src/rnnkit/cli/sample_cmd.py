"""``rnnkit sample RUN``: generate text from a trained language model (streamed), or from a
conditioned generator (``rnnkit train generate``) given ``--condition``."""

from __future__ import annotations

import sys

LM_LENGTH = 500  # tokens a language model generates when --length is not given


def register(sub) -> None:
    p = sub.add_parser("sample", help="generate from a trained language model or generator")
    p.add_argument("run", metavar="RUN",
                   help="run folder written by `rnnkit train lm` or `rnnkit train generate`")
    p.add_argument("--prime", default="", help="text the language model reads before generating")
    p.add_argument("--length", type=int, default=None,
                   help=f"tokens to generate (language model: {LM_LENGTH}; generator: at most, "
                   "before the end token; default from the training data)")
    p.add_argument("--temperature", type=float, default=0.8, help="softmax temperature (> 0)")
    p.add_argument("--top-k", type=int, default=None, help="sample from the k likeliest tokens")
    p.add_argument("--top-p", type=float, default=None, help="nucleus sampling mass")
    p.add_argument("--greedy", action="store_true", help="always take the likeliest token")
    p.add_argument("--seed", type=int, default=None, help="random seed (reproducible output)")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    g = p.add_argument_group("generator runs (rnnkit train generate)")
    g.add_argument("--condition", action="append", metavar="COND",
                   help="what to generate from (repeatable): a label seen in training (e.g. "
                   "Russian); for digit captioning, digits to compose from held-out images "
                   "(3,1,4) or a held-out test composite (test:17). Default: every label, or "
                   "test composites 0-4")
    g.add_argument("--num", type=int, default=5,
                   help="samples per condition (labels; one when greedy)")
    g.add_argument("--beam", type=int, default=0,
                   help="beam search of this width instead of sampling (0: off); prints the "
                   "--num best")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..tasks.lm import sample_text
    from ..tasks.lm_run import load_lm
    from ..train.run import read_config
    from .main import UserError

    if read_config(args.run).get("task") == "generate":
        from .generate_cmd import run_sample

        return run_sample(args)
    if args.condition or args.beam:
        raise UserError("--condition and --beam are for generator runs (rnnkit train generate)")
    length = LM_LENGTH if args.length is None else args.length
    if length < 1:
        raise UserError(f"--length must be >= 1, got {length}")
    if args.temperature <= 0:
        raise UserError(f"--temperature must be > 0, got {args.temperature}")
    model, vocab, _ = load_lm(args.run, args.checkpoint)
    sys.stdout.write(args.prime)
    sample_text(model, vocab, args.prime, length, temperature=args.temperature,
                top_k=args.top_k, top_p=args.top_p, greedy=args.greedy, seed=args.seed,
                on_text=lambda s: (sys.stdout.write(s), sys.stdout.flush()))
    sys.stdout.write("\n")
    return 0
