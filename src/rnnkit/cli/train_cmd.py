"""``rnnkit train lm``: train a language model and write a run folder."""

from __future__ import annotations

import argparse
import sys

from ..data.text import DEFAULT_CORPUS_DESCRIPTION
from ..tasks.encoder import EncoderConfig
from ..tasks.lm import LMConfig
from ..tasks.lm_run import LMDataConfig, train_lm
from ..train.loop import TrainConfig
from .args import add_dataclass_args, build_dataclass
from .progress import Progress, finished_run

# With no budget given, train for this many minutes (see docs/benchmarks.md).
DEFAULT_MINUTES = 3.0


def register(sub) -> None:
    train = sub.add_parser("train", help="train a model (writes a run folder)")
    kinds = train.add_subparsers(dest="task", required=True, metavar="TASK")
    lm = kinds.add_parser(
        "lm", help="character / word / BPE language model",
        description="Train a language model with truncated BPTT and sample from it. Without "
        "--data it trains on the built-in corpus: " + DEFAULT_CORPUS_DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add_dataclass_args(lm, LMDataConfig, group="data")
    add_dataclass_args(lm, EncoderConfig, skip=("bidirectional",), group="encoder")
    add_dataclass_args(lm, LMConfig, skip=("vocab_size",), group="model")
    add_dataclass_args(lm, TrainConfig, group="training")
    lm.add_argument("--out", default="runs", help="folder for run folders")
    lm.add_argument("--resume", metavar="RUN", help="continue the run in this folder")
    lm.add_argument("--sample-length", type=int, default=300,
                    help="characters sampled at the end (0: none)")
    lm.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    lm.set_defaults(func=run_lm)
    from . import classify_cmd, generate_cmd, series_cmd, tag_cmd

    classify_cmd.register_train(kinds)
    tag_cmd.register_train(kinds)
    series_cmd.register_train(kinds)
    from . import seq2seq_cmd

    seq2seq_cmd.register_train(kinds)
    generate_cmd.register_train(kinds)


def run_lm(args) -> int:
    import torch

    from ..tasks.lm import sample_text
    from ..tasks.lm_run import load_lm

    if args.threads:
        torch.set_num_threads(args.threads)
    data = build_dataclass(LMDataConfig, args)
    enc = build_dataclass(EncoderConfig, args)
    model_cfg = build_dataclass(LMConfig, args, encoder=enc)
    train = build_dataclass(TrainConfig, args)
    if not (train.steps or train.epochs or train.minutes):
        train.minutes = DEFAULT_MINUTES
    progress = Progress(budget_s=train.minutes * 60 if train.minutes else None,
                        steps=train.steps, unit="tok")
    print(f"training a {enc.layers}x{enc.hidden} {enc.cell} language model on "
          f"{args.data or 'the built-in corpus'}", file=sys.stderr)
    run = train_lm(data, model_cfg, train, out=args.out, resume=args.resume,
                   callbacks=[progress])
    if finished_run(run, "lm") is None:
        return 130
    if args.sample_length > 0:
        model, vocab, _ = load_lm(run)
        print("--- sample (temperature 0.8) ---", file=sys.stderr)
        sample_text(model, vocab, "", args.sample_length, temperature=0.8, seed=train.seed,
                    on_text=lambda s: (sys.stdout.write(s), sys.stdout.flush()))
        print()
    return 0
