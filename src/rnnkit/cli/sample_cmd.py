"""``rnnkit sample RUN``: generate text from a trained language model (streamed), or from a
conditioned generator (``rnnkit train generate``) given ``--condition``. The sampling options
are :class:`~rnnkit.tasks.common.sampling.SampleConfig`'s, as for every generating command."""

from __future__ import annotations

from ..tasks.common.sampling import SampleConfig
from .dispatch import add_device, run_command
from .options import add_options, given


def register(sub) -> None:
    p = sub.add_parser("sample", help="generate from a trained language model or generator")
    p.add_argument("run", metavar="RUN",
                   help="run folder written by `rnnkit train lm` or `rnnkit train generate`")
    p.add_argument("--prime", default="", help="text the language model reads before generating")
    p.add_argument("--length", type=int, default=None,
                   help="tokens to generate (language model: 500; generator: at most, "
                   "before the end token; default from the training data)")
    p.add_argument("--checkpoint", choices=["best", "last"], default="best")
    add_device(p)
    opts = add_options(p, SampleConfig(), titles={"options": "sampling"})
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
    p.set_defaults(func=lambda args: run_command("sample", args, sampling_of(args, opts)))


def sampling_of(args, opts) -> SampleConfig:
    """The sampling options given (over :class:`SampleConfig`'s defaults), checked."""
    from ..config import from_dict

    s = from_dict(SampleConfig, given(args, opts))
    s.validate()
    return s
