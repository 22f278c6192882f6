"""``rnnkit diagnose RUN``: gradient decay and gate statistics plots of a trained LM."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("diagnose", help="gradient decay and gate statistics of a trained LM")
    p.add_argument("run", metavar="RUN", help="run folder written by `rnnkit train lm`")
    p.add_argument("--text", metavar="FILE", help="text to measure on (default: validation text)")
    p.add_argument("-o", "--output", metavar="DIR", default=None,
                   help="folder for the plots (default: RUN/diagnostics)")
    p.add_argument("--batch", type=int, default=16, help="windows of text")
    p.add_argument("--steps", type=int, default=200, help="tokens per window")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..data import read_text
    from ..diagnostics.lm_report import diagnose_lm
    from .common import UserError

    if args.batch < 1 or args.steps < 2:
        raise UserError(f"--batch must be >= 1 and --steps >= 2, got {args.batch}, {args.steps}")
    text = read_text(args.text, args.encoding) if args.text else None
    s = diagnose_lm(args.run, text, args.output, batch=args.batch, steps=args.steps,
                    checkpoint=args.checkpoint)
    print(f"{s['cell']}: {s['windows']} windows of {s['steps']} tokens")
    for name, ratios in s["grad_ratio"].items():
        parts = ", ".join(f"{d} steps back {r:.2e}" for d, r in ratios.items())
        print(f"{name}: ||dL/dh_t|| / ||dL/dh_last||: {parts}")
    for label, g in (s["gates"] or {}).items():
        print(f"{label} gate (last layer): mean {g['mean'][-1]:.3f}, "
              f"< 0.1 {g['low'][-1]:.1%}, > 0.9 {g['high'][-1]:.1%}")
    for f in s["files"]:
        print(f"wrote {f}")
    return 0
