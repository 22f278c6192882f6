"""The language model's side of the command line: the sample printed after ``rnnkit train
lm``, ``rnnkit sample RUN`` and ``rnnkit eval RUN --data FILE``."""

from __future__ import annotations

import sys

from ...cli.common import UserError, print_json
from ..common.sampling import SampleConfig

LENGTH = 500  # tokens `rnnkit sample` generates when --length is not given


def add_train_args(p) -> None:
    p.add_argument("--sample-length", type=int, default=300,
                   help="tokens sampled at the end (0: none; default: 300)")


def _stream(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def after_train(args, loaded) -> int:
    if args.sample_length > 0:
        s = SampleConfig(seed=loaded.settings.train.seed)
        print(f"--- sample (temperature {s.temperature:g}) ---", file=sys.stderr)
        loaded.sample("", args.sample_length, s, on_text=_stream)
        print()
    return 0


def sample(args, loaded, sampling: SampleConfig) -> int:
    if args.condition or args.beam:
        raise UserError("--condition and --beam are for generator runs (rnnkit train generate)")
    length = LENGTH if args.length is None else args.length
    if length < 1:
        raise UserError(f"--length must be >= 1, got {length}")
    sys.stdout.write(args.prime)
    loaded.sample(args.prime, length, sampling, on_text=_stream)
    sys.stdout.write("\n")
    return 0


def eval(args, loaded) -> int:  # noqa: A001 - the command's name
    m = loaded.evaluate(args.data, args.encoding or "utf-8", args.batch_size)
    print_json({k: round(v, 5) if isinstance(v, float) else v for k, v in m.items()})
    return 0
