"""``rnnkit viz RUN``: one self-contained HTML page showing inside a language model's hidden
state (text coloured by a unit, unit ranking by text features, top-5 predictions)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("viz", help="HTML page: the text coloured by hidden units of a trained LM")
    p.add_argument("run", metavar="RUN", help="run folder written by `rnnkit train lm`")
    p.add_argument("--text", metavar="FILE",
                   help="text to show (default: the start of the run's validation text)")
    p.add_argument("-o", "--output", default="report.html", help="the HTML file to write")
    p.add_argument("--max-chars", type=int, default=3000, help="characters of text shown")
    p.add_argument("--layer", type=int, default=None, help="recurrent layer (default: last)")
    p.add_argument("--encoding", default="utf-8")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..data import read_text
    from ..diagnostics.viewer import write_viewer
    from .common import UserError

    if args.max_chars < 2:
        raise UserError(f"--max-chars must be >= 2, got {args.max_chars}")
    text = read_text(args.text, args.encoding) if args.text else None
    out = write_viewer(args.run, args.output, text, max_chars=args.max_chars, layer=args.layer,
                       checkpoint=args.checkpoint)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB); open it in a browser")
    return 0
