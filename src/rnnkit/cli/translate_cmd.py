"""``rnnkit translate RUN [FILE|-]``: translate one sentence per line with a trained seq2seq
model (beam search, greedy, or sampled with the shared sampling options)."""

from __future__ import annotations

from ..tasks.common.sampling import SampleConfig
from .dispatch import add_device, run_command
from .options import add_options
from .sample_cmd import sampling_of


def register(sub) -> None:
    p = sub.add_parser(
        "translate", help="translate text with a trained seq2seq model",
        description="Read one sentence per line from FILE or standard input and print one "
        "translation per line (with --n-best N: 'i ||| translation ||| score' lines). With "
        "--ref, also print BLEU against the reference file to standard error.")
    p.add_argument("run", metavar="RUN", help="run folder of `rnnkit train seq2seq`")
    p.add_argument("input", metavar="FILE", nargs="?", default="-",
                   help="source sentences, one per line, or - for standard input (default)")
    p.add_argument("--beam", type=int, default=5, help="beam size (1: greedy)")
    p.add_argument("--n-best", type=int, default=1, help="print the N best translations")
    p.add_argument("--length-penalty", type=float, default=1.0,
                   help="beam score = log-probability / length ** this (0: none)")
    p.add_argument("--max-len", type=int, default=None,
                   help="at most this many output tokens (default: 2 x source + 10)")
    p.add_argument("--sample", action="store_true",
                   help="sample each output token instead of searching (with --temperature, "
                   "--top-k, --top-p, --seed); ignores --beam")
    p.add_argument("--ref", default=None, help="reference translations: print BLEU")
    p.add_argument("--attention", default=None, metavar="PNG",
                   help="save the attention heatmap of the first sentence here")
    p.add_argument("--encoding", default=None, help="input encoding (default: training's)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    add_device(p)
    opts = add_options(p, SampleConfig(), skip=("greedy",),
                       titles={"options": "sampling (--sample)"})
    p.set_defaults(func=lambda args: run_command("translate", args, sampling_of(args, opts)))
